"""Reasons argue for their action, and an empty slate says why: the declared support table, its
predicate and ordering, the engine's marker for an item nothing supports, and the empty reasons
on hand-built plans."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest

from pipelines.candidates.reasons import (
    SUPPORT_BY_ACTION, SUPPORT_BY_CATEGORY, reasons, strength, support_rules, supports,
)
from pipelines.context.registry import SIGNALS_BY_NAME
from pipelines.domain.actions import ACTION_TYPES, CATEGORY_OF
from pipelines.domain.vocabulary import CATEGORIES, TRACKING_LEVELS
from pipelines.errors import DataError
from pipelines.policy.config import PolicyConfig
from serving.engine import EMPTY_REASONS, Engine, Plan, empty_reason

# The demo's first Ads Manager item: "Refresh your ad creatives" for creatives 3 days old.
DEMO_CREATIVE = {"creative_age_days": 3.0, "creative_fatigue": 0.07, "ctr_trend_14d": 0.27,
                 "creative_count": 3.0, "ctr_vs_vertical_7d": 0.95}
_RULES = sorted({(a, r) for a, rules in SUPPORT_BY_ACTION.items() for r in rules}
                | {(c, r) for c, rules in SUPPORT_BY_CATEGORY.items() for r in rules},
                key=lambda x: (x[0], x[1].signal))


def test_every_action_has_declared_facts_of_the_right_kind():
    assert set(SUPPORT_BY_CATEGORY) == set(CATEGORIES)
    assert set(SUPPORT_BY_ACTION) <= set(CATEGORY_OF)
    for a in ACTION_TYPES:
        rules = support_rules(a.name, a.category)
        assert rules, a.name
        assert len({r.signal for r in rules}) == len(rules), a.name  # one fact per signal
    for _, r in _RULES:
        kind = SIGNALS_BY_NAME[r.signal].kind
        if r.kind == "is":
            assert kind in ("bool", "category") and r.values and r.weight > 0, r
            if r.signal == "conversion_tracking":
                assert set(r.values) <= set(TRACKING_LEVELS)
        else:
            assert r.kind in ("at_least", "at_most") and kind in ("int", "float"), r
            assert r.scale > 0 and math.isfinite(r.threshold), r


# (action, signal, value, supports?): each direction at, past and short of its threshold.
CASES = [
    ("creative_refresh", "creative_age_days", 21, True),
    ("creative_refresh", "creative_age_days", 20, False),
    ("creative_refresh", "creative_age_days", 3, False),
    ("creative_refresh", "creative_fatigue", 0.2, True),
    ("creative_refresh", "creative_fatigue", 0.07, False),
    ("creative_refresh", "ctr_trend_14d", -0.05, True),
    ("creative_refresh", "ctr_trend_14d", -0.04, False),
    ("creative_refresh", "ctr_trend_14d", 0.27, False),
    ("creative_refresh", "creative_count", 1, False),  # not a fact about refreshing
    ("creative_add_variants", "creative_count", 2, True),
    ("creative_add_variants", "creative_count", 3, False),
    ("budget_raise", "budget_limited_days_7d", 2, True),
    ("budget_raise", "budget_limited_days_7d", 1, False),
    ("budget_raise", "budget_utilisation_7d", 0.95, True),
    ("budget_raise", "budget_utilisation_7d", 0.5, False),
    ("budget_raise", "budget_exhausted_hour_7d", 14.0, True),
    ("budget_raise", "budget_exhausted_hour_7d", 22.0, False),
    ("budget_raise", "roas_28d", 0.8, False),
    ("budget_lower", "roas_28d", 0.8, True),
    ("budget_lower", "roas_28d", 3.0, False),
    ("targeting_broaden", "budget_utilisation_7d", 0.5, True),
    ("targeting_broaden", "budget_utilisation_7d", 0.95, False),
    ("targeting_broaden", "targeting_breadth", 0.2, True),
    ("targeting_broaden", "targeting_breadth", 0.8, False),
    ("bid_switch_auto", "conversions_30d", 45, True),
    ("bid_switch_auto", "conversions_30d", 5, False),
    ("bid_switch_auto", "bid_automatic", False, True),
    ("bid_switch_auto", "bid_automatic", True, False),
    ("bid_switch_auto", "bid_automatic", 0.0, True),  # a state column's 0/1 reads as a bool
    ("tracking_install_pixel", "conversion_tracking", "none", True),
    ("tracking_install_pixel", "conversion_tracking", "pixel", False),
    ("tracking_enable_capi", "conversion_tracking", "pixel", True),
    ("tracking_enable_capi", "conversion_tracking", "pixel_and_server", False),
    ("hygiene_fix_payment", "payment_errors_7d", 1, True),
    ("hygiene_fix_payment", "payment_errors_7d", 0, False),
    ("hygiene_fix_disapproved", "disapproved_share", 0.0, False),
    ("hygiene_fix_disapproved", "disapproved_share", 0.2, True),
    ("hygiene_pause_underperforming", "roas_28d", 0.3, True),
    ("hygiene_pause_underperforming", "roas_28d", 4.0, False),
    ("hygiene_resume_paused", "roas_28d", 4.0, True),
    ("keyword_add", "vertical", "retail", False),  # a signal the action does not declare
]


@pytest.mark.parametrize("action, signal, value, expected", CASES)
def test_supports_in_each_direction(action, signal, value, expected):
    assert supports(action, CATEGORY_OF[action], signal, value) is expected


def test_an_action_without_its_own_list_takes_its_category_s():
    assert "creative_add_video" not in SUPPORT_BY_ACTION
    assert supports("creative_add_video", "creative", "creative_fatigue", 0.4)
    assert supports("some_new_action", "budget", "budget_limited_days_7d", 5)
    assert not supports("some_new_action", "no_such_category", "budget_limited_days_7d", 5)


@pytest.mark.parametrize("missing", [None, math.nan, np.nan, np.float32("nan"), pd.NA])
def test_an_unknown_value_never_supports(missing):
    for owner, r in _RULES:
        category = owner if owner in SUPPORT_BY_CATEGORY else CATEGORY_OF[owner]
        assert not supports(owner, category, r.signal, missing), (owner, r.signal)
        assert strength(r, missing) == 0.0


def test_a_number_fact_refuses_a_value_that_is_not_a_number():
    with pytest.raises(DataError, match="signal creative_age_days: expected a number"):
        supports("creative_refresh", "creative", "creative_age_days", "old")


def test_the_demo_s_creative_item_gets_no_contradicting_reason():
    assert reasons("creative_refresh", "creative", DEMO_CREATIVE) == []
    stale = {**DEMO_CREATIVE, "creative_age_days": 49.0, "creative_fatigue": 0.45,
             "ctr_trend_14d": -0.2}
    got = reasons("creative_refresh", "creative", stale)
    # strengths 3.5, 3.0 and 2.5 (see the closed form below)
    assert [s for s, _ in got] == ["creative_fatigue", "creative_age_days", "ctr_trend_14d"]
    assert got[1][1] == "creatives last refreshed 49 days ago: they are going stale"


def test_reasons_come_strongest_first_and_at_most_limit():
    # strength = 1 + distance past the threshold / scale (closed form)
    values = {"creative_age_days": 49.0,   # 1 + 28 / 14 = 3.0
              "creative_fatigue": 0.35,    # 1 + 0.15 / 0.1 = 2.5
              "ctr_trend_14d": -0.45,      # 1 + 0.40 / 0.1 = 5.0
              "ctr_vs_vertical_7d": 0.6}   # 1 + 0.10 / 0.2 = 1.5
    rules = {r.signal: r for r in support_rules("creative_refresh", "creative")}
    assert [strength(rules[s], v) for s, v in values.items()] == pytest.approx([3, 2.5, 5, 1.5])
    order = ["ctr_trend_14d", "creative_age_days", "creative_fatigue", "ctr_vs_vertical_7d"]
    assert [s for s, _ in reasons("creative_refresh", "creative", values, limit=4)] == order
    assert [s for s, _ in reasons("creative_refresh", "creative", values, limit=2)] == order[:2]
    assert reasons("creative_refresh", "creative", values, limit=0) == []


def test_every_reason_is_a_supporting_fact_on_random_accounts():
    rng = np.random.default_rng(3)
    for _ in range(300):
        values = {"creative_age_days": rng.integers(0, 90), "creative_fatigue": rng.random(),
                  "ctr_trend_14d": rng.normal(0, 0.2), "budget_limited_days_7d": rng.integers(8),
                  "budget_utilisation_7d": rng.random(), "roas_28d": rng.lognormal(0, 1),
                  "targeting_breadth": rng.random(), "conversions_30d": rng.integers(0, 80),
                  "bid_automatic": bool(rng.random() < 0.5),
                  "conversion_tracking": rng.choice(TRACKING_LEVELS)}
        for a in ACTION_TYPES:
            for signal, sentence in reasons(a.name, a.category, values, limit=10):
                assert supports(a.name, a.category, signal, values[signal]), (a.name, signal)
                assert sentence == SIGNALS_BY_NAME[signal].explain(values[signal])


# -- the engine --------------------------------------------------------------------------------

def _plan(n: int = 0, surface: str = "business_assistant", k: int = 3, **kw) -> Plan:
    z = np.zeros(n)
    return Plan(advertiser_id=1, surface=surface, k=k, now_ms=0, camp_row=z.astype(int),
                campaign_id=np.arange(1, n + 1), item_id=np.arange(n), catalog_row=np.arange(n),
                action_type=np.full(n, "creative_refresh"), category=np.full(n, "creative"),
                retrieval_sim=np.full(n, np.nan), features={}, captured=0.0, **kw)


POLICY = PolicyConfig()
EMPTY_CASES = [
    (dict(surface="notification", k=0, opted_out=True), "opted_out", ""),
    (dict(surface="notification", k=0, opted_out=True, blocked={"dismissed": 2}), "opted_out", ""),
    (dict(k=0, blocked={"recently_shown": 4}), "daily_cap_reached", ""),
    (dict(), "nothing_applies", ""),
    (dict(blocked={"campaign_paused": 3}), "nothing_applies", ""),
    (dict(blocked={"recently_shown": 3, "dismissed": 1, "campaign_paused": 5}), "all_filtered",
     "recently_shown"),
    (dict(blocked={"snoozed": 2, "dismissed": 2}), "all_filtered", "dismissed"),  # tie: earliest
    (dict(blocked={"one_shot_done": 1}), "all_filtered", "one_shot_done"),
]


@pytest.mark.parametrize("plan, reason, detail", EMPTY_CASES)
def test_an_empty_plan_says_why(plan, reason, detail):
    got, got_detail, message = empty_reason(_plan(**plan), POLICY)
    assert (got, got_detail) == (reason, detail) and got in EMPTY_REASONS and message


def test_the_empty_messages_give_their_numbers():
    _, _, cap = empty_reason(_plan(k=0), POLICY)
    assert "its 9 items for today in the business assistant" in cap
    _, _, hidden = empty_reason(_plan(blocked={"recently_shown": 3, "dismissed": 1}), POLICY)
    assert "3 of 4 items were shown in the last 3 days" in hidden


def test_an_empty_slate_from_eligible_candidates_is_a_bug_not_a_reason():
    with pytest.raises(ValueError, match="from 2 eligible candidates and 3 slots"):
        empty_reason(_plan(2), POLICY)


def _engine(campaign: dict, opt_in: bool = True) -> Engine:
    catalog = {"title": np.array(["Refresh your ad creatives"] * 2, object),
               "description": np.array([""] * 2, object), "param_pct": np.full(2, np.nan),
               "entity_kind": np.array([None] * 2, object)}
    data = types.SimpleNamespace(
        catalog=catalog, advertiser_row=lambda a: 0, campaign_signals=lambda r: campaign,
        advertiser_signals=lambda r: {"advertiser_id": 1, "notifications_opt_in": opt_in})
    return Engine(data, retriever=None, policy=POLICY, log=None, model_version="v1")


def _scores(n: int) -> dict:
    return {"p_adopt": np.full(n, 0.3), "p_dismiss": np.full(n, 0.1),
            "impact": np.tile([0.0, 1.0, 2.0], (n, 1))}


def test_the_engine_marks_an_item_nothing_supports_and_says_why_a_slate_is_empty():
    rng = np.random.default_rng(0)
    result, _, _ = _engine(DEMO_CREATIVE).slate(_plan(2), _scores(2), rng)
    assert [i["reasons"] for i in result["items"]] == [[], []]
    assert all(i["no_supporting_signal"] for i in result["items"])
    assert (result["empty_reason"], result["empty_detail"], result["empty_message"]) == ("", "", "")

    stale = {**DEMO_CREATIVE, "creative_age_days": 40.0, "creative_fatigue": 0.4}
    result, _, _ = _engine(stale).slate(_plan(1), _scores(1), rng)
    item = result["items"][0]
    assert [s for s, _ in item["reasons"]] == ["creative_fatigue", "creative_age_days"]
    assert not item["no_supporting_signal"]

    empty, impressions, _ = _engine(stale).slate(
        _plan(0, blocked={"snoozed": 1}), _scores(0), rng)
    assert empty["items"] == [] and impressions == []
    assert (empty["empty_reason"], empty["empty_detail"]) == ("all_filtered", "snoozed")
    assert empty["empty_message"].endswith("1 of 1 item was snoozed.")
