"""The end of `make demo`: start `guidance serve`, ask it for guidance for a few advertisers and
one sales rep's book, send feedback, send a day's traffic of every live account (which
`guidance monitor drift` then judges), and stop it with SIGINT, as an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from pipelines.storage.root import Root, default_root
from serving import auth
from serving.client import (
    Client,
    free_port,
    recommend_all,
    render_book,
    render_slate,
    wait_healthy,
)

STARTUP_TIMEOUT_S = 300


def main() -> None:
    root = Root(default_root())
    online = root.read_table(f"snapshots/{_latest(root)}/online/advertisers").to_pandas()
    live = online[online.live_campaigns > 0].sort_values("advertiser_id")
    accounts = live.advertiser_id.tolist()
    managed = live[live.managed.astype(bool)].advertiser_id.tolist()[:8] or accounts[:8]
    token = auth.create(root, "demo surfaces", accounts[:3])
    rep_token = auth.create(root, "demo sales rep", managed, book="demo-rep")
    port = free_port()
    address = f"localhost:{port}"
    print(f"starting guidance serve on port {port} ...", flush=True)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                             "--root", root.uri, "--no-watch"], env=os.environ.copy())
    try:
        try:
            wait_healthy(address, STARTUP_TIMEOUT_S, alive=lambda: proc.poll() is None)
        except (RuntimeError, TimeoutError) as e:
            sys.exit(f"error: guidance serve did not come up: {e} (exit code {proc.poll()})")
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
        # a day's traffic for the drift monitor: every live account opens the Ads Manager
        started = time.monotonic()
        traffic = Client(address, auth.create(root, "demo traffic", accounts))
        served = sum(len(s.items) for s in recommend_all(traffic, accounts, ("ads_manager",)))
        print(f"traffic: {len(accounts):,} Ads Manager requests served {served:,} items in "
              f"{time.monotonic() - started:.0f} s, each logged with what the ranker saw")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"service stopped (exit code {proc.returncode})")


def _latest(root: Root) -> str:
    from pipelines.storage.snapshots import latest_version

    return latest_version(root)


if __name__ == "__main__":
    main()
