"""The account brief's pure core on hand-built signals: the peer reference against closed-form
shares, ranking by unusualness and ties, the word budget, campaign items, the baseline, and the
command's refusals."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from cli.main import app
from pipelines.brief import reference
from pipelines.brief.core import (AccountSignals, Brief, BriefConfig, action_matrix,
                                  available_actions, briefs, brief, extreme_signals_brief,
                                  render, unusual, words)
from pipelines.errors import DataError

AS_OF = dt.date(2025, 12, 1)
N = 100  # accounts (and campaigns) in the population
POINTS = 201
UNIFORM = np.linspace(0.0, 1.0, N)  # a population whose shares are easy to know


def population() -> tuple[pd.DataFrame, pd.DataFrame]:
    """100 accounts with one campaign each; every numeric signal used here spread evenly over
    [0, 1] (payment errors: 95 zeros and 5 ones; spend: a heavy tail)."""
    adv = pd.DataFrame({
        "advertiser_id": np.arange(N),
        "payment_errors_7d": np.r_[np.zeros(95), np.ones(5)],
        "account_spend_28d": 10.0 ** np.linspace(1, 4, N),
        "sessions_7d": UNIFORM * 20,
    })
    camp = pd.DataFrame({
        "advertiser_id": np.arange(N), "campaign_id": 1000 + np.arange(N),
        "creative_fatigue": UNIFORM, "budget_utilisation_7d": UNIFORM,
        "targeting_breadth": UNIFORM, "ctr_trend_14d": UNIFORM - 0.5,
    })
    return adv, camp


@pytest.fixture(scope="module")
def ref() -> reference.Reference:
    adv, camp = population()
    return reference.build(adv, camp, POINTS, min_peers=20)


def account(adv: dict, camps: list[dict], adv_past: dict | None = None,
            camps_past: list[dict] | None = None) -> AccountSignals:
    """The signals of advertiser 7 now and 28 days earlier (past: all unknown unless given)."""
    a = pd.DataFrame([{"advertiser_id": 7, **adv}])
    c = pd.DataFrame([{"advertiser_id": 7, **x} for x in camps])
    ap = pd.DataFrame([{"advertiser_id": 7, **(adv_past or {})}])
    cp = (pd.DataFrame([{"advertiser_id": 7, **x} for x in camps_past]) if camps_past
          else c[["advertiser_id", "campaign_id"]])
    return AccountSignals(a, ap, c, cp)


def fatigue_refresh(action_type, category, signal, value) -> bool:
    """A hand rule: creative fatigue of 20 % or more argues for refreshing creatives."""
    return action_type == "creative_refresh" and signal == "creative_fatigue" and value >= 0.2


def never(*_) -> bool:
    return False


ONE_CAMPAIGN = action_matrix([["creative_refresh", "budget_raise"]])
CFG = BriefConfig(min_unusualness=1.0)


# ------------------------------------------------------------------------------- reference

def test_mostly_zero_signal_gets_mid_ranks():
    """95 % zeros: a zero sits at the 47.5th percentile (not unusual), a one at 97.5th."""
    adv, camp = population()
    ref = reference.build(adv, camp, POINTS)
    share, z = ref.scores("payment_errors_7d", [0, 1])
    # grid point k (k/200 of the population) is 0 for k <= 190: 191 of 201 points
    assert share[0] == pytest.approx(191 / 2 / POINTS)
    assert share[1] == pytest.approx((191 + 10 / 2) / POINTS)
    assert z == pytest.approx(norm.ppf(share))
    assert abs(z[0]) < 0.07 and z[1] > 1.9


def test_heavy_tails_are_bounded_and_nan_stays_nan(ref):
    share, z = ref.scores("account_spend_28d", [1e4, 1e9, np.nan, 10.0, -5.0])
    # the largest of 100 values holds 2 of the 201 grid points: a mid-rank share of 200 / 201
    top = norm.ppf(200 / POINTS)
    assert z[0] == pytest.approx(top) and z[1] == pytest.approx(top)  # 1e9 is no more unusual
    assert z[4] == pytest.approx(z[3]) and z[3] < -2  # below the least: as unusual as it
    assert np.isnan(share[2]) and np.isnan(z[2])
    bound = norm.ppf(1 - 0.5 / POINTS)  # the bound of any reference of 201 points
    assert -bound < z[3] and top < bound


def test_uniform_population_gives_its_quantile(ref):
    share, _ = ref.scores("creative_fatigue", [0.25, 0.5, 0.75])
    assert share == pytest.approx([0.25, 0.5, 0.75], abs=0.01)


def test_signal_with_too_few_peers_has_no_reference():
    adv, camp = population()
    ref = reference.build(adv.head(10), camp, POINTS, min_peers=20)
    assert "payment_errors_7d" not in ref.values and "creative_fatigue" in ref.values
    share, z = ref.scores("payment_errors_7d", [3.0])
    assert np.isnan(share[0]) and np.isnan(z[0])


def test_reference_round_trips_through_its_table(ref):
    back = reference.from_table(reference.to_table(ref))
    assert back.points == ref.points and list(back.values) == list(ref.values)
    for name in ref.values:
        np.testing.assert_array_equal(back.values[name], ref.values[name])
        np.testing.assert_array_equal(back.shares[name], ref.shares[name])


def test_reference_does_not_depend_on_row_order():
    adv, camp = population()
    rng = np.random.default_rng(0)
    a = reference.build(adv, camp)
    b = reference.build(adv.sample(frac=1, random_state=rng), camp.sample(frac=1,
                                                                          random_state=rng))
    for name in a.values:
        np.testing.assert_array_equal(a.values[name], b.values[name])


# ------------------------------------------------------------------------------- scores

def test_unusualness_adds_peer_and_own_past(ref):
    sig = account({"sessions_7d": 19.0}, [{"campaign_id": 1, "creative_fatigue": 0.5}],
                  {"sessions_7d": 10.0}, [{"campaign_id": 1, "creative_fatigue": 0.5}])
    u = unusual(sig, ref).set_index("signal")
    _, (z_now, z_past) = ref.scores("sessions_7d", [19.0, 10.0])
    assert u.loc["sessions_7d", "peer_z"] == pytest.approx(z_now)
    assert u.loc["sessions_7d", "own_z"] == pytest.approx(z_now - z_past)
    assert u.loc["sessions_7d", "unusualness"] == pytest.approx(np.hypot(z_now, z_now - z_past))
    # a median value that did not move is not unusual at all
    assert u.loc["creative_fatigue", "unusualness"] == pytest.approx(0.0, abs=0.02)


def test_nan_is_never_listed(ref):
    sig = account({"payment_errors_7d": np.nan, "sessions_7d": None},
                  [{"campaign_id": 1, "creative_fatigue": np.nan,
                    "budget_utilisation_7d": 0.99}])
    u = unusual(sig, ref)
    assert set(u.signal) == {"budget_utilisation_7d"}
    b = brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh, CFG)
    assert [it.signal for it in b.items] == ["budget_utilisation_7d"]
    assert b.items[0].past_value is None and b.items[0].own_z is None


# ------------------------------------------------------------------------------- ranking

def test_unusual_and_tied_outranks_more_unusual_untied(ref):
    # fatigue at 0.9 (tied: it argues for the available refresh) against utilisation at 0.99
    sig = account({}, [{"campaign_id": 1, "creative_fatigue": 0.9,
                        "budget_utilisation_7d": 0.99}])
    b = brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh, CFG)
    assert [it.signal for it in b.items] == ["creative_fatigue", "budget_utilisation_7d"]
    tied, untied = b.items
    assert tied.unusualness < untied.unusualness
    assert tied.score == pytest.approx(2 * tied.unusualness)  # tie_weight 1
    assert untied.score == pytest.approx(untied.unusualness)
    assert tied.bears_on == ("creative_refresh",) and tied.categories == ("creative",)
    assert untied.bears_on == () and untied.categories == ()
    # without a tie weight the more unusual one leads
    flat = brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh,
                 CFG.model_copy(update={"tie_weight": 0.0}))
    assert [it.signal for it in flat.items] == ["budget_utilisation_7d", "creative_fatigue"]


def test_a_tie_needs_the_action_to_be_available(ref):
    sig = account({}, [{"campaign_id": 1, "creative_fatigue": 0.9}])
    b = brief(sig, ref, action_matrix([["budget_raise"]]), AS_OF, fatigue_refresh, CFG)
    assert b.items[0].bears_on == () and b.items[0].score == pytest.approx(
        b.items[0].unusualness)


def test_advertiser_signals_tie_to_any_campaigns_actions(ref):
    def errors_fix(action_type, category, signal, value):
        return signal == "payment_errors_7d" and value >= 1 and category == "account_hygiene"

    sig = account({"payment_errors_7d": 2}, [{"campaign_id": 1}, {"campaign_id": 2}])
    acts = action_matrix([["budget_raise"], ["hygiene_fix_payment"]])
    b = brief(sig, ref, acts, AS_OF, errors_fix, CFG)
    assert b.items[0].signal == "payment_errors_7d" and b.items[0].campaign_id is None
    assert b.items[0].bears_on == ("hygiene_fix_payment",)
    assert isinstance(b.items[0].value, int)


def test_campaign_items_name_the_campaign_and_each_signal_appears_once(ref):
    sig = account({}, [{"campaign_id": 1, "creative_fatigue": 0.95},
                       {"campaign_id": 2, "creative_fatigue": 0.99}])
    acts = action_matrix([["creative_refresh"], ["creative_refresh"]])
    b = brief(sig, ref, acts, AS_OF, fatigue_refresh, CFG)
    assert [(it.signal, it.campaign_id) for it in b.items] == [("creative_fatigue", 2)]
    assert b.items[0].line.startswith("Campaign 2: creative fatigue costs 99 % of clicks")


def test_the_word_budget_holds(ref):
    camps = [{"campaign_id": 1, "creative_fatigue": 0.99, "budget_utilisation_7d": 0.01,
              "targeting_breadth": 0.98, "ctr_trend_14d": -0.49}]
    sig = account({"sessions_7d": 20.0, "account_spend_28d": 1e5, "payment_errors_7d": 1},
                  camps)
    full = brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh, CFG)
    assert len(full.items) == 7
    for budget in (20, 30, 45, 60):
        b = brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh,
                  CFG.model_copy(update={"words": budget}))
        assert b.words == sum(words(it.line) for it in b.items) <= budget
        assert 0 < len(b.items) < len(full.items)
    # the budget counts the items; the header and guidance lines come on top
    text = render(full)
    assert sum(words(line) for line in text.splitlines()[1:]) == full.words + len(full.items)


def test_max_items_and_min_unusualness(ref):
    sig = account({"sessions_7d": 20.0, "account_spend_28d": 1e5},
                  [{"campaign_id": 1, "creative_fatigue": 0.99, "targeting_breadth": 0.55}])
    b = brief(sig, ref, ONE_CAMPAIGN, AS_OF, never, CFG.model_copy(update={"max_items": 2}))
    assert len(b.items) == 2
    b = brief(sig, ref, ONE_CAMPAIGN, AS_OF, never, CFG)
    assert "targeting_breadth" not in {it.signal for it in b.items}  # z ≈ 0.13


def test_baseline_ignores_ties_but_says_what_it_bears_on(ref):
    camps = [{"campaign_id": 1, "creative_fatigue": 0.93, "budget_utilisation_7d": 0.99,
              "targeting_breadth": 0.01, "ctr_trend_14d": 0.6}]
    sig = account({"sessions_7d": 20.0, "account_spend_28d": 1e5, "payment_errors_7d": 1},
                  camps)
    base = extreme_signals_brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh, CFG)
    guided = brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh, CFG)
    assert base.kind == "extreme" and len(base.items) == 5
    assert [it.score for it in base.items] == [it.unusualness for it in base.items]
    assert [it.unusualness for it in base.items] == sorted(
        (it.unusualness for it in base.items), reverse=True)
    assert "creative_fatigue" not in {it.signal for it in base.items}  # least unusual of six
    assert guided.items[0].signal == "creative_fatigue"
    # the same baseline whatever the tie rule says
    assert [it.signal for it in base.items] == [it.signal for it in extreme_signals_brief(
        sig, ref, ONE_CAMPAIGN, AS_OF, never, CFG).items]


def test_briefs_are_deterministic_and_one_per_account(ref):
    adv, camp = population()
    sig = AccountSignals(adv, adv.iloc[::-1].iloc[::-1], camp, camp)
    acts = action_matrix([["creative_refresh"]] * N)
    first = briefs(sig, ref, acts, AS_OF, fatigue_refresh, CFG)
    again = briefs(sig, ref, acts, AS_OF, fatigue_refresh, CFG)
    assert [b.to_dict() for b in first] == [b.to_dict() for b in again]
    assert [b.advertiser_id for b in first] == list(range(N))
    # one account alone gets the brief it gets among all
    one = AccountSignals(adv.iloc[[97]], adv.iloc[[97]], camp.iloc[[97]], camp.iloc[[97]])
    assert brief(one, ref, acts[[97]], AS_OF, fatigue_refresh, CFG) == first[97]


def test_to_dict_is_json_ready_with_the_callers_guidance(ref):
    import json

    sig = account({"sessions_7d": 20.0}, [{"campaign_id": 1, "creative_fatigue": 0.95}])
    recs = [{"title": "Refresh your ad creatives", "action_type": "creative_refresh",
             "campaign_id": 1}]
    b = brief(sig, ref, ONE_CAMPAIGN, AS_OF, fatigue_refresh, CFG, guidance_score=62.4,
              recommendations=recs)
    d = json.loads(json.dumps(b.to_dict(), allow_nan=False))
    assert d["guidance_score"] == 62.4 and d["recommendations"] == recs
    assert d["items"][0]["bears_on"] == ["creative_refresh"]
    assert set(d["items"][0]) >= {"signal", "level", "campaign_id", "value", "unit",
                                  "past_value", "peer_z", "own_change", "sentence", "bears_on",
                                  "categories", "score"}
    text = render(b)
    assert "Guidance score 62 of 100." in text
    assert "1. Refresh your ad creatives (campaign 1)" in text


def test_render_of_an_empty_brief():
    b = Brief(3, AS_OF.isoformat(), "guided", (), 0)
    assert render(b) == ("Advertiser 3 as of 2025-12-01: nothing stands out against its own "
                         "past or its peers.")


# ------------------------------------------------------------------------------- guidance

def test_available_actions_follow_the_platforms_rules():
    adv = pd.DataFrame({"advertiser_id": [7], "payment_errors_7d": [1], "feed_errors_7d": [0],
                        "has_product_catalog": [False]})
    camp = pd.DataFrame({
        "advertiser_id": [7, 7], "campaign_id": [1, 2], "status": ["active", "paused"],
        "channel": ["search", "social"], "objective": ["sales", "sales"],
        "bid_automatic": [False, True], "conversion_tracking": ["none", "pixel"],
        "creative_count": [3, 3], "targeting_breadth": [0.5, 0.5],
        "disapproved_share": [0.0, 0.0]})
    acts = available_actions(AccountSignals(adv, adv, camp, camp), AS_OF)
    names = [{a for a, ok in zip(_NAMES, row) if ok} for row in acts]
    assert {"tracking_install_pixel", "bid_switch_auto", "keyword_add",
            "hygiene_fix_payment"} <= names[0]
    assert not names[0] & {"interest_add", "product_promote", "hygiene_resume_paused",
                           "tracking_enable_capi"}
    assert "hygiene_resume_paused" in names[1] and "budget_raise" not in names[1]


_NAMES = [a.name for a in __import__("pipelines.domain.actions",
                                     fromlist=["ACTION_TYPES"]).ACTION_TYPES]


# ------------------------------------------------------------------------------- bad input

def _frames():
    adv = pd.DataFrame({"advertiser_id": [1, 2]})
    camp = pd.DataFrame({"advertiser_id": [1, 2], "campaign_id": [10, 20]})
    return adv, camp


@pytest.mark.parametrize("change, message", [
    (lambda a, ap, c, cp: (a.iloc[::-1], ap.iloc[::-1], c, cp), "must be unique and ascending"),
    (lambda a, ap, c, cp: (a, ap.assign(advertiser_id=[1, 3]), c, cp), "advertisers_past"),
    (lambda a, ap, c, cp: (a, ap, c, cp.iloc[::-1]), "campaigns_past"),
    (lambda a, ap, c, cp: (a, ap, c.iloc[::-1], cp.iloc[::-1]), r"sorted by \(advertiser_id"),
    (lambda a, ap, c, cp: (a, ap, c.assign(advertiser_id=[1, 5]),
                           cp.assign(advertiser_id=[1, 5])), "must be in advertisers"),
])
def test_misaligned_signals_are_refused(change, message):
    adv, camp = _frames()
    with pytest.raises(DataError, match=message):
        AccountSignals(*change(adv, adv.copy(), camp, camp.copy()))


def test_actions_of_the_wrong_shape_or_name_are_refused(ref):
    sig = account({}, [{"campaign_id": 1}])
    with pytest.raises(DataError, match="actions: expected shape"):
        briefs(sig, ref, np.zeros((2, 3), bool), AS_OF, never, CFG)
    with pytest.raises(DataError, match="'budget_double' is not in the catalog"):
        action_matrix([["budget_double"]])
    with pytest.raises(DataError, match="expected the signals of one advertiser"):
        adv, camp = population()
        brief(AccountSignals(adv, adv, camp, camp), ref, np.zeros((N, len(_NAMES)), bool),
              AS_OF, never, CFG)


@pytest.mark.parametrize("args, message", [
    ([], "give either --advertiser ID or --all"),
    (["--advertiser", "3", "--all"], "give either --advertiser ID or --all"),
    (["--all", "--as-of", "2025-10-01"], "drop --as-of and --baseline"),
    (["--advertiser", "3", "--as-of", "yesterday"], "invalid --as-of 'yesterday'"),
    (["--advertiser", "3", "--words", "5"], "invalid words: Input should be greater than"),
    (["--advertiser", "3"], "no snapshot under root"),
    (["--all"], "no snapshot under root"),
])
def test_the_command_refuses_bad_input_in_one_line(tmp_path, args, message):
    result = CliRunner().invoke(app, ["brief", "--root", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_items_are_frozen():
    assert dataclasses.is_dataclass(Brief) and Brief.__dataclass_params__.frozen
