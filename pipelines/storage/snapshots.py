"""Where snapshots live: `<root>/snapshots/<version>/`, and `snapshots/LATEST` naming the newest."""

from __future__ import annotations

from pipelines.errors import NotFoundError, StorageError
from pipelines.storage.root import Root


def latest_version(root: Root) -> str:
    """Name of the newest snapshot (StorageError if there is none)."""
    if not root.exists("snapshots/LATEST"):
        raise StorageError(f"no snapshot under root {root.uri!r}: run `guidance prepare`")
    return root.read_text("snapshots/LATEST").strip()


def snapshot_dir(version: str) -> str:
    """A snapshot's folder, relative to the root."""
    return f"snapshots/{version}"


def snapshot_path(root: Root, version: str, *parts: str) -> str:
    """The absolute path of `parts` inside a published snapshot (NotFoundError when the
    snapshot does not exist, StorageError when it is the remnant of a stopped `prepare`)."""
    if not root.exists(snapshot_dir(version)):
        raise NotFoundError(f"snapshot {version!r} not found under root {root.uri!r}: run "
                            "`guidance prepare`")
    return "/".join([root.require(snapshot_dir(version)), *parts])
