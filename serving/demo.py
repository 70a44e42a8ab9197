"""The end of `make demo`: start `guidance serve` (with its MCP server), ask it for guidance for
a few advertisers and one sales rep's book, send feedback, send a day's traffic of every live
account (which `guidance monitor drift` then judges), let an agent's MCP client list the tools
and ask for a brief and a slate, and stop it with SIGINT, as an operator would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
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
MCP_READY_TIMEOUT_S = 60


def main() -> None:
    root = Root(default_root())
    online = root.read_table(f"snapshots/{_latest(root)}/online/advertisers").to_pandas()
    live = online[online.live_campaigns > 0].sort_values("advertiser_id")
    accounts = live.advertiser_id.tolist()
    managed = live[live.managed.astype(bool)].advertiser_id.tolist()[:8] or accounts[:8]
    token = auth.create(root, "demo surfaces", accounts[:3])
    rep_token = auth.create(root, "demo sales rep", managed, book="demo-rep")
    port, mcp_port = free_port(), free_port()
    address = f"localhost:{port}"
    print(f"starting guidance serve on port {port} (MCP on {mcp_port}) ...", flush=True)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                             "--mcp-port", str(mcp_port), "--root", root.uri, "--no-watch"],
                            env=os.environ.copy())
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
        agent_exchange(f"http://127.0.0.1:{mcp_port}/mcp", token, accounts[0])
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"service stopped (exit code {proc.returncode})")


def agent_exchange(url: str, token: str, advertiser: int) -> None:
    """What an LLM agent does through the MCP server: list the tools, read the account's brief,
    ask for a slate for the business assistant; prints each answer's text as the agent reads
    it."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def exchange(calls: bool):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                      timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http)) as agent:
                tools = (await agent.list_tools()).tools
                if not calls:
                    return
                print(f"\nagent over MCP ({url}): {len(tools)} tools: "
                      f"{', '.join(t.name for t in tools)}")
                for tool, args in (("account_brief", {"advertiser_id": advertiser,
                                                      "max_words": 150}),
                                   ("recommend", {"advertiser_id": advertiser, "max_items": 3})):
                    r = await agent.call_tool(tool, args)
                    shown = ", ".join(f"{k}={v}" for k, v in args.items())
                    print(f"agent → {tool}({shown}){' ERROR' if r.is_error else ''}:")
                    print(textwrap.indent(r.content[0].text, "  "), flush=True)

    deadline = time.monotonic() + MCP_READY_TIMEOUT_S
    while True:  # the MCP app may come up a moment after the gRPC app
        try:
            asyncio.run(exchange(calls=False))
            break
        except Exception as e:  # noqa: BLE001  (a readiness probe: reported when it times out)
            if time.monotonic() > deadline:
                sys.exit(f"error: the MCP server at {url} did not answer in "
                         f"{MCP_READY_TIMEOUT_S} s: {e!r}")
            time.sleep(1)
    asyncio.run(exchange(calls=True))


def _latest(root: Root) -> str:
    from pipelines.storage.snapshots import latest_version

    return latest_version(root)


if __name__ == "__main__":
    main()
