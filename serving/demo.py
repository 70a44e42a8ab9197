"""The end of `make demo`: start `guidance serve`, ask it for guidance for a few advertisers and
one sales rep's book, send feedback, and stop it with SIGINT, as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pipelines.storage.root import Root, default_root
from serving import auth
from serving.client import Client, render_book, render_slate

STARTUP_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(address: str, proc: subprocess.Popen) -> None:
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(address))
    deadline = time.time() + STARTUP_TIMEOUT_S
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"error: guidance serve exited with code {proc.returncode}")
        try:
            if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == \
                    health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        time.sleep(1)
    sys.exit(f"error: the service was not healthy after {STARTUP_TIMEOUT_S} s")


def main() -> None:
    root = Root(default_root())
    online = root.read_table(f"snapshots/{_latest(root)}/online/advertisers").to_pandas()
    live = online[online.live_campaigns > 0].sort_values("advertiser_id")
    accounts = live.advertiser_id.tolist()
    managed = live[live.managed.astype(bool)].advertiser_id.tolist()[:8] or accounts[:8]
    token = auth.create(root, "demo surfaces", accounts[:3])
    rep_token = auth.create(root, "demo sales rep", managed, book="demo-rep")
    port = _free_port()
    address = f"localhost:{port}"
    print(f"starting guidance serve on port {port} ...", flush=True)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                             "--root", root.uri, "--no-watch"], env=os.environ.copy())
    try:
        _wait_healthy(address, proc)
        client = Client(address, token)
        first = None
        for advertiser, surface in zip(accounts[:3], ("ads_manager", "business_assistant",
                                                      "notification")):
            slate = client.recommend(advertiser, surface)
            print(render_slate(slate), "\n", flush=True)
            first = first or (slate.items[0] if slate.items else None)
        print(render_book(Client(address, rep_token).book(items_per_account=2)), "\n")
        if first is not None:
            event = uuid.uuid4().hex
            done = client.feedback(event, first.recommendation_id, "applied")
            again = client.feedback(event, first.recommendation_id, "applied")
            print(f"feedback: {first.title!r} applied (logged: {not done.duplicate}; the "
                  f"retry was recognised as a duplicate: {again.duplicate})")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"service stopped (exit code {proc.returncode})")


def _latest(root: Root) -> str:
    from pipelines.labels.prepare import latest_version

    return latest_version(root)


if __name__ == "__main__":
    main()
