"""GetBrief and Explain at the service's edge, without a server: request validation, the
responses built from the engine's plain values, the empty slate's reason, the brief's greedy
policy."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.brief.core import Brief, BriefItem
from pipelines.policy.config import PolicyConfig
from serving import convert
from serving.client import render_explanation, render_slate
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.service import BRIEF_SURFACE, greedy
from serving.status import RequestError


@pytest.mark.parametrize("fields, message", [
    ({}, "advertiser_id is required"),
    ({"advertiser_id": -2}, "advertiser_id must be an account id ≥ 0, got -2"),
    ({"advertiser_id": 1, "max_words": 49}, "max_words must be between 50 and 2000 (0: 400), "
                                            "got 49"),
    ({"advertiser_id": 1, "max_words": 2001}, "max_words must be between 50 and 2000"),
    ({"advertiser_id": 1, "max_words": -5}, "got -5"),
    ({"advertiser_id": 1, "max_recommendations": 11},
     "max_recommendations must be between 0 and 10 (unset: 3), got 11"),
    ({"advertiser_id": 1, "max_recommendations": -1}, "got -1"),
])
def test_brief_validation(fields, message):
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        convert.brief(pb.GetBriefRequest(**fields))


@pytest.mark.parametrize("fields, want", [
    ({"advertiser_id": 0}, {"advertiser_id": 0, "max_words": 400, "max_recommendations": 3}),
    ({"advertiser_id": 7, "max_words": 50, "max_recommendations": 0},
     {"advertiser_id": 7, "max_words": 50, "max_recommendations": 0}),
    ({"advertiser_id": 7, "max_words": 2000, "max_recommendations": 10},
     {"advertiser_id": 7, "max_words": 2000, "max_recommendations": 10}),
])
def test_brief_defaults(fields, want):
    assert convert.brief(pb.GetBriefRequest(**fields)) == want


@pytest.mark.parametrize("rec_id, message", [
    ("", "recommendation_id must be 1 to 128 characters, got 0"),
    ("x" * 129, "recommendation_id must be 1 to 128 characters, got 129"),
])
def test_explain_validation(rec_id, message):
    with pytest.raises(RequestError, match=message):
        convert.recommendation_id(pb.ExplainRequest(recommendation_id=rec_id))


def _slate(items: list[dict], **extra) -> dict:
    return {"advertiser_id": 4, "surface": "notification", "slate_id": "s", "items": items,
            "guidance_score": 12.5, "available_impact": 0.0, "degraded": "", "empty_reason": "",
            "empty_detail": "", "empty_message": "", **extra}


def _item(reasons: list[tuple[str, str]]) -> dict:
    return {"recommendation_id": "s-1", "action_type": "budget_raise", "category": "budget",
            "campaign_id": 40, "item_id": 9, "title": "Raise your budget", "description": "",
            "parameters": {}, "reasons": reasons, "no_supporting_signal": not reasons,
            "adoption_probability": 0.5, "dismissal_probability": 0.25,
            "impact": [0.0, 1.0, 2.0], "rank": 1, "propensity": 1.0, "score_uplift": 3.0}


def test_an_empty_slate_says_why():
    r = convert.slate(_slate([], empty_reason="all_filtered", empty_detail="snoozed",
                             empty_message="Everything that applies is hidden for now."), "v1")
    assert (r.empty_reason, r.empty_detail, r.empty_message) == (
        "all_filtered", "snoozed", "Everything that applies is hidden for now.")
    assert render_slate(r).splitlines()[-1] == ("  nothing to recommend now: Everything that "
                                                "applies is hidden for now.")


def test_an_item_nothing_supports_says_so():
    said = convert.slate(_slate([_item([])]), "v1")
    assert said.items[0].no_supporting_signal and not said.items[0].reasons
    assert "no signal of the account argues for it in particular" in render_slate(said)
    supported = convert.slate(_slate([_item([("roas_28d", "returns 2.1× its spend")])]), "v1")
    assert not supported.items[0].no_supporting_signal
    assert "in particular" not in render_slate(supported)


EXPLAINED = {
    "recommendation_id": "abc-2", "slate_id": "abc", "advertiser_id": 4,
    "action_type": "budget_raise", "category": "budget", "campaign_id": 40, "item_id": 9,
    "title": "Raise your budget", "description": "", "parameters": {"percent": "20"},
    "surface": "business_assistant", "rank": 2, "served_at_ms": 1_700_000_000_123,
    "adoption_probability": 0.25, "dismissal_probability": 0.125,
    "impact": [-1.0, 2.5, 6.0], "propensity": 0.5, "policy": "guidance-business_assistant",
    "degraded": False, "model_version": "m1", "model_snapshot": "s1",
    "reasons": [("budget_limited_days_7d", "limited by budget on 5 of the last 7 days")],
    "as_of": "2024-03-01", "snapshot": "s1",
}


def test_an_explanation_carries_every_logged_number():
    r = convert.explanation(EXPLAINED)
    assert r.surface == pb.SURFACE_BUSINESS_ASSISTANT and r.rank == 2
    assert r.served_at.ToDatetime(dt.timezone.utc) == dt.datetime(
        2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.timezone.utc)
    imp = r.expected_impact
    assert (imp.low, imp.expected, imp.high, imp.unit) == (-1.0, 2.5, 6.0,
                                                           "conversions per 14 days")
    assert (r.adoption_probability, r.dismissal_probability, r.propensity) == (0.25, 0.125, 0.5)
    assert [(x.signal, x.sentence) for x in r.reasons] == EXPLAINED["reasons"]
    assert not r.no_supporting_signal
    assert dict(r.parameters) == {"percent": "20"}
    assert (r.model_version, r.model_snapshot, r.snapshot, r.as_of) == ("m1", "s1", "s1",
                                                                        "2024-03-01")
    text = render_explanation(r)
    assert "served 2023-11-14 22:13:20 UTC on business_assistant at rank 2" in text
    assert "because limited by budget on 5 of the last 7 days" in text


def test_the_brief_ranks_greedily_and_changes_nothing_else():
    policy = PolicyConfig()
    g = greedy(policy, BRIEF_SURFACE)
    assert g.surface(BRIEF_SURFACE).temperature == 0
    assert g.surface(BRIEF_SURFACE).exploration_floor == 0
    want = policy.surface(BRIEF_SURFACE).model_dump(exclude={"temperature",
                                                             "exploration_floor"})
    assert g.surface(BRIEF_SURFACE).model_dump(exclude={"temperature",
                                                        "exploration_floor"}) == want
    for other in ("ads_manager", "notification", "sales_workflow"):
        assert g.surface(other) == policy.surface(other)
    assert policy.surface(BRIEF_SURFACE).temperature > 0  # the served policy is untouched


def test_a_brief_previews_recommendations_without_ids():
    item = BriefItem(signal="roas_28d", level="campaign", campaign_id=40, value=2.5, unit="ratio",
                     past_value=None, own_change=None, peer_share=0.9, peer_z=1.28, own_z=None,
                     unusualness=1.28, score=2.56, sentence="returns 2.5× its spend",
                     line="Campaign 40: returns 2.5× its spend → budget.", bears_on=(
                         "budget_raise",), categories=("budget",))
    b = Brief(4, "2024-03-01", "guided", (item,), 8)
    r = convert.brief_response(b, "s1", _slate([_item([("roas_28d", "returns 2.5× its spend")])],
                                               degraded="ranker unavailable (X)"), "m1")
    assert (r.advertiser_id, r.as_of, r.snapshot, r.words, r.model_version) == (
        4, "2024-03-01", "s1", 8, "m1")
    got = r.items[0]
    assert (got.signal, got.level, got.campaign_id, got.value, got.unit, got.score) == (
        "roas_28d", "campaign", 40, 2.5, "ratio", 2.56)
    assert not got.HasField("past_value") and not got.HasField("own_z")
    assert got.HasField("peer_z") and got.peer_z == 1.28
    assert list(got.bears_on) == ["budget_raise"] and list(got.categories) == ["budget"]
    rec = r.recommendations[0]
    assert rec.recommendation_id == "" and rec.propensity == 0 and rec.title == "Raise your budget"
    assert r.guidance_score == 12.5 and r.degraded and r.degraded_reason.startswith("ranker")
    assert r.text.splitlines() == [
        "Advertiser 4 as of 2024-03-01: 1 signal that matters now.",
        "Guidance score 12 of 100.",
        "Top recommendations: 1. Raise your budget (campaign 40).",
        "1. Campaign 40: returns 2.5× its spend → budget."]
