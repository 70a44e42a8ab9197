"""Each rule of the world's ground truth, checked on hand-set campaigns."""

import datetime as dt

import numpy as np
import pytest

from pipelines.world import oracle, performance, population
from pipelines.world.effects import AccountFlags
from pipelines.world.simulate import world_spec
from pipelines.domain.vocabulary import SURFACES
from pipelines.domain.actions import ACTION_INDEX

SEED = 7


@pytest.fixture(scope="module")
def spec():
    return world_spec(SEED, dt.date(2025, 9, 22), 30)


def campaign(**overrides):
    """One active, manual-bid search campaign with set levers; overrides replace fields."""
    adv = population.advertisers(SEED, np.arange(1))
    cs = population.campaigns(SEED, adv).take(np.array([0]))
    cs.active[:] = True
    cs.channel[:] = 0
    cs.auto[:] = False
    cs.tracking[:] = 1
    cs.creative_age[:] = 10
    cs.creative_count[:] = 2
    cs.breadth[:] = 0.5
    cs.budget[:] = 100.0
    cs.conv30[:] = 20.0
    cs.demand_base[:] = 100.0 / 0.5**0.6  # unconstrained demand = budget at normal demand
    cs.spend_ref[:] = 100.0
    for k, v in overrides.items():
        getattr(cs, k)[:] = v
    return cs


def effect(spec, cs, action, param=0.0, match=True, strength=1.0, payment=False):
    acct = AccountFlags(np.array([payment]), np.array([False]))
    out = oracle.expected_effect(cs, acct, np.array([ACTION_INDEX[action]]), np.array([param]),
                                 np.array([match]), np.array([strength]), np.array([100.0]),
                                 spec.market, day=5)
    return {k: float(v[0]) for k, v in out.items()}


def test_budget_raise_helps_only_budget_limited_campaigns(spec):
    limited = campaign(demand_base=400.0 / 0.5**0.6)  # demand 4 × the budget
    unlimited = campaign(demand_base=25.0 / 0.5**0.6)  # demand a quarter of the budget
    gain_limited = effect(spec, limited, "budget_raise", 20)["delta_conversions"]
    gain_unlimited = effect(spec, unlimited, "budget_raise", 20)["delta_conversions"]
    assert gain_limited > 0.1 * effect(spec, limited, "budget_raise", 20)["base_conversions"]
    assert abs(gain_unlimited) < 1e-3 * max(gain_limited, 1e-9) + 1e-6


def test_budget_returns_diminish(spec):
    limited = campaign(demand_base=1000.0 / 0.5**0.6)
    base = effect(spec, limited, "budget_raise", 10)["base_conversions"]
    g10 = effect(spec, limited, "budget_raise", 10)["delta_conversions"]
    g50 = effect(spec, limited, "budget_raise", 50)["delta_conversions"]
    # conversions ∝ spend^β: +50 % budget gives (1.5^β - 1), less than 5 × the +10 % gain
    assert g50 < 5 * g10
    assert g50 / base == pytest.approx(1.5**performance.BETA - 1, rel=0.05)


def test_creative_fatigue_and_refresh(spec):
    ages = np.array([0, 7, 14, 28, 56])
    mult = performance.fatigue_multiplier(ages, np.ones(5))
    assert np.all(np.diff(mult) < 0) and mult[0] == 1.0
    assert 0.55 < performance.fatigue_multiplier(np.array([21]), np.array([1]))[0] < 0.8
    fresh = effect(spec, campaign(creative_age=0), "creative_refresh")["delta_conversions"]
    stale = effect(spec, campaign(creative_age=45), "creative_refresh")["delta_conversions"]
    assert stale > 0 and fresh == pytest.approx(0.0, abs=1e-9)
    # more creatives in rotation fade more slowly
    assert (performance.fatigue_multiplier(np.array([21]), np.array([4]))[0]
            > performance.fatigue_multiplier(np.array([21]), np.array([1]))[0])


def test_automatic_bidding_needs_conversions(spec):
    few = effect(spec, campaign(conv30=4.0), "bid_switch_auto")["delta_conversions"]
    many = effect(spec, campaign(conv30=80.0), "bid_switch_auto")["delta_conversions"]
    assert few < 0 < many
    no_tracking = effect(spec, campaign(conv30=80.0, tracking=0), "bid_switch_auto")
    assert no_tracking["delta_conversions"] < 0  # bidding blind


def test_broad_targeting_helps_narrow_campaigns_with_headroom(spec):
    headroom = campaign(breadth=0.2, demand_base=30.0 / 0.2**0.6)
    no_headroom = campaign(breadth=0.2, demand_base=500.0 / 0.2**0.6)
    wide = campaign(breadth=0.85, demand_base=30.0 / 0.85**0.6)
    g_head = effect(spec, headroom, "targeting_broaden")["delta_conversions"]
    g_none = effect(spec, no_headroom, "targeting_broaden")["delta_conversions"]
    g_wide = effect(spec, wide, "targeting_broaden")["delta_conversions"]
    assert g_head > 0
    assert g_none <= 0  # spend is capped by the budget and the broader audience converts worse
    assert g_head > g_wide


def test_keywords_help_when_they_match_the_vertical_and_trend(spec):
    cs = campaign(demand_base=30.0 / 0.5**0.6)
    match = effect(spec, cs, "keyword_add", match=True, strength=1.0)["delta_conversions"]
    trending = effect(spec, cs, "keyword_add", match=True, strength=3.0)["delta_conversions"]
    off = effect(spec, cs, "keyword_add", match=False, strength=3.0)["delta_conversions"]
    assert trending > match > 0 > off


def test_keyword_effects_saturate(spec):
    first = effect(spec, campaign(demand_base=30.0 / 0.5**0.6), "keyword_add")["delta_conversions"]
    tenth = effect(spec, campaign(demand_base=30.0 / 0.5**0.6, kw_added=9),
                   "keyword_add")["delta_conversions"]
    assert 0 < tenth < 0.6 * first


def test_fixing_payment_restores_delivery(spec):
    cs = campaign()
    fixed = effect(spec, cs, "hygiene_fix_payment", payment=True)
    assert fixed["base_conversions"] == 0 and fixed["delta_conversions"] > 0


def _probs(**kw):
    args = dict(surface=np.array([0]), position=np.array([1]), taste=np.array([0.0]),
                trust=np.array([0.0]), patience=np.array([1.0]), cost_aversion=np.array([1.0]),
                effort=np.array([0.3]), rel_profit=np.array([0.2]), cost_share=np.array([0.0]),
                nag=np.array([0.0]))
    args.update({k: np.array([v]) for k, v in kw.items()})
    return oracle.response_probabilities(**args)[0]


def test_response_probabilities_are_distributions():
    p = _probs()
    assert p.shape == (4,) and np.all(p >= 0) and p.sum() == pytest.approx(1.0)


def test_nagging_lowers_adoption_and_raises_dismissal():
    fresh, nagged = _probs(nag=0), _probs(nag=4)
    assert nagged[0] < 0.7 * fresh[0]
    assert nagged[1] > fresh[1]


def test_position_and_surface_matter():
    adopt = [_probs(position=k)[0] for k in (1, 2, 3)]
    assert adopt[0] > adopt[1] > adopt[2]
    assert 1.4 < adopt[0] / adopt[1] < 2.2
    by_surface = {s: _probs(surface=i)[0] for i, s in enumerate(SURFACES)}
    assert by_surface["sales_workflow"] > by_surface["ads_manager"] > by_surface["notification"]


def test_a_probability_restated_for_position_1_is_the_one_at_position_1():
    for surface in range(len(SURFACES)):
        at = {k: _probs(surface=surface, position=k)[0] for k in (1, 2, 3)}
        restated = oracle.if_shown_first(np.array([at[1], at[2], at[3]]),
                                         np.full(3, surface), np.array([1, 2, 3]))
        np.testing.assert_allclose(restated, at[1])


def test_value_taste_trust_and_patience_move_adoption():
    base = _probs()[0]
    assert _probs(rel_profit=1.0)[0] > base > _probs(rel_profit=-0.5)[0]
    assert _probs(taste=1.0)[0] > base > _probs(taste=-1.0)[0]
    assert _probs(trust=1.0)[0] > base
    assert _probs(patience=0.2)[0] < base
    assert _probs(cost_share=1.0, cost_aversion=2.0)[0] < base
