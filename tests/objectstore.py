"""A real S3-compatible server for tests: moto's server, in its own process on a free port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from serving.client import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to reach the server with plain s3:// URIs (as on AWS, plus the
        endpoint of an S3-compatible store)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ALLOW_HTTP": "true"}  # for Delta Lake (delta-rs) over plain http

    def uri(self, bucket: str, prefix: str) -> str:
        """A root URI that carries its endpoint and credentials, for processes without `env`
        (the shared local Ray of the tests started before the server)."""
        host = self.endpoint.removeprefix("http://")
        return (f"s3://{CREDENTIALS['AWS_ACCESS_KEY_ID']}:{CREDENTIALS['AWS_SECRET_ACCESS_KEY']}"
                f"@{bucket}/{prefix}?endpoint_override={host}&scheme=http&region=us-east-1")

    def bucket(self) -> str:
        """A new empty bucket's name."""
        name = f"guidance-{uuid.uuid4().hex[:10]}"
        fs = pafs.S3FileSystem(access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                               secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                               endpoint_override=self.endpoint, region="us-east-1",
                               allow_bucket_creation=True)
        fs.create_dir(name)
        return name


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """Start moto's S3 server; stopped (and its data gone) on exit."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **CREDENTIALS})
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
