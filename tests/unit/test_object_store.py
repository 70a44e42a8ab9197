"""Publishing on a real S3-compatible server (moto's, in its own process): an output appears whole
or not at all, also when its publisher is killed midway."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow.fs as pafs
import pytest

from pipelines.errors import StorageError
from pipelines.storage.root import MARKER, Root
from tests.objectstore import s3_server

FILES = 150  # enough that copying them takes far longer than the kill


@pytest.fixture(scope="module")
def s3():
    with s3_server() as server:
        yield server


def _stage(root: Root, out: str, n: int, tag: bytes) -> str:
    with root.staging("t") as staged:
        for i in range(n):
            with root.fs.open_output_stream(f"{staged}/{out}/part-{i:04d}") as f:
                f.write(tag * (i % 7 + 1))
    return staged


def _contents(root: Root, out: str) -> set[bytes]:
    listed = json.loads(root.read_text(f"{out}/{MARKER}"))["files"]
    return {root.read_text(f"{out}/{name}").encode()[:1] for name in listed}


def test_publish_replace_and_pointers_on_s3(s3):
    root = Root(s3.uri(s3.bucket(), "g"))
    assert not root.local
    with pytest.raises(StorageError, match="does not exist"):
        root.require("out")
    root.publish(_stage(root, "out", 30, b"a"), ["out"], overwrite=False)
    root.check_whole("out")
    with pytest.raises(StorageError, match="already exist; pass --overwrite"):
        root.publish(_stage(root, "out", 5, b"b"), ["out"], overwrite=False)
    root.publish(_stage(root, "out", 5, b"b"), ["out"], overwrite=True)
    root.check_whole("out")  # the old version's 25 other files are gone
    assert _contents(root, "out") == {b"b"}
    root.write_atomic("pointers/LATEST", b"v1")
    root.write_atomic("pointers/LATEST", b"v2")
    assert root.read_text("pointers/LATEST") == "v2"


def test_check_whole_finds_a_missing_file(s3):
    root = Root(s3.uri(s3.bucket(), "g"))
    root.publish(_stage(root, "out", 3, b"a"), ["out"], overwrite=False)
    root.fs.delete_file(root.join("out", "part-0001"))
    with pytest.raises(StorageError, match="does not match its marker"):
        root.check_whole("out")


def _is_new(root: Root, rel: str) -> bool:
    try:
        return root.read_text(rel).startswith("n")
    except OSError:  # the old file deleted (or being deleted), the new one not copied yet
        return False


PUBLISHER = textwrap.dedent("""
    import sys
    from pipelines.storage.root import Root
    from tests.unit.test_object_store import _stage
    root = Root(sys.argv[1])
    staged = _stage(root, "out", int(sys.argv[2]), b"n")
    print("staged", flush=True)
    root.publish(staged, ["out"], overwrite=True)
""")


def test_a_publisher_killed_midway_leaves_the_old_version_or_none(s3):
    """An old version stands; a publisher of a new one is killed once it has begun copying the
    new files. Readers then see no version, never a half one; a later publish stands whole."""
    uri = s3.uri(s3.bucket(), "g")
    root = Root(uri)
    root.publish(_stage(root, "out", FILES, b"o"), ["out"], overwrite=False)
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER, uri, str(FILES)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=os.getcwd())
    assert proc.stdout.readline().strip() == "staged"
    deadline = time.monotonic() + 60
    while root.is_published("out"):  # the old marker goes first,
        assert time.monotonic() < deadline and proc.poll() is None, "publish never started"
    while not _is_new(root, "out/part-0000"):  # then the old files, then the new ones come
        assert time.monotonic() < deadline and proc.poll() is None, "copying never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    copied = sum(i.type == pafs.FileType.File for i in root.fs.get_file_info(
        pafs.FileSelector(root.join("out"), recursive=True)))
    assert not root.is_published("out"), "the publisher finished before the kill"
    assert 0 < copied < FILES  # killed midway: half of the new version lies there
    with pytest.raises(StorageError, match="is incomplete: the job publishing it stopped"):
        root.require("out")
    root.publish(_stage(root, "out", FILES // 2, b"n"), ["out"], overwrite=True)
    root.check_whole("out")
    assert _contents(root, "out") == {b"n"}
