"""The model registry: versions under `<root>/registry/<version>/`, and two pointers.

A version is written to staging, its files listed with their sizes and SHA-256 in
`metadata.json`, and moved into place in one rename. Training registers a *candidate*:
`registry/latest` names the newest version registered. `registry/current` names the version the
service serves, and only promotion (promote.py) moves it, after the evaluation's gates. Each
pointer is repointed with a rename. The loader refuses a version whose files are missing,
truncated or altered.
"""

from __future__ import annotations

import hashlib
import json

from pipelines.errors import GuidanceError, NotFoundError
from pipelines.storage.root import Root
from pipelines.storage.version import timestamp_version

CURRENT = "current"  # the promoted version: what the service serves
LATEST = "latest"  # the newest registered version: the candidate to evaluate and promote
POINTERS = (CURRENT, LATEST)


class RegistryError(GuidanceError):
    """A registry version is incomplete or corrupt."""


def publish(root: Root, files: dict[str, bytes], metadata: dict,
            version: str | None = None) -> str:
    """Store `files` (name → bytes) and `metadata` as a new candidate version and make it the
    latest; returns the version. The version served does not change (see promote.py)."""
    version = version or timestamp_version()
    if version in POINTERS or version == "promotions":
        raise RegistryError(f"registry version {version!r} is a reserved name")
    if root.is_published(f"registry/{version}"):
        raise RegistryError(f"registry version {version!r} already exists")
    manifest = {"version": version, **metadata,
                "files": {n: {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                          for n, b in files.items()}}
    dest = f"registry/{version}"
    with root.staging(f"registry-{version}") as staged:
        root.fs.create_dir(f"{staged}/{dest}", recursive=True)
        for name, data in {**files, "metadata.json": json.dumps(manifest, indent=2).encode()
                           }.items():
            with root.fs.open_output_stream(f"{staged}/{dest}/{name}") as f:
                f.write(data)
        root.publish(staged, [dest], overwrite=False)
    _point(root, LATEST, version)
    return version


def _point(root: Root, pointer: str, version: str) -> None:
    root.write_atomic(f"registry/{pointer}", version.encode())


def _read_pointer(root: Root, pointer: str) -> str | None:
    if not root.exists(f"registry/{pointer}"):
        return None
    with root.fs.open_input_stream(root.join("registry", pointer)) as f:
        return f.read().decode().strip()


def set_current(root: Root, version: str) -> None:
    """Make `version` the one served. Only promotion calls this, after its checks."""
    if not root.is_published(f"registry/{version}"):
        raise NotFoundError(f"no registry version {version!r} under root {root.uri!r}")
    _point(root, CURRENT, version)


def current_or_none(root: Root) -> str | None:
    """The promoted version (what the service serves), or None before any promotion."""
    return _read_pointer(root, CURRENT)


def current(root: Root) -> str:
    """The promoted version: what the service serves."""
    version = current_or_none(root)
    if version is None:
        hint = ("`guidance evaluate`, then `guidance promote`" if latest_or_none(root)
                else "`guidance train`, `guidance evaluate`, then `guidance promote`")
        raise NotFoundError(f"no model under root {root.uri!r} has been promoted: run {hint}")
    return version


def latest_or_none(root: Root) -> str | None:
    """The newest registered version, or None when nothing is registered."""
    return _read_pointer(root, LATEST)


def latest(root: Root) -> str:
    """The newest registered version, promoted or not."""
    version = latest_or_none(root)
    if version is None:
        raise NotFoundError(f"no model registered under root {root.uri!r}: run `guidance train`")
    return version


def load(root: Root, version: str | None = None) -> tuple[dict, dict[str, bytes]]:
    """(metadata, files) of a version (default: current), every file checked against its hash."""
    version = version or current(root)
    meta_path = f"registry/{version}/metadata.json"
    if not root.exists(f"registry/{version}"):
        raise NotFoundError(f"no registry version {version!r} under root {root.uri!r}")
    if not root.exists(meta_path):
        raise RegistryError(f"registry version {version!r} is incomplete: metadata.json missing")
    with root.fs.open_input_stream(root.join(meta_path)) as f:
        try:
            meta = json.loads(f.read())
        except json.JSONDecodeError as e:
            raise RegistryError(f"registry version {version!r}: metadata.json is corrupt ({e})") \
                from None
    files = {}
    for name, want in meta["files"].items():
        path = f"registry/{version}/{name}"
        if not root.exists(path):
            raise RegistryError(f"registry version {version!r} is incomplete: {name} missing")
        with root.fs.open_input_stream(root.join(path)) as f:
            data = f.read()
        if len(data) != want["bytes"] or hashlib.sha256(data).hexdigest() != want["sha256"]:
            raise RegistryError(f"registry version {version!r} is corrupt: {name} has "
                                f"{len(data)} bytes, expected {want['bytes']} with its checksum")
        files[name] = data
    return meta, files
