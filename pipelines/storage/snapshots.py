"""Where snapshots live: `<root>/snapshots/<version>/`, and `snapshots/LATEST` naming the newest."""

from __future__ import annotations

from pipelines.errors import StorageError
from pipelines.storage.root import Root


def latest_version(root: Root) -> str:
    """Name of the newest snapshot (StorageError if there is none)."""
    path = root.join("snapshots", "LATEST")
    if not root.exists("snapshots/LATEST"):
        raise StorageError(f"no snapshot under root {root.uri!r}: run `guidance prepare`")
    with root.fs.open_input_stream(path) as f:
        return f.read().decode().strip()
