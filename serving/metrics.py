"""The service's own Prometheus metrics, recorded by the Serve ingress through Ray's metrics.

Ray exports them on every node's metrics agent (`ray.init(_metrics_export_port=P)`,
`ray start --metrics-export-port=P`) with a `ray_` prefix: a counter as `ray_<name>_total`, a
histogram as `_bucket`, `_sum` and `_count`; Serve adds the `deployment`, `replica` and
`application` tags. What one finished call adds to them is a pure function of the call
(`observations`), tested without Ray; `ServingMetrics` only hands its output to Ray.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, NamedTuple

import grpc
from ray.serve import metrics as ray_metrics

from serving.convert import FEEDBACK_NAME, SURFACE_NAME
from serving.service import BOOK_SURFACE, degraded_kind

# The service's method (GuidanceService.call) → the RPC's name in the proto.
RPC_NAME = {"recommend": "Recommend", "recommend_for_book": "RecommendForBook",
            "log_feedback": "LogFeedback", "get_context": "GetContext",
            "get_brief": "GetBrief", "explain": "Explain"}
NO_SURFACE = "none"  # the surface tag of RPCs that have none (LogFeedback, GetContext, ...)
# Milliseconds: a local answer takes a few, a batched remote ranker tens, a timeout hundreds.
LATENCY_BOUNDARIES_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


@dataclass(frozen=True)
class MetricSpec:
    """One metric as Ray records it (`name`, without Ray's `ray_` prefix)."""

    name: str
    kind: Literal["counter", "histogram", "gauge"]
    description: str
    tag_keys: tuple[str, ...]
    boundaries: tuple[float, ...] = ()

    def exported(self) -> tuple[str, ...]:
        """The sample names a Prometheus scrape shows for it."""
        base = f"ray_{self.name}"
        if self.kind == "counter":
            return f"{base}_total", base  # some Ray versions drop the suffix (ray#59072)
        if self.kind == "histogram":
            return f"{base}_bucket", f"{base}_sum", f"{base}_count"
        return (base,)


REQUESTS = MetricSpec("guidance_requests", "counter",
                      "Finished calls by RPC, surface and gRPC status code.",
                      ("rpc", "surface", "code"))
LATENCY = MetricSpec("guidance_request_latency_ms", "histogram",
                     "Time the ingress replica spent on a call, in milliseconds (the proxy's "
                     "hop not included).", ("rpc", "surface"), LATENCY_BOUNDARIES_MS)
DEGRADED = MetricSpec("guidance_degraded_answers", "counter",
                      "Answers served by the fallback, by RPC and reason kind (ranker_timeout, "
                      "ranker_unavailable, ranker_error).", ("rpc", "reason"))
ITEMS = MetricSpec("guidance_items_served", "counter",
                   "Recommendations served, by surface and action type.",
                   ("surface", "action_type"))
FEEDBACK = MetricSpec("guidance_feedback_events", "counter",
                      "Feedback events logged, by type; a retried duplicate is not counted again.",
                      ("type",))
MODEL_VERSION = MetricSpec("guidance_model_version", "gauge",
                           "1 for the model version a replica serves, 0 for one it served before.",
                           ("model_version",))
METRICS = (REQUESTS, LATENCY, DEGRADED, ITEMS, FEEDBACK, MODEL_VERSION)
SERVE_TAGS = ("deployment", "replica", "application")  # added to ours by Serve in a replica
# Serve's own gRPC proxy metrics that the dashboard charts beside ours: exported name → tags.
SERVE_PROXY_METRICS = {
    "ray_serve_num_grpc_requests_total": ("route", "method", "application", "status_code"),
    "ray_serve_grpc_request_latency_ms_bucket": ("route", "method", "application",
                                                 "status_code", "le"),
}


class Observation(NamedTuple):
    """One value for one metric: a counter's increment, a histogram's sample, a gauge's value."""

    metric: str
    value: float
    tags: dict[str, str]


def surface_of(rpc: str, request) -> str:
    """The surface tag of a call: the request's own for Recommend ("unspecified" when it names
    none or an unknown one), the book's for RecommendForBook, "none" for the others."""
    if rpc == "Recommend":
        return SURFACE_NAME.get(request.surface, "unspecified")
    return BOOK_SURFACE if rpc == "RecommendForBook" else NO_SURFACE


def observations(method: str, request, response, code: grpc.StatusCode,
                 elapsed_s: float) -> list[Observation]:
    """What one finished call adds to the metrics. `method` is GuidanceService's method name,
    `response` None when the call failed with `code`, `elapsed_s` in seconds."""
    rpc = RPC_NAME[method]
    surface = surface_of(rpc, request)
    out = [Observation(REQUESTS.name, 1, {"rpc": rpc, "surface": surface, "code": code.name}),
           Observation(LATENCY.name, elapsed_s * 1000.0, {"rpc": rpc, "surface": surface})]
    if response is None:
        return out
    if rpc == "LogFeedback":
        if not response.duplicate:
            out.append(Observation(FEEDBACK.name, 1, {"type": FEEDBACK_NAME[request.type]}))
        return out
    if rpc == "Recommend":
        items = response.items
    elif rpc == "RecommendForBook":
        items = [item for account in response.accounts for item in account.items]
    else:
        return out
    for action_type, n in Counter(item.action_type for item in items).items():
        out.append(Observation(ITEMS.name, n, {"surface": surface, "action_type": action_type}))
    if response.degraded:
        out.append(Observation(DEGRADED.name, 1,
                               {"rpc": rpc, "reason": degraded_kind(response.degraded_reason)}))
    return out


def version_observations(before: str | None, now: str) -> list[Observation]:
    """The model-version gauge after a replica went from serving `before` (None: nothing yet)
    to `now`."""
    out = [Observation(MODEL_VERSION.name, 1, {"model_version": now})]
    if before is not None and before != now:
        out.append(Observation(MODEL_VERSION.name, 0, {"model_version": before}))
    return out


class ServingMetrics:
    """The metrics of one Serve replica (Ray's metrics live in each process); about 5 µs per
    value recorded."""

    def __init__(self):
        self._record = {}
        for spec in METRICS:
            if spec.kind == "counter":
                self._record[spec.name] = ray_metrics.Counter(
                    spec.name, description=spec.description, tag_keys=spec.tag_keys).inc
            elif spec.kind == "histogram":
                self._record[spec.name] = ray_metrics.Histogram(
                    spec.name, description=spec.description, boundaries=list(spec.boundaries),
                    tag_keys=spec.tag_keys).observe
            else:
                self._record[spec.name] = ray_metrics.Gauge(
                    spec.name, description=spec.description, tag_keys=spec.tag_keys).set

    def _apply(self, values: list[Observation]) -> None:
        for metric, value, tags in values:
            self._record[metric](value, tags)

    def call(self, method: str, request, response, code: grpc.StatusCode,
             elapsed_s: float) -> None:
        """Record one finished call (see `observations`)."""
        self._apply(observations(method, request, response, code, elapsed_s))

    def serving(self, before: str | None, now: str) -> None:
        """Record that this replica now serves model version `now` instead of `before`."""
        self._apply(version_observations(before, now))
