"""The service's metrics on the shared cluster's Prometheus endpoint: after known requests
through Serve's gRPC proxy, each counter moved by exactly those requests."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections import Counter

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from ray import serve

from serving import auth
from serving.app import deploy
from serving.client import free_port
from serving.config import APP_NAME, ServeConfig
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.gen.guidance.v1 import guidance_pb2_grpc as pb_grpc
from serving.metrics import (DEGRADED, FEEDBACK, ITEMS, LATENCY, MODEL_VERSION, REQUESTS,
                             SERVE_PROXY_METRICS)
from pipelines.storage.root import Root

Samples = dict[tuple[str, frozenset], float]
COUNT = (f"ray_{LATENCY.name}_count",)  # calls timed
PROXY = ("ray_serve_num_grpc_requests_total",)


@pytest.fixture(scope="module")
def service(served_root, tmp_path_factory):
    root = Root(served_root)
    adv = root.read_table("snapshots/s1/online/advertisers").to_pandas()
    ids = adv[adv.live_campaigns > 0].advertiser_id.sort_values().tolist()
    log = tmp_path_factory.mktemp("metrics-log") / "log.db"  # apart from the other tests' logs
    # A ranker deployment cannot answer within a microsecond: every slate comes from the
    # fallback, marked degraded (ranker_timeout), so the degraded counter moves too.
    cfg = ServeConfig(root=served_root, grpc_port=free_port(), ranker="deployment",
                      ranking_timeout_s=1e-6, feedback_log=f"sqlite:///{log}")
    version = deploy(cfg)
    channel = grpc.insecure_channel(f"localhost:{cfg.grpc_port}")
    token = auth.create(root, "metrics tests", [], all_advertisers=True)
    yield {"ids": ids, "version": version, "stub": pb_grpc.GuidanceServiceStub(channel),
           "metadata": (("authorization", f"Bearer {token}"),)}
    channel.close()
    serve.shutdown()


def scrape(port: int) -> Samples:
    """Every sample of the endpoint: (name, labels) → value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _name(samples: Samples, names: tuple[str, ...]) -> str:
    """The first of `names` the endpoint shows (a counter with or without `_total`)."""
    shown = {name for name, _ in samples}
    return next((n for n in names if n in shown), names[0])


def moved(before: Samples, after: Samples, names: tuple[str, ...], **tags: str) -> float:
    """How much the samples named `names` that carry `tags` rose since `before`, summed over
    replicas (a series that appeared counts whole; one that went away is left out)."""
    name = _name(after, names)
    return sum(value - before.get((n, labels), 0.0) for (n, labels), value in after.items()
               if n == name and tags.items() <= dict(labels).items())


def _observed(before: Samples, after: Samples, action_types) -> dict:
    app = {"application": APP_NAME}
    out = {
        "Recommend OK": moved(before, after, REQUESTS.exported(), rpc="Recommend",
                              surface="ads_manager", code="OK", **app),
        "Recommend INVALID_ARGUMENT": moved(before, after, REQUESTS.exported(), rpc="Recommend",
                                            surface="ads_manager", code="INVALID_ARGUMENT",
                                            **app),
        "LogFeedback OK": moved(before, after, REQUESTS.exported(), rpc="LogFeedback",
                                surface="none", code="OK", **app),
        "requests": moved(before, after, REQUESTS.exported(), **app),
        "Recommend latencies": moved(before, after, COUNT, rpc="Recommend",
                                     surface="ads_manager", **app),
        "latencies": moved(before, after, COUNT, **app),
        "degraded ranker_timeout": moved(before, after, DEGRADED.exported(), rpc="Recommend",
                                         reason="ranker_timeout", **app),
        "degraded": moved(before, after, DEGRADED.exported(), **app),
        "feedback applied": moved(before, after, FEEDBACK.exported(), type="applied", **app),
        "feedback": moved(before, after, FEEDBACK.exported(), **app),
        "items": moved(before, after, ITEMS.exported(), surface="ads_manager", **app),
        "proxy requests": moved(before, after, PROXY, **app),
    }
    for action in action_types:
        out[f"items {action}"] = moved(before, after, ITEMS.exported(), surface="ads_manager",
                                       action_type=action, **app)
    return out


def test_counters_move_by_the_requests_sent(service, metrics_port):
    stub, md, ids = service["stub"], service["metadata"], service["ids"]
    before = scrape(metrics_port)
    slates = [stub.Recommend(pb.RecommendRequest(advertiser_id=a, surface=pb.SURFACE_ADS_MANAGER),
                             metadata=md, timeout=30) for a in ids[:3]]
    with pytest.raises(grpc.RpcError) as bad:
        stub.Recommend(pb.RecommendRequest(advertiser_id=ids[0], surface=pb.SURFACE_ADS_MANAGER,
                                           max_items=99), metadata=md, timeout=30)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    item = next(i for s in slates for i in s.items)
    ack = stub.LogFeedback(pb.LogFeedbackRequest(
        event_id=uuid.uuid4().hex, recommendation_id=item.recommendation_id,
        type=pb.FEEDBACK_TYPE_APPLIED), metadata=md, timeout=30)
    assert not ack.duplicate

    served = Counter(i.action_type for s in slates for i in s.items)
    degraded = sum(s.degraded for s in slates)
    assert degraded and all(s.degraded_reason.startswith("ranker slower than")
                            for s in slates if s.degraded)
    expected = {"Recommend OK": 3, "Recommend INVALID_ARGUMENT": 1, "LogFeedback OK": 1,
                "requests": 5, "Recommend latencies": 4, "latencies": 5,
                "degraded ranker_timeout": degraded, "degraded": degraded,
                "feedback applied": 1, "feedback": 1, "items": sum(served.values()),
                "proxy requests": 5,
                **{f"items {a}": n for a, n in served.items()}}
    deadline = time.monotonic() + 60  # the agent refreshes about every 10 s
    while True:
        after = scrape(metrics_port)
        observed = _observed(before, after, served)
        if observed == expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert observed == expected

    # the replica that answered says which model it serves
    replicas = {dict(labels)["replica"] for (name, labels), _ in after.items()
                if name == _name(after, REQUESTS.exported())
                and dict(labels).get("application") == APP_NAME
                and (name, labels) not in before}
    gauge = {dict(labels)["model_version"]: value for (name, labels), value in after.items()
             if name == MODEL_VERSION.exported()[0] and dict(labels).get("replica") in replicas}
    assert replicas and gauge == {service["version"]: 1.0}
    # and Serve's own proxy metrics the dashboard charts are there, for this app
    for name in SERVE_PROXY_METRICS:
        assert any(n == name and dict(labels).get("application") == APP_NAME
                   for n, labels in after), name
