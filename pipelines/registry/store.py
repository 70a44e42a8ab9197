"""The model registry, with versions under `<root>/registry/<version>/` and a `current` pointer.

A version is written to staging, its files listed with their sizes and SHA-256 in
`metadata.json`, and moved into place in one rename; `current` is repointed with another. The
loader refuses a version whose files are missing, truncated or altered.
"""

from __future__ import annotations

import hashlib
import json

from pipelines.errors import GuidanceError, NotFoundError
from pipelines.storage.root import Root
from pipelines.storage.version import timestamp_version


class RegistryError(GuidanceError):
    """A registry version is incomplete or corrupt."""


def publish(root: Root, files: dict[str, bytes], metadata: dict,
            version: str | None = None) -> str:
    """Store `files` (name → bytes) and `metadata` as a new version and make it current."""
    version = version or timestamp_version()
    if root.exists(f"registry/{version}"):
        raise RegistryError(f"registry version {version!r} already exists")
    manifest = {"version": version, **metadata,
                "files": {n: {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                          for n, b in files.items()}}
    with root.staging(f"registry-{version}") as staged:
        for name, data in files.items():
            with root.fs.open_output_stream(f"{staged}/{name}") as f:
                f.write(data)
        with root.fs.open_output_stream(f"{staged}/metadata.json") as f:
            f.write(json.dumps(manifest, indent=2).encode())
        root.fs.create_dir(root.join("registry"), recursive=True)
        root.fs.move(staged, root.join("registry", version))
    pointer = root.join("_staging", f"current-{version}")
    with root.fs.open_output_stream(pointer) as f:
        f.write(version.encode())
    root.fs.move(pointer, root.join("registry", "current"))
    return version


def current(root: Root) -> str:
    if not root.exists("registry/current"):
        raise NotFoundError(f"no model under root {root.uri!r}: run `guidance train`")
    with root.fs.open_input_stream(root.join("registry", "current")) as f:
        return f.read().decode().strip()


def load(root: Root, version: str | None = None) -> tuple[dict, dict[str, bytes]]:
    """(metadata, files) of a version (default: current), every file checked against its hash."""
    version = version or current(root)
    meta_path = f"registry/{version}/metadata.json"
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
