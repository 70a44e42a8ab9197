"""Every job reads and writes under one root, addressed by URI through pyarrow filesystems, so an
object store (s3://bucket/prefix) can replace the local folder without code changes.

Outputs are published atomically: written under `<root>/_staging/<id>/`, then moved into place
in one rename per top-level output once everything was written.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipelines.errors import StorageError

DEFAULT_ROOT = ".guidance"
ROOT_ENV = "GUIDANCE_ROOT"


def default_root() -> str:
    return os.environ.get(ROOT_ENV, DEFAULT_ROOT)


class Root:
    """A root folder or URI and the filesystem that serves it."""

    def __init__(self, uri: str):
        self.uri = uri
        try:
            if "://" in uri:
                self.fs, self.path = pafs.FileSystem.from_uri(uri)
            else:
                self.fs, self.path = pafs.LocalFileSystem(), os.path.abspath(uri)
        except (pa.ArrowInvalid, OSError, ValueError) as e:
            raise StorageError(f"root {uri!r} cannot be opened: {e}") from None
        self.path = self.path.rstrip("/")

    def join(self, *parts: str) -> str:
        return "/".join([self.path, *parts])

    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self.join(rel)).type != pafs.FileType.NotFound

    def check_writable(self) -> None:
        """Raise StorageError unless a file can be created and removed under the root."""
        probe = self.join(f".write-probe-{uuid.uuid4().hex}")
        try:
            self.fs.create_dir(self.path, recursive=True)
            with self.fs.open_output_stream(probe) as f:
                f.write(b"ok")
            self.fs.delete_file(probe)
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"root {self.uri!r} is not writable: {e}") from None

    def write_parquet(self, table: pa.Table, path: str) -> None:
        """Write one Parquet file at an absolute path of this filesystem."""
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        pq.write_table(table, path, filesystem=self.fs, compression="zstd")

    def read_table(self, rel: str) -> pa.Table:
        """Read a dataset folder (all its part files) under the root."""
        if not self.exists(rel):
            raise StorageError(f"{self.join(rel)} does not exist under root {self.uri!r}")
        return pq.read_table(self.join(rel), filesystem=self.fs)

    @contextlib.contextmanager
    def staging(self, name: str) -> Iterator[str]:
        """A fresh folder to write into; removed if the block fails."""
        path = self.join("_staging", f"{name}-{uuid.uuid4().hex[:12]}")
        self.fs.create_dir(path, recursive=True)
        try:
            yield path
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.delete_dir(path)
            raise

    def publish(self, staged: str, outputs: list[str], overwrite: bool) -> None:
        """Move `outputs` (relative folders) from a staging folder into place. Existing outputs
        are moved aside first and deleted once the new ones stand."""
        taken = [o for o in outputs if self.exists(o)]
        if taken and not overwrite:
            raise StorageError(f"{', '.join(self.join(o) for o in taken)} already exist; pass "
                               "--overwrite to replace them")
        trash = self.join("_staging", f"trash-{uuid.uuid4().hex[:12]}")
        self.fs.create_dir(trash, recursive=True)
        for o in taken:
            self.fs.move(self.join(o), f"{trash}/{o.replace('/', '_')}")
        for o in outputs:
            self.fs.create_dir(self.join(o).rsplit("/", 1)[0], recursive=True)
            self.fs.move(f"{staged}/{o}", self.join(o))
        self.fs.delete_dir(trash)
        with contextlib.suppress(OSError):
            self.fs.delete_dir(staged)
