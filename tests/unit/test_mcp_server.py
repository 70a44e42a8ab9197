"""The MCP server in process (mcp.Client(server), no HTTP, no Ray) over a fake gRPC service:
the tools' schemas, feedback's confirmation, the resources, and errors as one line."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from mcp import Client, StdioServerParameters

from pipelines.context.docs import registry_rows
from pipelines.domain.actions import ACTION_TYPES
from serving.client import free_port
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.gen.guidance.v1 import guidance_pb2_grpc as pb_grpc
from serving.mcp.config import McpConfig
from serving.mcp.server import (
    GuidanceToolError,
    bearer_token,
    build_server,
    feedback_event_id,
    service_message,
)

REPO = Path(__file__).resolve().parents[2]
TOOLS = {"account_brief", "recommend", "explain_recommendation", "sales_book", "feedback"}


class FakeService(pb_grpc.GuidanceServiceServicer):
    """Answers as the service would for advertiser 7 only; records every call it gets."""

    def __init__(self):
        self.calls: list[tuple[str, object, dict]] = []
        self.events: set[str] = set()
        self.delay_s = 0.0

    def _seen(self, method, request, context):
        self.calls.append((method, request, dict(context.invocation_metadata())))
        time.sleep(self.delay_s)

    def Recommend(self, request, context):
        self._seen("Recommend", request, context)
        if request.advertiser_id != 7:
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          f"token 'one' may not read advertiser {request.advertiser_id}")
        return pb.RecommendResponse(advertiser_id=7, surface=request.surface,
                                    empty_reason="daily_cap_reached",
                                    empty_message="today's 3 suggestions were shown already")

    def LogFeedback(self, request, context):
        self._seen("LogFeedback", request, context)
        duplicate = request.event_id in self.events
        self.events.add(request.event_id)
        return pb.LogFeedbackResponse(duplicate=duplicate)

    def Explain(self, request, context):
        self._seen("Explain", request, context)
        context.abort(grpc.StatusCode.NOT_FOUND,
                      f"recommendation {request.recommendation_id!r} not found")


@pytest.fixture(scope="module")
def fake():
    service = FakeService()
    server = grpc.server(futures.ThreadPoolExecutor(4))
    pb_grpc.add_GuidanceServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, f"127.0.0.1:{port}"
    server.stop(0)


@pytest.fixture
def calls(fake):
    service, _ = fake
    service.calls.clear()
    service.delay_s = 0.0
    return service.calls


def _session(address: str, fn, token: str | None = "tok", timeout_s: float = 5.0):
    """fn(client) run against the server in process."""
    async def go():
        server = build_server(McpConfig(address=address, timeout_s=timeout_s), token)
        async with Client(server) as client:
            return await fn(client)

    return asyncio.run(go())


def _call(address: str, tool: str, args: dict, **kw):
    return _session(address, lambda c: c.call_tool(tool, args), **kw)


def test_the_tools_and_their_schemas(fake):
    tools = {t.name: t for t in _session(fake[1], lambda c: c.list_tools()).tools}
    assert set(tools) == TOOLS
    assert all(t.description and t.input_schema["type"] == "object" for t in tools.values())
    for t in tools.values():  # every argument is described
        assert all(p.get("description") for p in t.input_schema["properties"].values()), t.name
    fb = tools["feedback"].input_schema
    assert fb["properties"]["kind"]["enum"] == ["applied", "dismissed", "snoozed"]
    assert fb["properties"]["confirm"] == {**fb["properties"]["confirm"], "type": "boolean",
                                           "default": False}
    assert set(fb["required"]) == {"recommendation_id", "kind"}
    assert tools["account_brief"].input_schema["required"] == ["advertiser_id"]
    assert tools["account_brief"].annotations.read_only_hint is True
    assert tools["feedback"].annotations.read_only_hint is False
    assert tools["recommend"].annotations.read_only_hint is False  # it logs the slate it shows


@pytest.mark.parametrize("args, would", [
    ({"kind": "applied"}, "mark recommendation r-1 as applied"),
    ({"kind": "dismissed", "reason": "too_expensive"},
     "dismiss recommendation r-1 (reason: too_expensive)"),
    ({"kind": "snoozed", "snooze_days": 30}, "snooze recommendation r-1 for 30 days"),
    ({"kind": "snoozed", "confirm": False}, "snooze recommendation r-1 for the service's default"),
])
def test_feedback_without_confirm_writes_nothing_and_says_what_it_would(fake, calls, args,
                                                                        would):
    r = _call(fake[1], "feedback", {"recommendation_id": "r-1", **args})
    assert not r.is_error and calls == []
    assert f"This would {would}" in r.content[0].text and "confirm=true" in r.content[0].text
    assert r.structured_content["written"] is False


def test_feedback_with_confirm_writes_once_even_when_sent_twice(fake, calls):
    args = {"recommendation_id": "r-2", "kind": "dismissed", "reason": "not_relevant",
            "confirm": True}
    first = _call(fake[1], "feedback", args)
    again = _call(fake[1], "feedback", args)
    assert [c[0] for c in calls] == ["LogFeedback", "LogFeedback"]
    sent = calls[0][1]
    assert (sent.recommendation_id, sent.type, sent.dismiss_reason) == (
        "r-2", pb.FEEDBACK_TYPE_DISMISSED, pb.DISMISS_REASON_NOT_RELEVANT)
    # the same key both times: the service recorded it once and said so the second time
    assert sent.event_id == calls[1][1].event_id == feedback_event_id("r-2", "dismissed",
                                                                      "not_relevant", 0)
    assert first.content[0].text == ("Recorded: dismiss recommendation r-2 (reason: "
                                     "not_relevant).")
    assert (first.structured_content["written"], first.structured_content["duplicate"]) == (
        True, False)
    assert again.structured_content["duplicate"] is True
    assert again.content[0].text.startswith("Already recorded before; nothing added")


@pytest.mark.parametrize("args, message", [
    ({"kind": "dismissed", "confirm": True},
     "a dismissal needs a reason: one of not_relevant, already_done, too_expensive, "
     "disagree_with_estimate, other"),
    ({"kind": "applied", "reason": "other", "confirm": True}, "reason is only for kind=dismissed"),
    ({"kind": "applied", "snooze_days": 3, "confirm": True},
     "snooze_days is only for kind=snoozed"),
    ({"kind": "applyed", "confirm": True},
     "feedback: invalid kind: Input should be 'applied', 'dismissed' or 'snoozed' (got "
     "'applyed')"),
    ({"kind": "applied", "confirm": "yes"},  # only a JSON true writes
     "feedback: invalid confirm: Input should be a valid boolean (got 'yes')"),
    ({"kind": "snoozed", "snooze_days": -1, "confirm": True},
     "feedback: invalid snooze_days: Input should be greater than or equal to 0 (got -1)"),
])
def test_bad_feedback_is_one_line_and_writes_nothing(fake, calls, args, message):
    r = _call(fake[1], "feedback", {"recommendation_id": "r-3", **args})
    assert r.is_error and r.content[0].text == message and calls == []


def test_resources_are_the_registry_and_the_catalog(fake):
    async def read(c):
        listed = {str(r.uri) for r in (await c.list_resources()).resources}
        signals = json.loads((await c.read_resource("guidance://signals")).contents[0].text)
        actions = json.loads((await c.read_resource("guidance://actions")).contents[0].text)
        return listed, signals, actions

    listed, signals, actions = _session(fake[1], read)
    assert listed == {"guidance://signals", "guidance://actions"}
    assert signals == registry_rows() and len(signals) > 50
    assert all(s["name"] and s["group"] and s["description"] and "unit" in s for s in signals)
    assert [(a["action_type"], a["category"]) for a in actions] == [
        (a.name, a.category) for a in ACTION_TYPES]
    assert all(a["description"] for a in actions)


def test_the_token_and_the_app_name_reach_the_service(fake, calls):
    r = _call(fake[1], "recommend", {"advertiser_id": 7, "max_items": 2}, token="tok-7")
    assert not r.is_error
    method, request, metadata = calls[0]
    assert metadata["authorization"] == "Bearer tok-7" and metadata["application"] == "guidance"
    assert (request.advertiser_id, request.max_items, request.surface) == (
        7, 2, pb.SURFACE_BUSINESS_ASSISTANT)
    # an empty slate is an answer, not an error, and says why
    assert "today's 3 suggestions were shown already" in r.content[0].text
    assert r.structured_content["empty_reason"] == "daily_cap_reached"


@pytest.mark.parametrize("tool, args, message", [
    ("recommend", {"advertiser_id": 8}, "not allowed: token 'one' may not read advertiser 8"),
    ("explain_recommendation", {"recommendation_id": "nope"}, "recommendation 'nope' not found"),
    ("recommend", {"advertiser_id": -1},
     "recommend: invalid advertiser_id: Input should be greater than or equal to 0 (got -1)"),
    ("recommend", {}, "recommend: invalid advertiser_id: Field required"),
])
def test_errors_are_one_line(fake, calls, tool, args, message):
    r = _call(fake[1], tool, args)
    assert r.is_error and r.content[0].text == message


def test_no_token_is_refused_before_calling(fake, calls):
    r = _call(fake[1], "recommend", {"advertiser_id": 7}, token=None)
    assert r.is_error and calls == []
    assert r.content[0].text.startswith("no bearer token: set GUIDANCE_TOKEN")


def test_over_stdio_with_the_process_s_token(fake, calls):
    """`guidance mcp --stdio` as a desktop agent starts it: the service address and the token
    from the environment."""
    async def go():
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "cli.main", "mcp", "--stdio"], cwd=str(REPO),
            env={"GUIDANCE_ADDRESS": fake[1], "GUIDANCE_TOKEN": "tok-stdio"})
        async with Client(params) as client:
            return (await client.list_tools()).tools, await client.call_tool(
                "recommend", {"advertiser_id": 7})

    tools, r = asyncio.run(go())
    assert {t.name for t in tools} == TOOLS and not r.is_error
    assert calls[0][2]["authorization"] == "Bearer tok-stdio"


def test_a_service_down_or_slow_is_an_error_in_time(fake, calls):
    started = time.monotonic()
    down = _call(f"127.0.0.1:{free_port()}", "recommend", {"advertiser_id": 7})
    assert down.is_error and time.monotonic() - started < 5
    assert "is unavailable (not running or not ready)" in down.content[0].text
    fake[0].delay_s = 2.0
    started = time.monotonic()
    slow = _call(fake[1], "recommend", {"advertiser_id": 7}, timeout_s=0.3)
    assert time.monotonic() - started < 1.9  # the deadline, not the service's pace
    assert slow.is_error and slow.content[0].text == (
        f"the guidance service at {fake[1]} did not answer within 0.3 s")


@pytest.mark.parametrize("headers, process, expected", [
    ({"authorization": "Bearer abc"}, "proc", "abc"),
    ({"authorization": "bearer  abc "}, None, "abc"),
    (None, "proc", "proc"),  # stdio: the process's token
])
def test_bearer_token(headers, process, expected):
    assert bearer_token(headers, process) == expected


@pytest.mark.parametrize("headers, process, message", [
    ({}, "proc", "no bearer token: send the HTTP header"),  # HTTP never borrows the process's
    ({"authorization": "Basic abc"}, "proc", "no bearer token: send the HTTP header"),
    ({"authorization": "Bearer "}, "proc", "no bearer token: send the HTTP header"),
    (None, None, "no bearer token: set GUIDANCE_TOKEN"),
])
def test_no_bearer_token(headers, process, message):
    with pytest.raises(GuidanceToolError, match=message):
        bearer_token(headers, process)


@pytest.mark.parametrize("code, details, expected", [
    (grpc.StatusCode.PERMISSION_DENIED, "x may not read 3", "not allowed: x may not read 3"),
    (grpc.StatusCode.UNAUTHENTICATED, "unknown bearer token",
     "the guidance service refused the token: unknown bearer token"),
    (grpc.StatusCode.INVALID_ARGUMENT, "max_items must be 0 to 20",
     "invalid request: max_items must be 0 to 20"),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "", "the guidance service at h:1 did not answer within "
                                            "2.5 s"),
    (grpc.StatusCode.INTERNAL, "internal error (reference 0a1b)",
     "the guidance service failed: internal error (reference 0a1b)"),
])
def test_service_messages(code, details, expected):
    assert service_message(code, details, "h:1", 2.5) == expected


def test_every_deploy_lists_both_apps():
    """Serve deletes an app a declarative deploy leaves out: a model swap must list the MCP app
    too, at its own route, with the HTTP proxy's port."""
    from serving.app import deploy_schema
    from serving.config import ServeConfig

    mcp = McpConfig(address="localhost:9100", port=8123, replicas=2)
    schema = deploy_schema(ServeConfig(root="/r", grpc_port=9100), "v2", mcp)
    apps = {a.name: a for a in schema.applications}
    assert set(apps) == {"guidance", "mcp"}
    assert (apps["guidance"].route_prefix, apps["mcp"].route_prefix) == ("/", "/mcp")
    assert apps["mcp"].import_path == "serving.mcp.serve_app:app_builder"
    # host and port are the HTTP proxy's, not the app's
    assert McpConfig(**apps["mcp"].args) == mcp.model_copy(update={"port": 8000})
    assert (schema.http_options.host, schema.http_options.port) == ("127.0.0.1", 8123)
    alone = deploy_schema(ServeConfig(root="/r", grpc_port=9100), "v2")
    assert [a.name for a in alone.applications] == ["guidance"]
