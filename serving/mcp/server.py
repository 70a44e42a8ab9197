"""The MCP server: the guidance service's calls as tools, its vocabularies as resources.

Every tool is one gRPC call to the guidance service with the caller's own bearer token (the
HTTP request's `Authorization` header; over stdio, the process's token), so a token scoped to
one advertiser reads that advertiser only, here as everywhere. Tools are plain functions run in
worker threads by the SDK; each call opens its own channel, which a closed service refuses at
once and a hung one past `McpConfig.timeout_s`.

A failure reaches the agent as an MCP tool error with one line: the service's status mapped to
a sentence (`service_message`), an argument that fails the tool's schema named with what it
accepts, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

import grpc
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from pipelines.domain.actions import ACTION_TYPES
from pipelines.domain.vocabulary import DISMISS_REASONS
from serving.client import Client, ServiceError, as_dict, render_book, render_explanation, \
    render_slate
from serving.mcp.config import MCP_ROUTE, TOKEN_ENV, McpConfig

T = TypeVar("T")
# Text for the agent, and the service's answer as JSON (proto field names) for programs.
Answer = Annotated[CallToolResult, dict[str, Any]]
SURFACE = "business_assistant"  # the surface an agent's slates are planned and logged for
FEEDBACK_KINDS = ("applied", "dismissed", "snoozed")

INSTRUCTIONS = """\
Guidance for advertisers: which actions on an ads account are most worth taking now, ranked, \
with why. Start with account_brief (the few signals that matter now, the account's guidance \
score and its top recommendations; reading it shows nothing to the advertiser). recommend shows \
a slate to the advertiser and logs it: its recommendation ids are what explain_recommendation \
and feedback take. feedback records what the advertiser did and writes only with confirm=true, \
after the user has agreed. sales_book ranks a sales rep's accounts by the impact still \
available. Resources: guidance://signals (what each signal means) and guidance://actions (the \
kinds of guidance)."""

# The service's status codes as sentences for the agent.
_STATUS_MESSAGES: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.UNAUTHENTICATED: "the guidance service refused the token: {details}",
    grpc.StatusCode.PERMISSION_DENIED: "not allowed: {details}",
    grpc.StatusCode.INVALID_ARGUMENT: "invalid request: {details}",
    grpc.StatusCode.NOT_FOUND: "{details}",
    grpc.StatusCode.ALREADY_EXISTS: "{details}",
    grpc.StatusCode.DEADLINE_EXCEEDED: "the guidance service at {address} did not answer "
                                       "within {timeout_s:g} s",
    grpc.StatusCode.UNAVAILABLE: "the guidance service at {address} is unavailable (not "
                                 "running or not ready); try again shortly",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "the guidance service is overloaded; try again shortly",
    grpc.StatusCode.UNIMPLEMENTED: "the guidance service at {address} does not offer this call "
                                   "(an older version?)",
}


class GuidanceToolError(ToolError):
    """A failure the agent reads as it is: one line, no prefix, no traceback."""


def service_message(code: grpc.StatusCode | None, details: str, address: str,
                    timeout_s: float) -> str:
    """The sentence an agent gets for a gRPC status; INTERNAL and the rest keep the service's
    details (which carry a reference id, never a trace)."""
    template = _STATUS_MESSAGES.get(code, "the guidance service failed: {details}")
    return template.format(details=details or getattr(code, "name", "error"), address=address,
                           timeout_s=timeout_s)


def arguments_message(tool: str, error: ValidationError) -> str:
    """Every argument that fails `tool`'s schema, on one line, with what was given."""
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "arguments"
        got = f" (got {e['input']!r})" if e["type"] != "missing" else ""
        parts.append(f"invalid {where}: {e['msg']}{got}")
    return f"{tool}: " + "; ".join(parts)


def bearer_token(headers: Mapping[str, str] | None, process_token: str | None) -> str:
    """The caller's token: from the HTTP request's `Authorization: Bearer` header; where the
    transport has no headers (stdio, in process), the process's own token. An HTTP request
    without one never falls back to the process's token."""
    if headers is not None:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not token:
            raise GuidanceToolError("no bearer token: send the HTTP header 'Authorization: "
                                    "Bearer <token>' (a token from `guidance tokens create`)")
        return token
    if not process_token:
        raise GuidanceToolError(f"no bearer token: set {TOKEN_ENV} for the MCP server (a token "
                                "from `guidance tokens create`)")
    return process_token


def feedback_plan(recommendation_id: str, kind: str, reason: str | None,
                  snooze_days: int) -> str:
    """What a feedback call would record, as a sentence; GuidanceToolError for a combination
    the service refuses (checked here so that a preview never promises what fails)."""
    if kind == "dismissed" and reason is None:
        raise GuidanceToolError(f"a dismissal needs a reason: one of {', '.join(DISMISS_REASONS)}")
    if kind != "dismissed" and reason is not None:
        raise GuidanceToolError("reason is only for kind=dismissed")
    if kind != "snoozed" and snooze_days:
        raise GuidanceToolError("snooze_days is only for kind=snoozed")
    if kind == "applied":
        return f"mark recommendation {recommendation_id} as applied (the advertiser took it)"
    if kind == "dismissed":
        return f"dismiss recommendation {recommendation_id} (reason: {reason})"
    days = f"{snooze_days} days" if snooze_days else "the service's default time"
    return f"snooze recommendation {recommendation_id} for {days}"


def feedback_event_id(recommendation_id: str, kind: str, reason: str | None,
                      snooze_days: int) -> str:
    """The idempotency key of a feedback: the same feedback sent twice (an agent's retry) is
    recorded once, where a random key would count it twice."""
    key = f"{recommendation_id}|{kind}|{reason or ''}|{snooze_days}"
    return "mcp-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _answer(text: str, message) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=as_dict(message))


def _failure(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


class FeedbackOutcome(BaseModel):
    recommendation_id: str
    kind: str
    reason: str | None
    snooze_days: int
    written: bool = Field(description="True when the feedback was sent to the service; False "
                                      "for a preview (confirm was not true).")
    duplicate: bool = Field(description="The same feedback had been recorded before: nothing "
                                        "was added.")
    message: str


class GuidanceTools:
    """The tools, bound to one config and (for stdio) the process's token."""

    def __init__(self, cfg: McpConfig, process_token: str | None = None):
        self.cfg = cfg
        self.process_token = process_token

    def _call(self, ctx: Context, fn: Callable[[Client], T]) -> T:
        """`fn` on a client holding the caller's token; a status becomes a GuidanceToolError."""
        client = Client(self.cfg.address, bearer_token(ctx.headers, self.process_token),
                        self.cfg.timeout_s)
        try:
            return fn(client)
        except ServiceError as e:
            raise GuidanceToolError(service_message(e.code, e.details, self.cfg.address,
                                                    self.cfg.timeout_s)) from None
        finally:
            client.close()

    def account_brief(
        self,
        advertiser_id: Annotated[int, Field(ge=0, description="The advertiser (account) id.")],
        ctx: Context,
        max_words: Annotated[int, Field(ge=0, le=2000, description=(
            "Budget of the brief's lines in words, 50 to 2000; 0: 400."))] = 0,
    ) -> Answer:
        """The account brief: the few signals that matter now for one advertiser (unusual
        against its own past and its peers, tied to the guidance available), each with its
        sentence and numbers, ranked, within a word budget; plus the account's guidance score
        (0-100) and its top recommendations. Reading a brief shows nothing to the advertiser
        and logs nothing."""
        r = self._call(ctx, lambda c: c.brief(advertiser_id, max_words))
        return _answer(r.text, r)

    def recommend(
        self,
        advertiser_id: Annotated[int, Field(ge=0, description="The advertiser (account) id.")],
        ctx: Context,
        max_items: Annotated[int, Field(ge=0, le=20, description=(
            "Slate size, 1 to 20; 0: the surface's default."))] = 0,
        campaign_id: Annotated[int, Field(ge=0, description=(
            "Only this campaign's guidance; 0: every campaign."))] = 0,
    ) -> Answer:
        """A slate of recommendations for the business assistant to show the advertiser now:
        each with its reasons, adoption and dismissal probabilities, expected impact and its
        80 % interval, and the recommendation id that explain_recommendation and feedback take.
        The slate is logged as shown (it counts toward the surface's daily cap); an empty slate
        says why."""
        r = self._call(ctx, lambda c: c.recommend(advertiser_id, SURFACE, campaign_id, max_items))
        return _answer(render_slate(r), r)

    def explain_recommendation(
        self,
        recommendation_id: Annotated[str, Field(min_length=1, max_length=128, description=(
            "A recommendation id from a slate (recommend or sales_book)."))],
        ctx: Context,
    ) -> Answer:
        """Why a served recommendation was shown: its reasons (the account's signals that argue
        for it), adoption and dismissal probabilities, expected impact with its interval, the
        policy's propensity, and the model and snapshot it is based on."""
        r = self._call(ctx, lambda c: c.explain(recommendation_id))
        return _answer(render_explanation(r), r)

    def sales_book(
        self,
        ctx: Context,
        max_accounts: Annotated[int, Field(ge=0, le=200, description=(
            "Accounts to list, 1 to 200; 0: 20."))] = 0,
        items_per_account: Annotated[int, Field(ge=0, le=10, description=(
            "Recommendations per account, 1 to 10; 0: 3."))] = 0,
    ) -> Answer:
        """A sales rep's book (the accounts the caller's token covers), most expected impact
        still available first, each with its guidance score and top recommendations; the
        slates are logged as shown on the sales workflow."""
        r = self._call(ctx, lambda c: c.book((), max_accounts, items_per_account))
        return _answer(render_book(r), r)

    def feedback(
        self,
        recommendation_id: Annotated[str, Field(min_length=1, max_length=128, description=(
            "A recommendation id from a slate."))],
        kind: Annotated[Literal[FEEDBACK_KINDS], Field(description=(
            "What the advertiser did: applied, dismissed or snoozed."))],
        ctx: Context,
        reason: Annotated[Literal[DISMISS_REASONS] | None, Field(description=(
            "Why it was dismissed; required for kind=dismissed, only for it."))] = None,
        snooze_days: Annotated[int, Field(ge=0, le=365, description=(
            "For kind=snoozed: days, 1 to the service's maximum (90); 0: its default (14)."))
        ] = 0,
        confirm: Annotated[bool, Field(strict=True, description=(
            "true records it; false only says what would be recorded. Ask the user first."))
        ] = False,
    ) -> Annotated[CallToolResult, FeedbackOutcome]:
        """Record what the advertiser did with a recommendation: applied it, dismissed it (with
        a reason) or snoozed it. A write: without confirm=true nothing is recorded and the
        answer says what would be, to confirm with the user first. Sending the same feedback
        again records it once."""
        plan = feedback_plan(recommendation_id, kind, reason, snooze_days)
        outcome = {"recommendation_id": recommendation_id, "kind": kind, "reason": reason,
                   "snooze_days": snooze_days}
        if not confirm:
            text = (f"Nothing recorded yet. This would {plan}. Ask the user to confirm, then "
                    f"call feedback again with confirm=true.")
            result = FeedbackOutcome(**outcome, written=False, duplicate=False, message=text)
        else:
            event = feedback_event_id(recommendation_id, kind, reason, snooze_days)
            r = self._call(ctx, lambda c: c.feedback(event, recommendation_id, kind,
                                                     reason or "", snooze_days))
            text = (f"Already recorded before; nothing added: {plan}." if r.duplicate
                    else f"Recorded: {plan}.")
            result = FeedbackOutcome(**outcome, written=True, duplicate=r.duplicate, message=text)
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content=result.model_dump(mode="json"))


def signal_registry() -> str:
    """guidance://signals: every signal's name, group, level, type, unit and description."""
    from pipelines.context.docs import registry_rows

    return json.dumps(registry_rows(), indent=1)


def action_catalog() -> str:
    """guidance://actions: every action type with its category, title, description, channels
    and numeric variants."""
    return json.dumps([{"action_type": a.name, "category": a.category, "title": a.title,
                        "description": a.description, "channels": list(a.channels),
                        "params": list(a.params), "entity": a.entity,
                        "repeatable": a.repeatable} for a in ACTION_TYPES], indent=1)


class GuidanceMCP(MCPServer):
    """MCPServer whose tool errors read as one line: a GuidanceToolError's text exactly (the
    SDK would prefix it), and arguments that fail the schema named with what they accept (the
    SDK would send pydantic's multi-line text)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context=None):
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:
            if isinstance(e.__cause__, GuidanceToolError):
                return _failure(str(e.__cause__))
            if isinstance(e.__cause__, ValidationError):
                return _failure(arguments_message(name, e.__cause__))
            raise


_READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_SHOWS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                         open_world_hint=False)  # logs the slates it serves
_WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                          open_world_hint=False)


def build_server(cfg: McpConfig, process_token: str | None = None) -> MCPServer:
    """The MCP server over the gRPC service at `cfg.address`. `process_token` is the token of
    a transport without headers (stdio, in process); over HTTP each request brings its own."""
    server = GuidanceMCP("guidance", title="Advertiser & seller guidance",
                         instructions=INSTRUCTIONS, version="1", log_level="WARNING")
    tools = GuidanceTools(cfg, process_token)
    for fn, hints in ((tools.account_brief, _READS), (tools.recommend, _SHOWS),
                      (tools.explain_recommendation, _READS), (tools.sales_book, _SHOWS),
                      (tools.feedback, _WRITES)):
        server.add_tool(fn, annotations=hints)
    server.resource("guidance://signals", name="signals", mime_type="application/json",
                    description="The signal registry: every signal's name, group, level, "
                                "type, unit and description.")(signal_registry)
    server.resource("guidance://actions", name="actions", mime_type="application/json",
                    description="The action catalog: every kind of guidance with its "
                                "category, title and description.")(action_catalog)
    return server


def run_stdio(cfg: McpConfig, token: str) -> None:
    """Serve one desktop agent over stdin/stdout (nothing else may write to stdout) with the
    process's own token, until the agent closes the pipe."""
    build_server(cfg, token).run(transport="stdio")


def run_http(cfg: McpConfig) -> None:
    """Serve streamable HTTP at http://cfg.host:cfg.port/mcp in this process, without Ray
    (stateless, JSON answers, as on Serve); each request brings its own token. On 127.0.0.1
    the SDK also checks Host and Origin headers against DNS rebinding."""
    build_server(cfg).run(transport="streamable-http", host=cfg.host, port=cfg.port,
                          streamable_http_path=MCP_ROUTE, stateless_http=True,
                          json_response=True)
