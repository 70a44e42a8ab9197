"""Every job reads and writes under one root, addressed by URI through pyarrow filesystems, so an
object store (s3://bucket/prefix, gs://...) can replace the local folder without code changes.

Outputs are published whole or not at all. A job writes under `<root>/_staging/<id>/`; publishing
an output folder then puts it in place with a marker, `<output>/_PUBLISHED.json` (its files and
their sizes), and readers take only an output whose marker stands (`require`). On a local disk
the staged folder, marker included, is renamed into place. Object stores have no rename: there
the old marker is deleted first, the files are copied server-side, and the marker is written
last, so a reader sees the previous whole version, then none, then the new whole version, and a
job killed midway leaves none. One writer per output at a time (jobs name their versions).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipelines.errors import StorageError

DEFAULT_ROOT = ".guidance"
ROOT_ENV = "GUIDANCE_ROOT"
MARKER = "_PUBLISHED.json"  # pyarrow datasets skip names starting with "_"
COPY_THREADS = 16


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
        self.local = isinstance(self.fs, pafs.LocalFileSystem)

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

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Replace one small file (a pointer, a record) so that readers see the old content or
        the new, never a part: a rename on a local disk, a single PUT on an object store."""
        path = self.join(rel)
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        if not self.local:
            with self.fs.open_output_stream(path) as f:
                f.write(data)
            return
        tmp = self.join("_staging", f"{rel.replace('/', '_')}-{uuid.uuid4().hex[:12]}")
        self.fs.create_dir(tmp.rsplit("/", 1)[0], recursive=True)
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        self.fs.move(tmp, path)

    def read_text(self, rel: str) -> str:
        with self.fs.open_input_stream(self.join(rel)) as f:
            return f.read().decode()

    # ------------------------------------------------------------------ publishing

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

    def is_published(self, rel: str) -> bool:
        """Whether output folder `rel` stands whole (its marker was written)."""
        return self.exists(f"{rel}/{MARKER}")

    def require(self, rel: str, missing: str | None = None) -> str:
        """The absolute path of output folder `rel` if it stands whole; otherwise StorageError
        with `missing` (or a generic line) when it does not exist and another when it is a
        remnant of a job that stopped while publishing it."""
        if self.is_published(rel):
            return self.join(rel)
        if self.exists(rel):
            raise StorageError(f"{self.join(rel)} is incomplete: the job publishing it stopped "
                               "before the end, is publishing it now, or wrote it before "
                               f"outputs carried {MARKER}; run that job again")
        raise StorageError(missing or f"{self.join(rel)} does not exist under root {self.uri!r}")

    def publish(self, staged: str, outputs: list[str], overwrite: bool) -> None:
        """Put `outputs` (folders relative to the staging folder and to the root) in place, each
        with its marker. Existing outputs are replaced only with `overwrite`."""
        taken = [o for o in outputs if self.is_published(o)]
        if taken and not overwrite:
            raise StorageError(f"{', '.join(self.join(o) for o in taken)} already exist; pass "
                               "--overwrite to replace them")
        files = {o: self._files(f"{staged}/{o}") for o in outputs}
        if self.local:
            self._rename_into_place(staged, outputs, files)
        else:
            self._copy_into_place(staged, outputs, files)
        with contextlib.suppress(OSError):
            self.fs.delete_dir(staged)

    def _files(self, folder: str) -> dict[str, int]:
        """Every file under `folder` but the marker: its path relative to `folder`, its size."""
        return {i.path[len(folder) + 1:]: i.size
                for i in self.fs.get_file_info(pafs.FileSelector(folder, recursive=True))
                if i.type == pafs.FileType.File and i.base_name != MARKER}

    def _write_marker(self, folder: str, files: dict[str, int]) -> None:
        # no time stamp: the same output gives the same bytes (the world job's promise)
        with self.fs.open_output_stream(f"{folder}/{MARKER}") as f:
            f.write(json.dumps({"files": files}, indent=1, sort_keys=True).encode())

    def _rename_into_place(self, staged: str, outputs: list[str], files: dict) -> None:
        """One rename per output; an existing one is moved aside first and deleted after."""
        for o in outputs:
            self._write_marker(f"{staged}/{o}", files[o])
        trash = self.join("_staging", f"trash-{uuid.uuid4().hex[:12]}")
        self.fs.create_dir(trash, recursive=True)
        for o in outputs:
            if self.exists(o):
                self.fs.move(self.join(o), f"{trash}/{o.replace('/', '_')}")
        for o in outputs:
            self.fs.create_dir(self.join(o).rsplit("/", 1)[0], recursive=True)
            self.fs.move(f"{staged}/{o}", self.join(o))
        self.fs.delete_dir(trash)

    def _copy_into_place(self, staged: str, outputs: list[str], files: dict) -> None:
        """Markers deleted first, then the old files; new files copied (server-side, in
        parallel); markers written last."""
        for o in outputs:
            with contextlib.suppress(FileNotFoundError):
                self.fs.delete_file(self.join(o, MARKER))
        for o in outputs:
            if self.exists(o):
                self.fs.delete_dir(self.join(o))
        copies = [(f"{staged}/{o}/{name}", self.join(o, name)) for o in outputs for name in files[o]]
        with ThreadPoolExecutor(COPY_THREADS) as pool:
            list(pool.map(lambda c: self.fs.copy_file(*c), copies))
        for o in outputs:
            self._write_marker(self.join(o), files[o])

    def check_whole(self, rel: str) -> None:
        """StorageError unless output `rel` is published and holds exactly the files its marker
        lists, at their sizes (what tests call; readers check only the marker)."""
        self.require(rel)
        listed = json.loads(self.read_text(f"{rel}/{MARKER}"))["files"]
        found = self._files(self.join(rel))
        if found != listed:
            odd = sorted(set(found.items()) ^ set(listed.items()))[:3]
            raise StorageError(f"{self.join(rel)} does not match its marker: {odd}")

    def train_storage(self, rel: str) -> dict:
        """Ray Train's RunConfig arguments for a run folder under the root: a path on a local
        disk, a path and this filesystem elsewhere."""
        if self.local:
            return {"storage_path": self.join(rel)}
        return {"storage_path": self.join(rel), "storage_filesystem": self.fs}
