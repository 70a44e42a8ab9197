"""Reasons argue for their action, and an empty slate says why, over the fixture's small world:
every impression the world's logging served (the snapshot's examples, each row holding every
signal as of its day) and every slate the service gives every advertiser on every surface.

A reason contradicts its action when AGAINST, stated here apart from the product's table in
pipelines.candidates.reasons, says its value argues against the action; a reason on a signal
AGAINST does not cover counts as a contradiction too, so a fact the product adds must be judged
here before it may be shown. The product's thresholds say where a fact starts to argue for an
action; AGAINST says where it clearly argues against, with a grey zone between them.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pyarrow.dataset as pads
import pytest

from pipelines.candidates.reasons import reasons
from pipelines.domain.vocabulary import SURFACES
from pipelines.storage.root import Root
from serving.config import ServeConfig
from serving.engine import EMPTY_REASONS
from serving.service import GuidanceService

_CREATIVE = {"creative_fatigue": lambda v: v < 0.1,  # under a tenth of clicks lost
             "ctr_trend_14d": lambda v: v > 0,  # CTR rising
             "ctr_vs_vertical_7d": lambda v: v > 1.0}  # CTR above its vertical's
_REACH = {"targeting_breadth": lambda v: v > 0.7,  # already broad
          "budget_utilisation_7d": lambda v: v > 0.95,  # no budget left for more reach
          "market_demand_trend_14d": lambda v: v < 0}  # demand falling
_PRODUCTS = {"roas_28d": lambda v: v < 1, "has_product_catalog": lambda v: not v,
             "budget_utilisation_7d": lambda v: v > 0.95}
_MANUAL = {"bid_automatic": lambda v: not v}
# (action type → signal → the values that argue against the action)
AGAINST = {
    "budget_raise": {"budget_limited_days_7d": lambda v: v == 0,
                     "budget_utilisation_7d": lambda v: v < 0.5, "roas_28d": lambda v: v < 1,
                     "budget_exhausted_hour_7d": lambda v: v > 23},
    "budget_seasonal_boost": {"budget_limited_days_7d": lambda v: v == 0,
                              "market_demand_trend_14d": lambda v: v < 0,
                              "market_demand_index": lambda v: v < 1.0},
    "budget_lower": {"roas_28d": lambda v: v > 2, "cvr_vs_vertical_28d": lambda v: v > 1.2,
                     "cpc_vs_vertical_7d": lambda v: v < 0.8},
    "bid_switch_auto": {"conversions_30d": lambda v: v < 15, "bid_automatic": lambda v: bool(v),
                        "conversion_tracking": lambda v: v == "none"},
    "bid_target_cpa": {"conversions_30d": lambda v: v < 15, **_MANUAL,
                       "conversion_tracking": lambda v: v == "none"},
    "bid_target_roas": {"conversions_30d": lambda v: v < 30, **_MANUAL,
                        "conversion_tracking": lambda v: v == "none"},
    "bid_raise_manual": {"budget_utilisation_7d": lambda v: v > 0.95, "roas_28d": lambda v: v < 1,
                         "bid_automatic": lambda v: bool(v)},
    "creative_refresh": {**_CREATIVE, "creative_age_days": lambda v: v < 7},
    "creative_add_variants": {**_CREATIVE, "creative_count": lambda v: v >= 5},
    "creative_responsive_ads": {**_CREATIVE, "creative_count": lambda v: v >= 5},
    "creative_add_video": _CREATIVE,
    "creative_add_extensions": _CREATIVE,
    "targeting_broaden": _REACH,
    "targeting_expand_geo": _REACH,
    "targeting_lookalike": _REACH,
    "targeting_remarketing": {"cvr_vs_vertical_28d": lambda v: v > 1.0},
    "keyword_add": _REACH,
    "keyword_broad_match": {**_REACH, **_MANUAL},
    "keyword_add_negatives": {"cvr_vs_vertical_28d": lambda v: v > 1.0,
                              "roas_28d": lambda v: v > 2},
    "keyword_remove_low_quality": {"ctr_vs_vertical_7d": lambda v: v > 1.0,
                                   "cpc_vs_vertical_7d": lambda v: v < 1.0},
    "interest_add": _REACH,
    "interest_advantage_audience": {**_REACH, **_MANUAL},
    "product_promote": _PRODUCTS,
    "product_shopping_campaign": _PRODUCTS,
    "product_feed_fix": {"feed_errors_7d": lambda v: v == 0},
    "tracking_install_pixel": {"conversion_tracking": lambda v: v != "none", **_MANUAL},
    "tracking_enable_capi": {"conversion_tracking": lambda v: v != "pixel", **_MANUAL},
    "tracking_enhanced_conversions": {"conversion_tracking": lambda v: v == "none", **_MANUAL},
    "hygiene_fix_payment": {"payment_errors_7d": lambda v: v == 0,
                            "days_since_live": lambda v: v == 0, "spend_7d": lambda v: v > 0},
    "hygiene_fix_disapproved": {"disapproved_share": lambda v: v == 0,
                                "disapproval_errors_7d": lambda v: v == 0},
    "hygiene_pause_underperforming": {"roas_28d": lambda v: v > 2,
                                      "cvr_vs_vertical_28d": lambda v: v > 1.2,
                                      "cpc_vs_vertical_7d": lambda v: v < 0.8},
    "hygiene_resume_paused": {"days_since_live": lambda v: v == 0, "live_days_7d": lambda v: v >= 1,
                              "roas_28d": lambda v: v < 1,
                              "cvr_vs_vertical_28d": lambda v: v < 0.8},
}


def contradictions(action_type: str, given: list[tuple[str, str]], values: dict) -> list[str]:
    """The reasons in `given` that AGAINST says argue against `action_type` (or does not cover)."""
    against = AGAINST[action_type]
    return [f"{action_type}: {s} = {values[s]!r}" for s, _ in given
            if s not in against or against[s](values[s])]


def test_no_logged_impression_gets_a_reason_against_its_action(served_root):
    root = Root(served_root)
    examples = pads.dataset(root.join("snapshots", "s1", "examples"), filesystem=root.fs,
                            format="parquet", partitioning="hive").to_table().to_pandas()
    bad, unsupported, shown = [], 0, Counter()
    for row in examples.to_dict("records"):
        given = reasons(row["action_type"], row["action_category"], row)
        bad += contradictions(row["action_type"], given, row)
        unsupported += not given
        shown.update(s for s, _ in given)
    n = len(examples)
    print(f"\nlogged impressions: {len(bad)} contradicting reasons of {n} items "
          f"({sum(shown.values())} reasons); {unsupported} items ({unsupported / n:.0%}) with no "
          f"supporting signal")
    assert n > 1000 and bad == [], bad[:10]
    # the table is not empty in practice: most items have a reason, from many signals
    assert unsupported < 0.5 * n and len(shown) >= 15


@pytest.fixture(scope="module")
def served(served_root, tmp_path_factory):
    """Two rounds of slates, at one instant, for every advertiser on every surface, from the
    service's own planning, scoring and logging (its log apart from the other tests')."""
    log = tmp_path_factory.mktemp("reasons") / "log.db"
    service = GuidanceService(ServeConfig(root=served_root, feedback_log=f"sqlite:///{log}"))
    service.load()
    service.rng = np.random.default_rng(7)
    state = service.state
    now = state.data.now_ms(3600.0)
    ids = state.data.advertiser_ids.tolist()

    async def serve() -> list[tuple[int, str, int, dict]]:
        out = []
        for rnd in (1, 2):  # the second round meets the first one's impressions and caps
            for surface in SURFACES:
                for a in ids:
                    plan = state.engine.plan(a, 0, surface, 0, now)
                    result, _ = await service._slate(state, plan)
                    out.append((rnd, surface, a, result))
        return out

    return state, asyncio.run(serve())


def test_no_served_item_gets_a_reason_against_its_action(served):
    state, slates = served
    d = state.data
    row_of = {c: r for r, c in enumerate(d.campaign_ids.tolist())}
    bad, n, unsupported = [], 0, 0
    for _, _, a, result in slates:
        adv = d.advertiser_signals(d.advertiser_row(a))
        for item in result["items"]:
            values = {**adv, **d.campaign_signals(row_of[item["campaign_id"]])}
            bad += contradictions(item["action_type"], item["reasons"], values)
            assert item["no_supporting_signal"] == (item["reasons"] == [])
            assert item["reasons"] == reasons(item["action_type"], item["category"], values)
            n += 1
            unsupported += item["no_supporting_signal"]
    print(f"\nserved items: {len(bad)} contradicting reasons of {n} items; {unsupported} items "
          f"({unsupported / n:.0%}) with no supporting signal")
    assert n > 1000 and bad == [], bad[:10]


def test_every_empty_slate_says_why(served):
    state, slates = served
    breakdown: Counter = Counter()
    per_surface: Counter = Counter()
    for rnd, surface, _, result in slates:
        per_surface[rnd, surface] += 1
        if result["items"]:
            assert (result["empty_reason"], result["empty_detail"], result["empty_message"]) == (
                "", "", "")
            continue
        assert result["empty_reason"] in EMPTY_REASONS and result["empty_message"]
        assert bool(result["empty_detail"]) == (result["empty_reason"] == "all_filtered")
        breakdown[rnd, surface, result["empty_reason"], result["empty_detail"]] += 1
    print("\nempty slates (round, surface, reason, detail: count of slates):")
    for (rnd, surface), total in sorted(per_surface.items()):
        empty = {k[2:]: v for k, v in breakdown.items() if k[:2] == (rnd, surface)}
        share = sum(empty.values()) / total
        print(f"  round {rnd} {surface}: {share:.0%} of {total} empty", dict(sorted(empty.items())))

    # exact expectations from the world's accounts and the first round
    d = state.data
    opted_out = sum(not d.advertiser_signals(r)["notifications_opt_in"]
                    for r in range(len(d.advertiser_ids)))
    for rnd in (1, 2):
        assert breakdown[rnd, "notification", "opted_out", ""] == opted_out
        assert not any(k[2] == "opted_out" for k in breakdown if k[1] != "notification")
    first_notified = sum(1 for rnd, s, _, r in slates
                         if (rnd, s) == (1, "notification") and r["items"])
    assert first_notified > 0  # the cap of one notification a day is met in the second round
    assert breakdown[2, "notification", "daily_cap_reached", ""] == first_notified
    assert breakdown[1, "ads_manager", "daily_cap_reached", ""] == 0  # a fresh day
    assert sum(v for k, v in breakdown.items() if k[2] == "all_filtered") > 0
