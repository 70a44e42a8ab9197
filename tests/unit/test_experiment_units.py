"""The experiment package's pure parts against hand-computed or closed-form truth: the
per-arm metrics and their intervals (paired and A/B), the sample-ratio check, slices and
action types, the hash assignment, the exploration config, the experiment's config, the peers
carried past the snapshot, the logged-bandit table, and the targets, verdict and text of a
result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats as sps

from pipelines.domain.vocabulary import SURFACES
from pipelines.experiments import analysis, stats
from pipelines.experiments.block import assign, explore_config
from pipelines.experiments.config import ExperimentConfig
from pipelines.experiments.learned import PEER_CARRY_DAYS, extend_peers
from pipelines.ope.data import LoggedBandit
from pipelines.policy.config import PolicyConfig

# the outcome table's columns, as block._outcomes writes them
COLUMNS = ("arm", "design", "advertiser_id", "vertical", "size_tier", "surface", "action_type",
           "impressions", "adoptions", "dismissals", "snoozes", "conversions", "profit", "spend",
           "trust")
# a surface row: spend filled with 0, trust left empty (only account rows carry it)
SURFACE_ROW = {"design": "paired", "vertical": "retail", "size_tier": "small",
               "surface": "ads_manager", "action_type": "raise_budget", "impressions": 0,
               "adoptions": 0, "dismissals": 0, "snoozes": 0, "conversions": 0.0,
               "profit": 0.0, "spend": 0.0, "trust": np.nan}


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{**SURFACE_ROW, **r} for r in rows], columns=list(COLUMNS))


def _account(arm: str, adv: int, spend: float, trust: float, **kw) -> dict:
    """An advertiser's account row: no surface, no action type, its spend and trust."""
    return {"arm": arm, "advertiser_id": adv, "surface": "", "action_type": "",
            "spend": spend, "trust": trust, **kw}


def _arrays_frame(arm: str, ids: np.ndarray, design: str = "paired", **cols) -> pd.DataFrame:
    """One surface row per advertiser from arrays (vectorised synthetic experiments)."""
    n = len(ids)
    f = pd.DataFrame({c: np.full(n, v) for c, v in SURFACE_ROW.items()})
    f["arm"], f["design"], f["advertiser_id"] = arm, design, ids
    for c, v in cols.items():
        f[c] = v
    return f[list(COLUMNS)]


# ---------------------------------------------------------------- stats.paired / stats.ab

# control (logging): 3 advertisers; learned: advertiser 3 has no rows at all (counts as 0)
HAND = _frame([
    {"arm": "logging", "advertiser_id": 1, "impressions": 4, "adoptions": 1, "dismissals": 1,
     "conversions": 2.0, "profit": 10.0},
    {"arm": "logging", "advertiser_id": 1, "surface": "notification",
     "action_type": "add_keywords", "impressions": 2, "adoptions": 1, "snoozes": 1,
     "conversions": 1.0, "profit": 5.0},
    _account("logging", 1, 100.0, 0.9),
    {"arm": "logging", "advertiser_id": 2, "impressions": 3, "dismissals": 2},
    _account("logging", 2, 50.0, 0.8),
    _account("logging", 3, 20.0, 0.7),
    {"arm": "learned", "advertiser_id": 1, "impressions": 5, "adoptions": 3,
     "conversions": 4.0, "profit": 40.0},
    _account("learned", 1, 120.0, 0.95),
    {"arm": "learned", "advertiser_id": 2, "impressions": 2, "adoptions": 1,
     "conversions": 1.0, "profit": -5.0},
    _account("learned", 2, 60.0, 0.85),
])
# Σ over the advertisers, by hand
PAIRED_EXPECTED = {
    "logging": {"adoptions_per_impression": 2 / 9, "dismissals_per_impression": 3 / 9,
                "snoozes_per_impression": 1 / 9, "impressions_per_advertiser": 9 / 3,
                "conversions_per_advertiser": 3 / 3, "profit_per_advertiser": 15 / 3,
                "spend_per_advertiser": 170 / 3, "trust": 2.4 / 3},
    "learned": {"adoptions_per_impression": 4 / 7, "dismissals_per_impression": 0 / 7,
                "snoozes_per_impression": 0 / 7, "impressions_per_advertiser": 7 / 3,
                "conversions_per_advertiser": 5 / 3, "profit_per_advertiser": 35 / 3,
                "spend_per_advertiser": 180 / 3, "trust": 1.8 / 3},
}


def test_paired_point_values_are_ratios_of_sums_over_every_advertiser():
    r = stats.paired(HAND, ["logging", "learned"], "logging", 200, 0)
    assert r["control"] == "logging"
    for arm, want in PAIRED_EXPECTED.items():
        assert r["arms"][arm]["advertisers"] == 3
        got = {m: v["value"] for m, v in r["arms"][arm]["metrics"].items()}
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert "against_control" not in r["arms"]["logging"]
    cmp = r["arms"]["learned"]["against_control"]
    for m in stats.METRICS:
        a, c = PAIRED_EXPECTED["learned"][m], PAIRED_EXPECTED["logging"][m]
        assert cmp[m]["difference"]["value"] == pytest.approx(a - c, abs=1e-12)
        assert cmp[m]["ratio"]["value"] == pytest.approx(a / c, rel=1e-12)


def test_ab_point_values_are_ratios_of_sums_over_each_arms_own_advertisers():
    f = _frame([
        {"arm": "logging", "design": "ab", "advertiser_id": 1, "impressions": 10,
         "adoptions": 2, "profit": 30.0},
        _account("logging", 1, 10.0, 0.5, design="ab"),
        {"arm": "logging", "design": "ab", "advertiser_id": 2, "impressions": 6,
         "adoptions": 0, "profit": 0.0},
        _account("logging", 2, 30.0, 0.7, design="ab"),
        {"arm": "learned", "design": "ab", "advertiser_id": 3, "impressions": 4,
         "adoptions": 2, "profit": 12.0},
        _account("learned", 3, 5.0, 1.0, design="ab"),
        _account("learned", 4, 7.0, 0.4, design="ab"),
        {"arm": "learned", "design": "ab", "advertiser_id": 5, "impressions": 1,
         "adoptions": 1, "profit": 9.0},
        _account("learned", 5, 3.0, 0.7, design="ab"),
    ])
    r = stats.ab(f, ["logging", "learned"], "logging", 200, 0)
    ctrl, arm = r["arms"]["logging"], r["arms"]["learned"]
    assert (ctrl["advertisers"], arm["advertisers"]) == (2, 3)
    assert ctrl["metrics"]["adoptions_per_impression"]["value"] == pytest.approx(2 / 16)
    assert arm["metrics"]["adoptions_per_impression"]["value"] == pytest.approx(3 / 5)
    assert ctrl["metrics"]["profit_per_advertiser"]["value"] == pytest.approx(30 / 2)
    assert arm["metrics"]["profit_per_advertiser"]["value"] == pytest.approx(21 / 3)
    assert arm["metrics"]["spend_per_advertiser"]["value"] == pytest.approx(15 / 3)
    assert arm["metrics"]["trust"]["value"] == pytest.approx(2.1 / 3)
    assert arm["against_control"]["profit_per_advertiser"]["difference"]["value"] == \
        pytest.approx(7 - 15)
    assert r["sample_ratio"]["counts"] == [2, 3]


def _experiment(n: int, seed: int, lift: float, design: str = "paired") -> pd.DataFrame:
    """Advertisers with very different sizes; the learned arm adopts more on the same
    impressions and earns `lift` times the control's profit plus a little noise, so both arms
    are strongly correlated per advertiser."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n) + 100
    imp = rng.poisson(30, n) + 1
    p = rng.beta(2, 20, n)
    adopt_c = rng.binomial(imp, p)
    adopt_l = adopt_c + rng.binomial(imp - adopt_c, 0.05)
    value = rng.lognormal(4, 1, n)
    profit_c = value * adopt_c
    profit_l = lift * profit_c + rng.normal(0, 5, n)
    spend, trust = rng.lognormal(6, 1, n), rng.uniform(0.5, 1, n)
    parts = []
    for arm, a, pr in (("logging", adopt_c, profit_c), ("learned", adopt_l, profit_l)):
        parts.append(_arrays_frame(arm, ids, design, impressions=imp, adoptions=a,
                                   dismissals=rng.binomial(imp - a, 0.1),
                                   snoozes=rng.binomial(imp - a, 0.05), profit=pr,
                                   conversions=a * 1.5))
        parts.append(_arrays_frame(arm, ids, design, surface="", action_type="", spend=spend,
                                   trust=trust))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("fn", [stats.paired, stats.ab])
def test_every_interval_contains_its_point(fn):
    r = fn(_experiment(80, 1, 1.3), ["logging", "learned"], "logging", 500, 3)
    for arm, entry in r["arms"].items():
        for m, s in entry["metrics"].items():
            lo, hi = s["ci95"]
            assert lo <= s["value"] <= hi, (arm, m)
            assert lo < hi, (arm, m)
    for m, cmp in r["arms"]["learned"]["against_control"].items():
        for part in ("difference", "ratio"):
            lo, hi = cmp[part]["ci95"]
            assert lo <= cmp[part]["value"] <= hi, (m, part)


def test_an_arm_identical_to_control_differs_by_exactly_zero_when_paired_but_not_in_ab():
    f = _experiment(60, 2, 1.0)
    f = f[f.arm == "logging"]
    twin = pd.concat([f, f.assign(arm="random")], ignore_index=True)
    arms = ["logging", "random"]
    paired = stats.paired(twin, arms, "logging", 300, 0)["arms"]["random"]["against_control"]
    ab = stats.ab(twin, arms, "logging", 300, 0)["arms"]["random"]["against_control"]
    for m in stats.METRICS:
        assert paired[m]["difference"]["value"] == 0.0
        assert paired[m]["difference"]["ci95"] == [0.0, 0.0]
        assert paired[m]["difference"]["significant"] is False
        assert paired[m]["ratio"]["value"] == pytest.approx(1.0)
        assert paired[m]["ratio"]["ci95"] == pytest.approx([1.0, 1.0])
        assert ab[m]["difference"]["value"] == 0.0
        lo, hi = ab[m]["difference"]["ci95"]
        assert lo < 0 < hi, m  # two independent resamples of the same accounts
        assert ab[m]["difference"]["significant"] is False


@pytest.mark.parametrize("fn", [stats.paired, stats.ab])
def test_a_clearly_better_arm_is_significant(fn):
    r = fn(_experiment(200, 4, 3.0), ["logging", "learned"], "logging", 300, 0)
    cmp = r["arms"]["learned"]["against_control"]
    for m in ("adoptions_per_impression", "profit_per_advertiser"):
        assert cmp[m]["difference"]["significant"] is True, m
        assert cmp[m]["difference"]["ci95"][0] > 0, m
        assert cmp[m]["ratio"]["ci95"][0] > 1, m


def test_the_paired_interval_of_a_difference_is_narrower_than_the_ab_one():
    f = _experiment(200, 5, 1.2)
    arms = ["logging", "learned"]
    paired = stats.paired(f, arms, "logging", 500, 0)["arms"]["learned"]["against_control"]
    ab = stats.ab(f, arms, "logging", 500, 0)["arms"]["learned"]["against_control"]

    def width(cmp, m):
        lo, hi = cmp[m]["difference"]["ci95"]
        return hi - lo

    for m in ("adoptions_per_impression", "profit_per_advertiser", "conversions_per_advertiser"):
        assert paired[m]["difference"]["value"] == pytest.approx(ab[m]["difference"]["value"])
        assert width(paired, m) < 0.5 * width(ab, m), m


def test_the_paired_interval_of_the_profit_difference_covers_the_truth_about_95_percent():
    """200 experiments of 100 advertisers: control profit ~ N(100, 30), the arm's = the
    control's + 5 + N(0, 10); the true difference per advertiser is 5."""
    n_exp, n, true_diff = 200, 100, 5.0
    rng = np.random.default_rng(11)
    control = rng.normal(100, 30, (n_exp, n))
    arm = control + true_diff + rng.normal(0, 10, (n_exp, n))
    ids = np.arange(n)
    covered = 0
    for e in range(n_exp):
        f = pd.concat([_arrays_frame("logging", ids, profit=control[e], impressions=1),
                       _arrays_frame("learned", ids, profit=arm[e], impressions=1)],
                      ignore_index=True)
        d = stats.paired(f, ["logging", "learned"], "logging", 300, e)[
            "arms"]["learned"]["against_control"]["profit_per_advertiser"]["difference"]
        covered += d["ci95"][0] <= true_diff <= d["ci95"][1]
    assert 0.90 <= covered / n_exp <= 0.99, covered


# ---------------------------------------------------------------- sample ratio

def test_an_even_split_is_not_a_mismatch():
    r = stats.sample_ratio([500, 500])
    assert r == {"counts": [500, 500], "expected_share": 0.5, "p_value": 1.0, "mismatch": False}


def test_500_against_400_is_a_mismatch():
    r = stats.sample_ratio([500, 400])
    chi2 = (50 ** 2 + 50 ** 2) / 450  # Σ (observed − expected)² / expected
    assert r["p_value"] == pytest.approx(sps.chi2.sf(chi2, df=1), rel=1e-9)
    assert r["p_value"] < 0.001 and r["mismatch"] is True


@pytest.mark.parametrize("counts", [[510, 490], [100, 120, 80], [7, 3], [1000, 1000, 1000, 940]])
def test_sample_ratio_p_values_match_scipys_chisquare(counts):
    r = stats.sample_ratio(counts)
    assert r["p_value"] == pytest.approx(sps.chisquare(counts).pvalue, rel=1e-12)
    assert r["expected_share"] == pytest.approx(1 / len(counts))
    assert r["mismatch"] is (r["p_value"] < stats.SRM_P)


# ---------------------------------------------------------------- slices and action types

def _sliced() -> pd.DataFrame:
    """Advertisers 1, 2 retail; 3, 4 travel; 1, 3 small; 2, 4 large. Everyone is on Ads
    Manager, only advertiser 1 on notifications. The learned arm earns 10 more per retail
    advertiser and 30 less per travel one."""
    rows = []
    who = {1: ("retail", "small"), 2: ("retail", "large"), 3: ("travel", "small"),
           4: ("travel", "large")}
    for arm in ("logging", "learned"):
        for adv, (vertical, tier) in who.items():
            change = 0 if arm == "logging" else (10 if vertical == "retail" else -30)
            common = {"arm": arm, "advertiser_id": adv, "vertical": vertical, "size_tier": tier}
            rows.append({**common, "impressions": 10, "adoptions": 2, "profit": 50.0 + change})
            rows.append(_account(arm, adv, 100.0, 0.8, vertical=vertical, size_tier=tier))
        rows.append({"arm": arm, "advertiser_id": 1, "vertical": "retail", "size_tier": "small",
                     "surface": "notification", "impressions": 1})
    return _frame(rows)


def test_slices_are_worst_first_with_hand_computed_profit_differences():
    out = stats.slices(_sliced(), ["logging", "learned"], "logging", 200, 0)
    got = {(r["slice"], r["value"]): r["profit_per_advertiser"]["difference"]["value"]
           for r in out}
    # per advertiser: retail +10, travel −30; each tier and Ads Manager hold one of each
    # vertical: (10 − 30) / 2 and (2 × 10 − 2 × 30) / 4
    assert got == pytest.approx({("vertical", "retail"): 10.0, ("vertical", "travel"): -30.0,
                                 ("size_tier", "large"): -10.0, ("size_tier", "small"): -10.0,
                                 ("surface", "ads_manager"): -10.0})
    diffs = [r["profit_per_advertiser"]["difference"]["value"] for r in out]
    assert diffs == sorted(diffs)
    assert (out[0]["slice"], out[0]["value"]) == ("vertical", "travel")
    assert {r["advertisers"] for r in out if r["slice"] != "surface"} == {2}
    assert all(r["arm"] == "learned" for r in out)


def test_surface_slices_leave_out_account_metrics():
    out = stats.slices(_sliced(), ["logging", "learned"], "logging", 200, 0)
    for r in out:
        has = {m for m in stats.METRICS if m in r}
        if r["slice"] == "surface":
            assert has == set(stats.METRICS) - set(stats.ACCOUNT_METRICS)
            assert r["advertisers"] == 4
        else:
            assert has == set(stats.METRICS)
            assert r["spend_per_advertiser"]["arm"] == pytest.approx(100.0)
            assert r["trust"]["control"] == pytest.approx(0.8)
    # notifications: a single advertiser is too few to compare
    assert ("surface", "notification") not in {(r["slice"], r["value"]) for r in out}


def test_action_types_sum_per_action_type_biggest_loss_first():
    out = stats.action_types(HAND, ["logging", "learned"], "logging")
    by_type = {r["action_type"]: r for r in out}
    assert set(by_type) == {"raise_budget", "add_keywords"}  # account rows left out
    rb, kw = by_type["raise_budget"], by_type["add_keywords"]
    assert rb["impressions"] == {"arm": 7.0, "control": 7.0, "difference": 0.0}
    assert rb["adoptions"] == {"arm": 4.0, "control": 1.0, "difference": 3.0}
    assert rb["dismissals"] == {"arm": 0.0, "control": 3.0, "difference": -3.0}
    assert rb["profit"] == {"arm": 35.0, "control": 10.0, "difference": 25.0}
    # only the control showed keywords: the arm counts 0
    assert kw["impressions"] == {"arm": 0.0, "control": 2.0, "difference": -2.0}
    assert kw["profit"] == {"arm": 0.0, "control": 5.0, "difference": -5.0}
    assert [r["action_type"] for r in out] == ["add_keywords", "raise_budget"]


# ---------------------------------------------------------------- A/B assignment

IDS = np.arange(1, 30_001) * 7 + 1_000


def test_assign_is_deterministic_and_depends_on_the_experiment():
    a = assign("exp-a", IDS, 2)
    assert np.array_equal(a, assign("exp-a", IDS, 2))
    agree = (a == assign("exp-b", IDS, 2)).mean()
    assert 0.48 < agree < 0.52  # another experiment's split is independent of this one


@pytest.mark.parametrize("n_arms", [2, 3, 5])
def test_assign_splits_evenly(n_arms):
    a = assign("split", IDS, n_arms)
    assert a.min() == 0 and a.max() == n_arms - 1
    share = np.bincount(a, minlength=n_arms) / len(IDS)
    assert np.abs(share - 1 / n_arms).max() < 0.01, share


def test_assign_is_independent_of_the_order_of_ids():
    order = np.random.default_rng(0).permutation(len(IDS))
    shuffled = assign("order", IDS[order], 3)
    assert np.array_equal(shuffled, assign("order", IDS, 3)[order])
    assert np.array_equal(assign("order", IDS[:10], 3), assign("order", IDS, 3)[:10])


# ---------------------------------------------------------------- exploration config

@pytest.mark.parametrize("floor", [0.002, 0.05, 1.0])
def test_explore_config_sets_the_floor_on_every_surface_and_nothing_else(floor):
    cfg, base = explore_config(floor), PolicyConfig()
    for s in SURFACES:
        assert cfg.surface(s).exploration_floor == floor
        assert cfg.surface(s).model_dump(exclude={"exploration_floor"}) == \
            base.surface(s).model_dump(exclude={"exploration_floor"})
    assert cfg.model_dump(exclude={"surfaces"}) == base.model_dump(exclude={"surfaces"})


@pytest.mark.parametrize("floor", [-0.1, 1.5])
def test_explore_config_refuses_a_floor_that_is_not_a_probability(floor):
    with pytest.raises(ValidationError, match="exploration_floor"):
        explore_config(floor)


# ---------------------------------------------------------------- experiment config

# (fields, words the error must hold)
BAD_EXPERIMENTS = [
    ({"arms": ("logging", "bandit")}, "unknown arm 'bandit'"),
    ({"arms": ("logging",)}, "at least two different arms"),
    ({"arms": ("logging", "learned", "logging")}, "at least two different arms"),
    ({"arms": ("logging", "learned"), "control": "random"}, "control 'random' is not one of"),
    ({"name": "../x"}, "name '../x' must be letters"),
    ({"name": "a/b"}, "name 'a/b' must be letters"),
    ({"name": ""}, "must be letters"),
    ({"days": 0}, "days"),
    ({"advertisers": 1}, "advertisers"),
    ({"exploration_floor": 0}, "exploration_floor"),
    ({"arm": ("logging", "learned")}, "arm"),  # a misspelt field
]


@pytest.mark.parametrize(("fields", "words"), BAD_EXPERIMENTS)
def test_a_bad_experiment_config_names_what_is_wrong(fields, words, tmp_path):
    with pytest.raises(ValidationError) as e:
        ExperimentConfig(root=str(tmp_path), **fields)
    assert words in str(e.value)


def test_days_0_is_reported_at_the_days_field(tmp_path):
    with pytest.raises(ValidationError) as e:
        ExperimentConfig(root=str(tmp_path), days=0)
    (err,) = e.value.errors()
    assert err["loc"] == ("days",) and "greater than or equal to 1" in err["msg"]


def test_the_control_arm_defaults_to_the_first_arm(tmp_path):
    assert ExperimentConfig(root=str(tmp_path), arms=("random", "learned")).control_arm == \
        "random"
    cfg = ExperimentConfig(root=str(tmp_path), arms=("random", "learned"), control="learned")
    assert cfg.control_arm == "learned"


# ---------------------------------------------------------------- peers past the snapshot

def test_extend_peers_carries_the_mean_of_the_last_seven_days():
    rng = np.random.default_rng(0)
    peers = rng.uniform(0, 100, (3, 2, 4, 20))
    out = extend_peers(peers, 25)
    assert out.shape == (3, 2, 4, 25)
    assert np.array_equal(out[..., :20], peers)
    assert PEER_CARRY_DAYS == 7
    want = peers[..., 13:20].sum(axis=-1) / 7
    for d in range(20, 25):
        np.testing.assert_allclose(out[..., d], want, rtol=1e-12)
    assert extend_peers(peers, 20) is peers and extend_peers(peers, 5) is peers


# ---------------------------------------------------------------- logged-bandit table

def _bandit_rows(q_nan: bool = False) -> pd.DataFrame:
    """Five shown items: row 2's logged marginal was never drawn (pscore 0), row 3's evaluated
    distribution leaves its position partly empty (sums to 0.8); lists of 2 or 3 candidates."""
    dists = [[0.4, 0.6], [0.3, 0.2, 0.5], [0.1, 0.1, 0.8], [0.5, 0.3], [0.0, 1.0]]
    q = [[0.2, 0.1], [0.1, 0.3, 0.2], [0.5, 0.5, 0.5], [0.3, 0.3], [0.05, 0.07]]
    return pd.DataFrame({
        "round_id": [10, 10, 11, 11, 12], "cluster_id": [1, 1, 2, 2, 3],
        "action": [0, 1, 2, 0, 1], "position": [0, 1, 0, 1, 0],
        "reward": [1.0, 0.0, 0.0, 1.0, 0.0], "pscore": [0.5, 0.25, 0.0, 0.2, 0.8],
        "pscore_stderr": [0.01, 0.02, 0.0, 0.04, 0.04],
        "pscore_cascade": [0.5, 0.125, 0.2, 0.05, 0.8],
        "evaluation_pscore_cascade": [0.4, 0.3, 0.1, 0.05, 1.0],
        "surface": ["ads_manager"] * 2 + ["notification"] * 2 + ["sales_workflow"],
        "action_dist": [np.array(d) for d in dists],
        "estimated_rewards": [np.full(len(v), np.nan) if q_nan else np.array(v) for v in q]})


def test_to_bandit_pads_the_lists_and_drops_and_counts_unusable_rows():
    bandit, info, keep = analysis.to_bandit(_bandit_rows())
    assert isinstance(bandit, LoggedBandit)
    assert info == {"rows": 5, "kept": 3, "pscore_not_sampled": 1, "position_left_empty": 1,
                    "pscore_stderr_median": pytest.approx(0.02),
                    # stderr / pscore of the sampled rows: 0.02, 0.08, 0.2, 0.05
                    "pscore_relative_stderr_median": pytest.approx(0.065)}
    assert keep.sum() == 3 and len(keep) == 5
    np.testing.assert_array_equal(bandit.action_dist, [[0.4, 0.6, 0.0], [0.3, 0.2, 0.5],
                                                       [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(bandit.estimated_rewards, [[0.2, 0.1, 0.0], [0.1, 0.3, 0.2],
                                                             [0.05, 0.07, 0.0]])
    np.testing.assert_array_equal(bandit.action, [0, 1, 1])
    np.testing.assert_array_equal(bandit.position, [0, 1, 0])
    np.testing.assert_array_equal(bandit.pscore, [0.5, 0.25, 0.8])
    np.testing.assert_array_equal(bandit.round_id, [10, 10, 12])
    np.testing.assert_array_equal(bandit.cluster_id, [1, 1, 3])
    np.testing.assert_array_equal(bandit.pscore_cascade, [0.5, 0.125, 0.8])
    np.testing.assert_array_equal(bandit.evaluation_pscore_cascade, [0.4, 0.3, 1.0])
    assert bandit.n_actions == 3 and bandit.n_units == 2


def test_to_bandit_without_a_reward_model_has_no_estimated_rewards():
    bandit, info, _ = analysis.to_bandit(_bandit_rows(q_nan=True))
    assert bandit.estimated_rewards is None and info["kept"] == 3


def test_a_row_both_unsampled_and_unfilled_counts_once():
    rows = _bandit_rows()
    rows["action_dist"] = [d if i != 2 else np.array([0.1, 0.1])
                           for i, d in enumerate(rows.action_dist)]
    _, info, _ = analysis.to_bandit(rows)
    assert (info["kept"], info["pscore_not_sampled"], info["position_left_empty"]) == (3, 1, 1)


# ---------------------------------------------------------------- A/B against the truth

def test_ab_against_truth_gives_the_error_and_whether_the_interval_covers():
    def table(diffs: dict[str, tuple[float, list[float]]]) -> dict:
        return {"arms": {"logging": {"metrics": {}},
                         "learned": {"against_control": {
                             m: {"difference": {"value": v, "ci95": ci}}
                             for m, (v, ci) in diffs.items()}}}}

    ab = table({"profit_per_advertiser": (12.0, [2.0, 22.0]),
                "adoptions_per_impression": (0.01, [0.005, 0.015])})
    truth = table({"profit_per_advertiser": (20.0, [19.0, 21.0]),
                   "adoptions_per_impression": (0.02, [0.019, 0.021])})
    out = analysis.ab_against_truth(ab, truth)
    assert set(out) == {"learned"}
    p, a = out["learned"]["profit_per_advertiser"], out["learned"]["adoptions_per_impression"]
    assert p == {"ab": 12.0, "ci95": [2.0, 22.0], "truth": 20.0, "error": -8.0, "covers": True}
    assert a["error"] == pytest.approx(-0.01) and a["covers"] is False
    edge = analysis.ab_against_truth(table({"trust": (0.5, [0.4, 0.6])}),
                                     table({"trust": (0.6, [0.6, 0.6])}))
    assert edge["learned"]["trust"]["covers"] is True  # the interval's end counts


# ---------------------------------------------------------------- targets, verdict, text

def _result(adopt: float = 1.4, dismiss: float = -0.01, profit: float = 1.6,
            profit_sig: bool = True, design: str = "paired", dr: dict | None = None,
            arms: tuple[str, ...] = ("logging", "learned")) -> dict:
    """A result as analysis.analyse writes it, with the learned arm's ratios and differences
    against logging given."""
    table = {"control": arms[0], "arms": {}}
    for a in arms:
        entry = {"advertisers": 100,
                 "metrics": {m: {"value": 1.0, "ci95": [0.9, 1.1]} for m in stats.METRICS}}
        if a != arms[0]:
            cmp = {m: {"difference": {"value": 0.0, "ci95": [-1.0, 1.0], "significant": False},
                       "ratio": {"value": 1.0, "ci95": [0.9, 1.1]}} for m in stats.METRICS}
            cmp["adoptions_per_impression"]["ratio"] = {"value": adopt,
                                                        "ci95": [adopt - 0.1, adopt + 0.1]}
            cmp["dismissals_per_impression"]["difference"]["value"] = dismiss
            cmp["profit_per_advertiser"] = {
                "difference": {"value": 100 * (profit - 1), "ci95": [1.0, 2.0],
                               "significant": profit_sig},
                "ratio": {"value": profit, "ci95": [profit - 0.2, profit + 0.2]}}
            entry["against_control"] = cmp
        table["arms"][a] = entry
    if design == "ab":
        table["sample_ratio"] = {"counts": [50, 50], "expected_share": 0.5, "p_value": 1.0,
                                 "mismatch": False}
    out = {"name": "t", "world": {"advertisers": 100},
           "horizon": {"from": "2024-03-01", "days": 7}, "arms": list(arms),
           "control": arms[0], design: table}
    if dr is not None:
        out["ope"] = {"days": 14, "estimates": {"dr": dr}}
    return out


def _met(result: dict) -> list:
    return [t["met"] for t in analysis.targets(result, result["control"])]


@pytest.mark.parametrize(("adopt", "dismiss", "met"), [
    (1.3, 0.0, True), (1.31, -0.02, True), (1.29, -0.02, False), (1.5, 0.001, False)])
def test_the_adoption_target_at_its_threshold(adopt, dismiss, met):
    (t, _) = analysis.targets(_result(adopt=adopt, dismiss=dismiss), "logging")
    assert t["met"] is met
    assert t["figure"] == adopt and t["dismissal_rate_difference"] == dismiss


@pytest.mark.parametrize(("profit", "met"), [(1.5, True), (1.49, False), (2.5, True)])
def test_the_profit_target_at_its_threshold(profit, met):
    (_, t) = analysis.targets(_result(profit=profit), "logging")
    assert t["met"] is met and t["figure"] == profit


@pytest.mark.parametrize(("error", "covers", "met"), [
    (0.10, True, True), (-0.10, True, True), (0.05, True, True), (0.1001, True, False),
    (-0.2, True, False), (0.01, False, False)])
def test_the_dr_target_at_its_threshold(error, covers, met):
    dr = {"available": True, "estimate": 0.1, "ci95": [0.05, 0.15], "truth": 0.1,
          "relative_error": error, "covers": covers}
    targets = analysis.targets(_result(dr=dr), "logging")
    assert len(targets) == 3
    assert targets[2]["met"] is met and targets[2]["figure"] == error


def test_no_dr_target_without_an_available_estimate():
    assert len(analysis.targets(_result(dr={"available": False, "reason": "x"}), "logging")) == 2
    assert len(analysis.targets(_result(), "logging")) == 2


def test_targets_without_a_learned_arm_have_no_figure():
    targets = analysis.targets(_result(arms=("logging", "random")), "logging")
    assert [(t["figure"], t["met"]) for t in targets] == [(None, None), (None, None)]
    assert analysis.verdict(_result(arms=("logging", "random")), "logging") == \
        "no learned arm against a control"


def test_targets_read_the_ab_table_without_a_paired_one():
    assert _met(_result(design="ab")) == [True, True]
    assert _met(_result(design="ab", adopt=1.0)) == [False, True]


@pytest.mark.parametrize(("profit", "significant", "word"), [
    (1.6, True, "BETTER"), (1.6, False, "NOT SHOWN BETTER"), (0.8, True, "NOT SHOWN BETTER")])
def test_the_verdict(profit, significant, word):
    v = analysis.verdict(_result(adopt=1.35, profit=profit, profit_sig=significant), "logging")
    assert v.startswith(f"learned policy {word} than logging:")
    assert "×1.35 (95 %: 1.25–1.45)" in v
    diff = 100 * (profit - 1)
    assert f"×{profit:.2f}, {diff:+,.0f} $ per advertiser over the horizon (95 %: +1 to +2)" in v


def _negative_profits() -> pd.DataFrame:
    """The logging rules lose $100 per advertiser, the learned policy $200: every advertiser
    is worse off under the learned policy."""
    rows = []
    for adv in range(1, 21):
        for arm, profit in (("logging", -100.0 - adv), ("learned", -200.0 - 2 * adv)):
            rows.append({"arm": arm, "advertiser_id": adv, "impressions": 10,
                         "adoptions": 2 if arm == "logging" else 3, "profit": profit})
            rows.append(_account(arm, adv, 100.0, 0.8))
    return _frame(rows)


def test_a_significant_profit_loss_is_never_called_better():
    paired = stats.paired(_negative_profits(), ["logging", "learned"], "logging", 300, 0)
    d = paired["arms"]["learned"]["against_control"]["profit_per_advertiser"]
    assert d["difference"]["value"] < 0 and d["difference"]["significant"]  # worse, for sure
    result = {"paired": paired}
    assert "NOT SHOWN BETTER" in analysis.verdict(result, "logging")
    assert analysis.targets(result, "logging")[1]["met"] is False


def test_render_prints_the_verdict_and_every_target():
    dr = {"available": True, "estimate": 0.071, "ci95": [0.06, 0.08], "truth": 0.075,
          "relative_error": -0.053, "covers": True}
    result = _result(adopt=1.2, dr=dr)
    result["verdict"] = analysis.verdict(result, "logging")
    result["targets"] = analysis.targets(result, "logging")
    lines = analysis.render(result).splitlines()
    assert lines[1] == result["verdict"]
    for t in result["targets"]:
        state = {True: "met", False: "MISSED"}[t["met"]]
        assert f"target: {t['target']}: {t['figure']:.3f} ({state})" in lines
    assert any(line.startswith("off-policy estimates") and "dr 7.10%" in line
               for line in lines)


@pytest.mark.parametrize("design", ["paired", "ab"])
def test_render_a_result_without_ope_ab_or_exploration(design):
    result = _result(design=design, arms=("logging", "random"))
    result["verdict"] = analysis.verdict(result, "logging")
    result["targets"] = analysis.targets(result, "logging")
    text = analysis.render(result)
    assert "no learned arm against a control" in text
    assert text.count("(not measured)") == 2 and "target: " in text
    assert ("sample ratio ok" in text) is (design == "ab")
