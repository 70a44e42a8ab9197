"""A small client of the guidance service (what `guidance recommend` uses), and how its answers
read for a person."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import grpc
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pipelines.errors import GuidanceError
from serving.config import APP_NAME
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.gen.guidance.v1 import guidance_pb2_grpc as pb_grpc


# Serve's gRPC proxy routes a call by its app's name once it serves more than one app (the MCP
# app beside the gRPC one): every call to the proxy carries this.
APP_METADATA = (("application", APP_NAME),)


class ServiceError(GuidanceError):
    """The service answered with an error status: `code`, and `details` as the service said
    them (what a caller such as the MCP server maps to its own message)."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None, details: str = ""):
        super().__init__(message)
        self.code = code
        self.details = details


def free_port() -> int:
    """A TCP port free on this host now (for a server a demo, test or benchmark starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(address: str, timeout_s: float = 300.0,
                 alive: Callable[[], bool] = lambda: True) -> None:
    """Until grpc.health says SERVING at `address`; TimeoutError past `timeout_s`, or
    RuntimeError as soon as `alive()` says the server process is gone."""
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if not alive():
                raise RuntimeError(f"the server for {address} exited before it was healthy")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=2,
                              metadata=APP_METADATA).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} not SERVING after {timeout_s:g} s")
            time.sleep(0.5)


class Client:
    def __init__(self, address: str, token: str, timeout_s: float = 10.0):
        self.channel = grpc.insecure_channel(address)
        self.stub = pb_grpc.GuidanceServiceStub(self.channel)
        self.metadata = (("authorization", f"Bearer {token}"),) + APP_METADATA
        self.timeout_s = timeout_s

    def _call(self, method: str, request):
        try:
            return getattr(self.stub, method)(request, metadata=self.metadata,
                                              timeout=self.timeout_s)
        except grpc.RpcError as e:
            raise ServiceError(f"{method}: {e.code().name}: {e.details()}", e.code(),
                               e.details() or "") from None

    def recommend(self, advertiser_id: int, surface: str = "ads_manager", campaign_id: int = 0,
                  max_items: int = 0) -> pb.RecommendResponse:
        return self._call("Recommend", pb.RecommendRequest(
            advertiser_id=advertiser_id, campaign_id=campaign_id, max_items=max_items,
            surface=pb.Surface.Value(f"SURFACE_{surface.upper()}")))

    def book(self, advertiser_ids: list[int] = (), max_accounts: int = 0,
             items_per_account: int = 0) -> pb.RecommendForBookResponse:
        return self._call("RecommendForBook", pb.RecommendForBookRequest(
            advertiser_ids=list(advertiser_ids), max_accounts=max_accounts,
            items_per_account=items_per_account))

    def feedback(self, event_id: str, recommendation_id: str, kind: str, reason: str = "",
                 snooze_days: int = 0) -> pb.LogFeedbackResponse:
        return self._call("LogFeedback", pb.LogFeedbackRequest(
            event_id=event_id, recommendation_id=recommendation_id,
            type=pb.FeedbackType.Value(f"FEEDBACK_TYPE_{kind.upper()}"),
            dismiss_reason=pb.DismissReason.Value(f"DISMISS_REASON_{reason.upper()}")
            if reason else 0, snooze_days=snooze_days))

    def context(self, advertiser_id: int, include_campaigns: bool = False
                ) -> pb.GetContextResponse:
        return self._call("GetContext", pb.GetContextRequest(
            advertiser_id=advertiser_id, include_campaigns=include_campaigns))

    def brief(self, advertiser_id: int, max_words: int = 0,
              max_recommendations: int | None = None) -> pb.GetBriefResponse:
        """The account's brief; `max_words` 0 means 400, `max_recommendations` None means 3."""
        return self._call("GetBrief", pb.GetBriefRequest(
            advertiser_id=advertiser_id, max_words=max_words,
            max_recommendations=max_recommendations))

    def explain(self, recommendation_id: str) -> pb.ExplainResponse:
        return self._call("Explain", pb.ExplainRequest(recommendation_id=recommendation_id))

    def close(self) -> None:
        self.channel.close()


def recommend_all(client: Client, advertisers: list[int], surfaces: tuple[str, ...],
                  threads: int = 4) -> list[pb.RecommendResponse]:
    """Ask for a slate for every advertiser on every surface, `threads` calls at a time, as a
    surface's traffic would; returns the slates."""
    from concurrent.futures import ThreadPoolExecutor

    calls = [(a, s) for a in advertisers for s in surfaces]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: client.recommend(*call), calls))


def as_dict(message) -> dict:
    return MessageToDict(message, preserving_proto_field_name=True)


def _item_lines(item: pb.Recommendation, indent: str) -> list[str]:
    imp = item.expected_impact
    lines = [f"{indent}{item.rank}. {item.title}  [{item.action_type}, campaign {item.campaign_id}]",
             f"{indent}   adopt {item.adoption_probability:.0%} · dismiss "
             f"{item.dismissal_probability:.0%} · impact {imp.expected:+.1f} {imp.unit} "
             f"(80 % interval {imp.low:+.1f} to {imp.high:+.1f}) · score +{item.score_uplift:.1f}"]
    lines += [f"{indent}   because {r.sentence}" for r in item.reasons]
    if item.no_supporting_signal:
        lines.append(f"{indent}   no signal of the account argues for it in particular")
    lines.append(f"{indent}   id {item.recommendation_id} (propensity {item.propensity:.2f})")
    return lines


def render_slate(r: pb.RecommendResponse) -> str:
    surface = pb.Surface.Name(r.surface).removeprefix("SURFACE_").lower()
    head = (f"advertiser {r.advertiser_id} on {surface}: guidance score {r.guidance_score:.0f}/100 "
            f"(model {r.model_version})")
    if r.degraded:
        head += f"  DEGRADED: {r.degraded_reason}"
    lines = [head]
    for item in r.items:
        lines += _item_lines(item, "  ")
    if not r.items:
        lines.append(f"  nothing to recommend now: {r.empty_message}" if r.empty_message
                     else "  nothing to recommend now")
    return "\n".join(lines)


def render_book(r: pb.RecommendForBookResponse) -> str:
    lines = [f"book of {len(r.accounts)} accounts, most impact still available first "
             f"(model {r.model_version})" + (f"  DEGRADED: {r.degraded_reason}" if r.degraded
                                            else "")]
    for i, a in enumerate(r.accounts, start=1):
        lines.append(f"{i:>3}. advertiser {a.advertiser_id}: {a.available_impact:.1f} "
                     f"{a.impact_unit} available, guidance score {a.guidance_score:.0f}/100")
        for item in a.items:
            lines += _item_lines(item, "       ")[:2]
    return "\n".join(lines)


def render_explanation(r: pb.ExplainResponse) -> str:
    imp = r.expected_impact
    surface = pb.Surface.Name(r.surface).removeprefix("SURFACE_").lower()
    served = r.served_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"{r.recommendation_id}: {r.title}  [{r.action_type}, campaign {r.campaign_id}, "
             f"advertiser {r.advertiser_id}]",
             f"  served {served} on {surface} at rank {r.rank} by {r.policy} "
             f"(propensity {r.propensity:.2f})" + ("  DEGRADED" if r.degraded else ""),
             f"  adopt {r.adoption_probability:.0%} · dismiss {r.dismissal_probability:.0%} · "
             f"impact {imp.expected:+.1f} {imp.unit} (80 % interval {imp.low:+.1f} to "
             f"{imp.high:+.1f})"]
    lines += [f"  because {x.sentence}" for x in r.reasons]
    if r.no_supporting_signal:
        lines.append("  no signal of the account argues for it in particular")
    lines.append(f"  based on model {r.model_version} (snapshot {r.model_snapshot or 'unknown'}); "
                 f"reasons from snapshot {r.snapshot} as of {r.as_of}")
    return "\n".join(lines)
