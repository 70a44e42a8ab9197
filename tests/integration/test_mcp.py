"""The MCP server as a Ray Serve app beside the gRPC app, through the protocol: an MCP client
over streamable HTTP on Serve's HTTP proxy, with the real gRPC service behind it."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from ray import serve

from pipelines.storage.root import Root
from serving import auth
from serving.app import deploy
from serving.client import free_port
from serving.config import ServeConfig
from serving.mcp import serve_app
from serving.mcp.config import McpConfig

TOOLS = {"account_brief", "recommend", "explain_recommendation", "sales_book", "feedback"}


@pytest.fixture(scope="module")
def mcp(served_root):
    root = Root(served_root)
    adv = root.read_table("snapshots/s1/online/advertisers").to_pandas()
    ids = adv[(adv.live_campaigns > 0) & adv.notifications_opt_in.astype(bool)
              ].advertiser_id.sort_values().tolist()
    cfg = ServeConfig(root=served_root, grpc_port=free_port(), ranker="local")
    mcp_cfg = McpConfig(address=f"localhost:{cfg.grpc_port}", timeout_s=10, port=free_port(),
                        cpus=0.1)
    deploy(cfg, mcp=mcp_cfg)
    # the same server whose gRPC service is down: nothing listens at its address
    down = McpConfig(address=f"localhost:{free_port()}", timeout_s=5, cpus=0)
    serve.run(serve_app.build(down), name="mcp-down", route_prefix="/mcp-down")
    tokens = {"one": auth.create(root, "one account", [ids[0]]),
              "book": auth.create(root, "rep", ids[:6], book="rep-1"),
              "all": auth.create(root, "agent tests", [], all_advertisers=True)}
    yield {"url": mcp_cfg.url(), "down": f"http://127.0.0.1:{mcp_cfg.port}/mcp-down",
           "ids": ids, "tokens": tokens}
    serve.shutdown()


def _session(url: str, token: str | None, fn, mode: str = "auto"):
    """fn(client) in one MCP session over streamable HTTP, sending `token` as a bearer token."""
    async def go():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode,
                              read_timeout_seconds=30) as client:
                return await fn(client)

    return asyncio.run(go())


def _call(mcp, tool: str, args: dict, token: str = "all", url: str | None = None):
    return _session(url or mcp["url"], mcp["tokens"][token],
                    lambda c: c.call_tool(tool, args))


def _text(result) -> str:
    return result.content[0].text


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28, and the handshake era
def test_the_tool_list(mcp, mode):
    tools = _session(mcp["url"], mcp["tokens"]["one"], lambda c: c.list_tools(), mode).tools
    assert {t.name for t in tools} == TOOLS


def test_account_brief_and_its_scope(mcp):
    a, b = mcp["ids"][0], mcp["ids"][1]
    r = _call(mcp, "account_brief", {"advertiser_id": a, "max_words": 120}, "one")
    assert not r.is_error, _text(r)
    brief = r.structured_content
    assert int(brief["advertiser_id"]) == a and brief["items"] and brief["words"] <= 120
    assert _text(r) == brief["text"] and brief["items"][0]["line"] in _text(r)
    # a token for A asking for B's brief: the gRPC service refuses, the tool says so in a line
    denied = _call(mcp, "account_brief", {"advertiser_id": b}, "one")
    assert denied.is_error
    assert _text(denied) == f"not allowed: token 'one account' may not read advertiser {b}"


def _a_slate(mcp):
    """A non-empty business assistant slate over MCP, and the empty ones met on the way."""
    empty = []
    for adv in mcp["ids"][1:12]:
        r = _call(mcp, "recommend", {"advertiser_id": adv, "max_items": 3})
        assert not r.is_error, _text(r)
        if r.structured_content.get("items"):
            return adv, r, empty
        empty.append(r)
    raise AssertionError("no advertiser got a business assistant slate")


def test_recommend_explain_and_feedback(mcp):
    adv, r, empty = _a_slate(mcp)
    items = r.structured_content["items"]
    assert int(r.structured_content["advertiser_id"]) == adv and 1 <= len(items) <= 3
    assert r.structured_content["surface"] == "SURFACE_BUSINESS_ASSISTANT"
    assert items[0]["title"] in _text(r) and items[0]["recommendation_id"] in _text(r)
    for e in empty:  # an empty slate says why, as an answer rather than an error
        assert e.structured_content["empty_message"] in _text(e)
    rec = items[0]["recommendation_id"]

    why = _call(mcp, "explain_recommendation", {"recommendation_id": rec})
    assert not why.is_error, _text(why)
    assert why.structured_content["recommendation_id"] == rec
    assert why.structured_content["adoption_probability"] == pytest.approx(
        items[0]["adoption_probability"])

    args = {"recommendation_id": rec, "kind": "snoozed", "snooze_days": 7}
    preview = _call(mcp, "feedback", args)
    assert not preview.is_error and preview.structured_content["written"] is False
    written = _call(mcp, "feedback", {**args, "confirm": True})
    assert not written.is_error, _text(written)
    assert (written.structured_content["written"], written.structured_content["duplicate"]) == (
        True, False)  # so the preview wrote nothing
    again = _call(mcp, "feedback", {**args, "confirm": True})
    assert again.structured_content["duplicate"] is True  # the service has it, once


def test_sales_book(mcp):
    r = _call(mcp, "sales_book", {"max_accounts": 4, "items_per_account": 1}, "book")
    assert not r.is_error, _text(r)
    accounts = r.structured_content["accounts"]
    assert len(accounts) == 4 and {int(a["advertiser_id"]) for a in accounts} <= set(
        mcp["ids"][:6])
    impact = [a.get("available_impact", 0.0) for a in accounts]
    assert impact == sorted(impact, reverse=True)
    assert _text(r).startswith("book of 4 accounts")


@pytest.mark.parametrize("tool, args, message", [
    ("account_brief", {"advertiser_id": "seventeen"},
     "account_brief: invalid advertiser_id: Input should be a valid integer, unable to parse "
     "string as an integer (got 'seventeen')"),
    ("recommend", {"advertiser_id": 1, "max_items": 99},
     "recommend: invalid max_items: Input should be less than or equal to 20 (got 99)"),
    ("feedback", {"recommendation_id": "x", "kind": "dismissed", "confirm": True},
     "a dismissal needs a reason: one of not_relevant, already_done, too_expensive, "
     "disagree_with_estimate, other"),
    ("explain_recommendation", {"recommendation_id": "nope"},
     "recommendation 'nope' not found: no slate served it"),
    ("feedback", {"recommendation_id": "nope", "kind": "applied", "confirm": True},
     "recommendation 'nope' not found"),
    ("account_brief", {"advertiser_id": 99_999_999}, None),  # NOT_FOUND: names the account
])
def test_bad_arguments_and_unknown_ids_are_one_line(mcp, tool, args, message):
    r = _call(mcp, tool, args)
    assert r.is_error and "\n" not in _text(r) and "Traceback" not in _text(r)
    if message is not None:
        assert _text(r) == message
    else:
        assert "99999999" in _text(r)


def test_no_token_or_an_unknown_one(mcp):
    nothing = _session(mcp["url"], None, lambda c: c.call_tool(
        "account_brief", {"advertiser_id": mcp["ids"][0]}))
    assert nothing.is_error and _text(nothing).startswith("no bearer token: send the HTTP header")
    unknown = _session(mcp["url"], "gdn_not-a-token", lambda c: c.call_tool(
        "account_brief", {"advertiser_id": mcp["ids"][0]}))
    assert _text(unknown) == "the guidance service refused the token: unknown bearer token"


def test_the_service_down_is_a_clear_error_in_time(mcp):
    started = time.monotonic()
    r = _call(mcp, "account_brief", {"advertiser_id": mcp["ids"][0]}, url=mcp["down"])
    assert time.monotonic() - started < 8  # under the 5 s deadline plus the HTTP round trip
    assert r.is_error and "is unavailable (not running or not ready)" in _text(r)
