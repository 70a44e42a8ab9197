"""What one finished call adds to the service's metrics, and the rules Ray puts on their
definitions, without Ray."""

from __future__ import annotations

import asyncio
import re
import socket
import types

import grpc
import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from serving.config import ServeConfig
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.metrics import (DEGRADED, FEEDBACK, ITEMS, LATENCY, METRICS, MODEL_VERSION,
                             REQUESTS, SERVE_TAGS, Observation, observations,
                             version_observations)
from serving.ranker import SnapshotMismatch
from serving.service import degraded_kind
from tests.unit.test_serving_units import _plan

OK, BAD = grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT


def _items(*action_types: str) -> list[pb.Recommendation]:
    return [pb.Recommendation(action_type=a, rank=i + 1) for i, a in enumerate(action_types)]


def test_a_recommend_counts_its_items_by_action_type_and_its_degraded_reason():
    request = pb.RecommendRequest(advertiser_id=3, surface=pb.SURFACE_ADS_MANAGER)
    response = pb.RecommendResponse(
        items=_items("budget_raise", "bid_change", "budget_raise"), degraded=True,
        degraded_reason="ranker slower than 0.25 s")
    assert observations("recommend", request, response, OK, 0.0125) == [
        Observation(REQUESTS.name, 1, {"rpc": "Recommend", "surface": "ads_manager",
                                       "code": "OK"}),
        Observation(LATENCY.name, 12.5, {"rpc": "Recommend", "surface": "ads_manager"}),
        Observation(ITEMS.name, 2, {"surface": "ads_manager", "action_type": "budget_raise"}),
        Observation(ITEMS.name, 1, {"surface": "ads_manager", "action_type": "bid_change"}),
        Observation(DEGRADED.name, 1, {"rpc": "Recommend", "reason": "ranker_timeout"}),
    ]


@pytest.mark.parametrize("surface, tag", [
    (pb.SURFACE_NOTIFICATION, "notification"),
    (pb.SURFACE_UNSPECIFIED, "unspecified"),
    (99, "unspecified"),  # an enum number the proto does not know: one bounded tag value
])
def test_a_failed_call_counts_its_code_and_latency_only(surface, tag):
    request = pb.RecommendRequest(advertiser_id=3, surface=surface, max_items=99)
    assert observations("recommend", request, None, BAD, 0.002) == [
        Observation(REQUESTS.name, 1, {"rpc": "Recommend", "surface": tag,
                                       "code": "INVALID_ARGUMENT"}),
        Observation(LATENCY.name, 2.0, {"rpc": "Recommend", "surface": tag}),
    ]


def test_a_book_counts_every_account_s_items_on_the_sales_surface():
    response = pb.RecommendForBookResponse(accounts=[
        pb.AccountGuidance(advertiser_id=1, items=_items("budget_raise")),
        pb.AccountGuidance(advertiser_id=2, items=_items("budget_raise", "creative_refresh")),
        pb.AccountGuidance(advertiser_id=3)], degraded=True,
        degraded_reason="ranker unavailable (ActorDiedError)")
    got = observations("recommend_for_book", pb.RecommendForBookRequest(), response, OK, 0.1)
    assert got[2:] == [
        Observation(ITEMS.name, 2, {"surface": "sales_workflow", "action_type": "budget_raise"}),
        Observation(ITEMS.name, 1, {"surface": "sales_workflow",
                                    "action_type": "creative_refresh"}),
        Observation(DEGRADED.name, 1, {"rpc": "RecommendForBook",
                                       "reason": "ranker_unavailable"}),
    ]
    assert got[0].tags == {"rpc": "RecommendForBook", "surface": "sales_workflow", "code": "OK"}


@pytest.mark.parametrize("duplicate, counted", [(False, True), (True, False)])
def test_feedback_counts_new_events_by_type(duplicate, counted):
    request = pb.LogFeedbackRequest(event_id="e", recommendation_id="r",
                                    type=pb.FEEDBACK_TYPE_SNOOZED)
    got = observations("log_feedback", request, pb.LogFeedbackResponse(duplicate=duplicate),
                       OK, 0.001)
    assert got[0].tags == {"rpc": "LogFeedback", "surface": "none", "code": "OK"}
    assert got[2:] == ([Observation(FEEDBACK.name, 1, {"type": "snoozed"})] if counted else [])


def test_get_context_counts_the_call_only():
    got = observations("get_context", pb.GetContextRequest(advertiser_id=1),
                       pb.GetContextResponse(advertiser_id=1), OK, 0.003)
    assert [o.metric for o in got] == [REQUESTS.name, LATENCY.name]


def test_a_hot_swap_sets_the_new_version_to_1_and_the_old_to_0():
    gauge = MODEL_VERSION.name
    assert version_observations(None, "v1") == [Observation(gauge, 1, {"model_version": "v1"})]
    assert version_observations("v1", "v1") == [Observation(gauge, 1, {"model_version": "v1"})]
    assert version_observations("v1", "v2") == [Observation(gauge, 1, {"model_version": "v2"}),
                                                Observation(gauge, 0, {"model_version": "v1"})]


def _reason(tmp_path, ranker, **cfg) -> tuple[str, dict]:
    """The degraded reason the service gives when `ranker` fails, and its own tally of kinds."""
    from serving.engine import Engine
    from serving.service import GuidanceService

    service = GuidanceService(ServeConfig(root=str(tmp_path), **cfg), ranker)
    state = types.SimpleNamespace(engine=Engine, version="v1", ranker=None)
    _, _, reason = asyncio.run(service._scores(state, _plan()))
    return reason, dict(service.degraded)


def _raising(error: BaseException):
    async def ranker(campaign_ids, candidates):
        raise error
    return ranker


async def _slow(campaign_ids, candidates):
    await asyncio.sleep(5)


@pytest.mark.parametrize("ranker, cfg, kind", [
    (_slow, {"ranking_timeout_s": 0.01}, "ranker_timeout"),
    (_raising(SnapshotMismatch("mid-swap")), {}, "ranker_unavailable"),
    (_raising(TypeError("a bug")), {}, "ranker_error"),
])
def test_every_degraded_reason_the_service_gives_maps_to_its_kind(tmp_path, ranker, cfg, kind):
    reason, tally = _reason(tmp_path, ranker, **cfg)
    assert tally == {kind: 1} and degraded_kind(reason) == kind
    assert observations("recommend", pb.RecommendRequest(surface=1),
                        pb.RecommendResponse(degraded=True, degraded_reason=reason),
                        OK, 0.3)[-1].tags["reason"] == kind


def test_an_unknown_reason_is_other():
    assert degraded_kind("the moon is full") == "other"


def test_definitions_follow_ray_s_rules():
    names = [m.name for m in METRICS]
    assert len(set(names)) == len(names)
    for m in METRICS:
        assert re.fullmatch(r"guidance_[a-z_]+", m.name) and m.description
        assert isinstance(m.tag_keys, tuple) and not set(m.tag_keys) & set(SERVE_TAGS)
        if m.kind == "histogram":
            assert list(m.boundaries) == sorted(set(m.boundaries)) and m.boundaries[0] > 0
    assert REQUESTS.exported() == ("ray_guidance_requests_total", "ray_guidance_requests")
    assert LATENCY.exported()[0] == "ray_guidance_request_latency_ms_bucket"


def test_serve_refuses_a_bad_or_taken_metrics_port(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(cli, ["serve", "--metrics-port", "0", "--root", str(tmp_path)])
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [
        "error: invalid metrics_port: Input should be greater than or equal to 1 (got 0)"]
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = runner.invoke(cli, ["serve", "--metrics-port", str(port), "--root", str(tmp_path)])
    assert out.exit_code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --metrics-port {port} cannot be used")
