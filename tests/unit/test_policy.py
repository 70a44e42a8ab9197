import itertools
from collections import Counter

import numpy as np
import pytest
from pydantic import ValidationError

from pipelines.errors import ConfigError
from pipelines.policy import plackett_luce as pl
from pipelines.policy.config import PolicyConfig
from pipelines.policy.eligibility import (DAY_MS, CandidateSet, History, eligible,
                                          remaining_slots)
from pipelines.policy.scoring import (available_impact, guidance_score, score, score_uplift)
from pipelines.policy.slate import choose
from tests.unit.test_plackett_luce import enumerate_slates, naive_floor_steps

CFG = PolicyConfig()
NOW = 20_000 * DAY_MS + 15 * 3_600_000  # 15:00 UTC


# ---------------------------------------------------------------- config

# (input, where pydantic reports it, the field the message must name)
BAD_CONFIGS = [
    ({"surfaces": {"ads_manager": {"default_items": 11}}}, "surfaces.ads_manager", "max_items"),
    ({"surfaces": {"notification": {"default_items": 2}}}, "surfaces.notification", "daily_cap"),
    ({"surfaces": {"sales_workflow": {"temperature": -0.1}}},
     "surfaces.sales_workflow.temperature", "temperature"),
    ({"surfaces": {"ads_manager": {"max_items": 21}}}, "surfaces.ads_manager.max_items",
     "max_items"),
    ({"surfaces": {"ads_manager": {"daily_cap": 2}}}, "surfaces.ads_manager", "daily_cap"),
    ({"surfaces": {"ads_manager": {"max_per_category": 0}}},
     "surfaces.ads_manager.max_per_category", "max_per_category"),
    ({"surfaces": {"ads_manager": {"dismisal": 1.0}}}, "surfaces.ads_manager.dismisal",
     "dismisal"),
    ({"surfaces": {"email": {}}}, "surfaces.email", "email"),
    ({"dismiss_cooldown_days": {"too_expensive": -1}}, "dismiss_cooldown_days.too_expensive",
     "too_expensive"),
    ({"default_snooze_days": 30, "max_snooze_days": 20}, "", "max_snooze_days"),
    ({"platform_value": {"tracking": 1.5}}, "platform_value.tracking", "tracking"),
    ({"reshow_after_days": -1}, "reshow_after_days", "reshow_after_days"),
    ({"surfaces": {"ads_manager": {"exploration_floor": -0.01}}},
     "surfaces.ads_manager.exploration_floor", "exploration_floor"),
    ({"surfaces": {"notification": {"exploration_floor": 1.5}}},
     "surfaces.notification.exploration_floor", "exploration_floor"),
]


@pytest.mark.parametrize("data, loc, field", BAD_CONFIGS)
def test_bad_config_values_name_the_field(data, loc, field):
    with pytest.raises(ValidationError) as e:
        PolicyConfig.model_validate(data)
    err = e.value.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    assert where == loc and field in where + " " + err["msg"]


def test_partial_surface_settings_keep_that_surface_defaults(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("surfaces:\n  notification:\n    temperature: 0.02\nreshow_after_days: 5\n")
    cfg = PolicyConfig.from_yaml(path)
    assert cfg.surfaces.notification.temperature == 0.02
    assert cfg.surfaces.notification.daily_cap == CFG.surfaces.notification.daily_cap == 1
    assert cfg.reshow_after_days == 5
    assert PolicyConfig.model_validate(CFG.model_dump()) == CFG


@pytest.mark.parametrize("text", ["[1, 2]", "surfaces: {", None])
def test_unreadable_yaml_is_a_config_error(tmp_path, text):
    path = tmp_path / "policy.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match="policy.yaml"):
        PolicyConfig.from_yaml(path)


def test_defaults_make_notification_the_most_conservative_surface():
    s = CFG.surfaces
    assert s.notification.dismissal == max(p.dismissal for p in (s.ads_manager, s.notification,
                                                                 s.business_assistant,
                                                                 s.sales_workflow))
    assert s.notification.temperature < s.ads_manager.temperature
    assert s.notification.daily_cap == 1
    assert s.sales_workflow.default_items > s.ads_manager.default_items


# ---------------------------------------------------------------- eligibility

def candidates(**over):
    base = dict(campaign_id=[1], item_id=[10], action_type=["budget_raise"], category=["budget"],
                campaign_active=[True], one_shot_done=[False])
    return CandidateSet(**{**base, **over})


def history(impressions=(), feedback=(), action="budget_raise"):
    """impressions: (campaign, item, surface, ms); feedback: (campaign, item, type, reason,
    snooze_days, ms), all of action type `action`."""
    imp = list(zip(*impressions)) or [[]] * 4
    fb = list(zip(*feedback)) or [[]] * 6
    return History(
        impression_campaign_id=imp[0], impression_item_id=imp[1], impression_surface=imp[2],
        impression_served_at_ms=imp[3], feedback_campaign_id=fb[0], feedback_item_id=fb[1],
        feedback_action_type=[action] * len(fb[0]), feedback_type=fb[2],
        feedback_dismiss_reason=fb[3], feedback_snooze_days=fb[4], feedback_occurred_at_ms=fb[5])


def ago(days):
    return NOW - int(days * DAY_MS)


def dismissed(reason, days):
    return history(feedback=[(1, 10, "dismissed", reason, 0, ago(days))])


CASES = [
    ("nothing in history", candidates(), History.empty(), "eligible"),
    ("paused campaign", candidates(campaign_active=[False]), History.empty(), "campaign_paused"),
    ("resume on paused", candidates(campaign_active=[False],
                                    action_type=["hygiene_resume_paused"],
                                    category=["account_hygiene"]), History.empty(), "eligible"),
    ("resume on active", candidates(action_type=["hygiene_resume_paused"],
                                    category=["account_hygiene"]), History.empty(),
     "resume_on_active"),
    ("one-shot done", candidates(one_shot_done=[True]), History.empty(), "one_shot_done"),
    ("paused beats one-shot", candidates(campaign_active=[False], one_shot_done=[True]),
     History.empty(), "campaign_paused"),
    *[(f"dismissed {r} within cool-down", candidates(), dismissed(r, d - 1), "dismissed")
      for r, d in [("not_relevant", 90), ("already_done", 365), ("too_expensive", 60),
                   ("disagree_with_estimate", 45), ("other", 30), ("", 30)]],
    *[(f"dismissed {r} after cool-down", candidates(), dismissed(r, d), "eligible")
      for r, d in [("not_relevant", 90), ("already_done", 365), ("too_expensive", 60),
                   ("disagree_with_estimate", 45), ("other", 30), ("", 30)]],
    ("dismissed on another campaign", candidates(campaign_id=[2]),
     dismissed("not_relevant", 1), "eligible"),
    ("dismissed another item", candidates(item_id=[11]), dismissed("not_relevant", 1),
     "eligible"),
    ("applied keyword within a year", candidates(),
     history(feedback=[(1, 10, "applied", "", 0, ago(200))], action="keyword_add"), "applied"),
    ("applied keyword over a year ago", candidates(),
     history(feedback=[(1, 10, "applied", "", 0, ago(366))], action="keyword_add"),
     "eligible"),
    ("applied tracking within a year", candidates(),
     history(feedback=[(1, 10, "applied", "", 0, ago(200))], action="tracking_install_pixel"),
     "applied"),
    ("applied budget raise within a month", candidates(),
     history(feedback=[(1, 10, "applied", "", 0, ago(29))]), "applied"),
    ("applied budget raise a month ago", candidates(),
     history(feedback=[(1, 10, "applied", "", 0, ago(30))]), "eligible"),
    ("snoozed 7 days, day 6", candidates(),
     history(feedback=[(1, 10, "snoozed", "", 7, ago(6))]), "snoozed"),
    ("snoozed 7 days, day 8", candidates(),
     history(feedback=[(1, 10, "snoozed", "", 7, ago(8))]), "eligible"),
    ("snoozed default 14, day 13", candidates(),
     history(feedback=[(1, 10, "snoozed", "", 0, ago(13))]), "snoozed"),
    ("snoozed default 14, day 15", candidates(),
     history(feedback=[(1, 10, "snoozed", "", 0, ago(15))]), "eligible"),
    ("snooze of 400 cut to 90", candidates(),
     history(feedback=[(1, 10, "snoozed", "", 400, ago(91))]), "eligible"),
    ("clicked and ignored block nothing", candidates(),
     history(feedback=[(1, 10, "clicked", "", 0, ago(5)), (1, 10, "ignored", "", 0, ago(5))]),
     "eligible"),
    ("shown 2 days ago", candidates(),
     history(impressions=[(1, 10, "notification", ago(2))]), "recently_shown"),
    ("shown 4 days ago", candidates(),
     history(impressions=[(1, 10, "ads_manager", ago(4))]), "eligible"),
    ("dismissal beats recently shown", candidates(),
     history(impressions=[(1, 10, "ads_manager", ago(1))],
             feedback=[(1, 10, "dismissed", "other", 0, ago(1))]), "dismissed"),
]


@pytest.mark.parametrize("name, cands, hist, reason", CASES, ids=[c[0] for c in CASES])
def test_eligibility_rules(name, cands, hist, reason):
    mask, reasons = eligible(cands, hist, "ads_manager", NOW, CFG)
    assert reasons.tolist() == [reason]
    assert mask.tolist() == [reason == "eligible"]


def test_eligibility_is_per_row_over_many_candidates():
    cands = candidates(campaign_id=[1, 1, 2, 3], item_id=[10, 11, 10, 10],
                       action_type=["budget_raise"] * 4, category=["budget"] * 4,
                       campaign_active=[True, True, True, False], one_shot_done=[False] * 4)
    hist = history(impressions=[(1, 11, "ads_manager", ago(1))],
                   feedback=[(2, 10, "dismissed", "too_expensive", 0, ago(10))])
    mask, reasons = eligible(cands, hist, "ads_manager", NOW, CFG)
    assert reasons.tolist() == ["eligible", "recently_shown", "dismissed", "campaign_paused"]
    assert mask.tolist() == [True, False, False, False]


@pytest.mark.parametrize("surface, served_today, served_yesterday, expected", [
    ("ads_manager", 0, 0, 6),
    ("ads_manager", 5, 9, 1),
    ("ads_manager", 6, 0, 0),   # at the cap
    ("ads_manager", 8, 0, 0),   # over the cap: never negative
    ("notification", 0, 3, 1),
    ("notification", 1, 0, 0),
    ("sales_workflow", 20, 0, 30),
])
def test_remaining_slots(surface, served_today, served_yesterday, expected):
    midnight = NOW // DAY_MS * DAY_MS
    rows = [(1, i, surface, midnight + 1000 * i) for i in range(served_today)]
    rows += [(1, i, surface, midnight - 1000 * (i + 1)) for i in range(served_yesterday)]
    rows += [(1, 99, "business_assistant", NOW - 1000)]  # another surface does not count
    assert remaining_slots(history(impressions=rows), surface, NOW, CFG) == expected


@pytest.mark.parametrize("over, match", [
    ({"item_id": [10, 11]}, "item_id"),
    ({"item_id": [-1]}, "item ids"),
])
def test_bad_candidates_are_rejected(over, match):
    with pytest.raises(ValueError, match=match):
        eligible(candidates(**over), History.empty(), "ads_manager", NOW, CFG)


def test_bad_history_and_surface_are_rejected():
    with pytest.raises(ValueError, match="feedback_type"):
        history(feedback=[(1, 10, "liked", "", 0, NOW)])
    with pytest.raises(ValueError, match="dismiss_reason"):
        history(feedback=[(1, 10, "dismissed", "boring", 0, NOW)])
    with pytest.raises(ValueError, match="surface"):
        eligible(candidates(), History.empty(), "email", NOW, CFG)


# ---------------------------------------------------------------- scoring

def test_score_rises_with_adoption_and_impact_and_falls_with_dismissal():
    p = np.linspace(0.0, 1.0, 11)
    flat = np.full(11, 0.2)
    cat = np.full(11, "budget")
    for surface in ("ads_manager", "notification"):
        assert np.all(np.diff(score(p, flat, flat * 10, 1.0, cat, surface, CFG)) > 0)
        assert np.all(np.diff(score(flat, p, flat, 1.0, cat, surface, CFG)) < 0)
        assert np.all(np.diff(score(flat, flat, p, 1.0, cat, surface, CFG)) > 0)


def test_score_formula_and_platform_value():
    s = score([0.5, 0.5], [0.1, 0.1], [-3.0, 2.0], 4.0, ["tracking", "interests"],
              "ads_manager", CFG)
    w = CFG.surfaces.ads_manager
    assert s[0] == pytest.approx(w.platform * 0.5 * 1.0 - w.dismissal * 0.1)
    assert s[1] == pytest.approx(w.impact * 0.5 * 0.5 + w.platform * 0.5 * 0.3
                                 - w.dismissal * 0.1)
    with pytest.raises(ValueError, match="category"):
        score([0.5], [0.1], [1.0], 1.0, ["fonts"], "ads_manager", CFG)
    with pytest.raises(ValueError, match="impact_scale"):
        score([0.5], [0.1], [1.0], 0.0, ["budget"], "ads_manager", CFG)


def test_guidance_score_and_uplift():
    assert guidance_score(0.0, 0.0) == 100.0
    assert guidance_score(30.0, 10.0) == pytest.approx(75.0)
    # two variants of one action on campaign 1 count once (the best); campaign 2 adds its own
    avail = available_impact([4.0, 6.0, 10.0, -2.0], [1, 1, 2, 2],
                             ["budget_raise", "budget_raise", "budget_raise", "creative_refresh"])
    assert avail == 16.0
    up = score_uplift(np.array([6.0, 0.0, -1.0]), 24.0, avail)
    assert up[0] == pytest.approx(guidance_score(30.0, 10.0) - guidance_score(24.0, 16.0))
    assert up[1:].tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- slates

def naive_slate_probability(scores, cats, order, temperature, cap):
    """Sequential Plackett–Luce with a category cap, step by step."""
    placed, prob = [], 1.0
    for i in order:
        allowed = [j for j in range(len(scores)) if j not in placed
                   and sum(cats[p] == cats[j] for p in placed) < cap]
        w = np.exp(np.asarray(scores)[allowed] / temperature)
        prob *= np.exp(scores[i] / temperature) / w.sum()
        placed.append(i)
    return prob


def test_greedy_at_zero_temperature():
    rng = np.random.default_rng(0)
    s = choose(np.array([0.1, 0.9, 0.5, 0.9, 0.8]), np.array(list("aabbb")), 3, 0.0, 2, rng)
    assert s.index.tolist() == [1, 3, 4] and s.propensity.tolist() == [1.0, 1.0, 1.0]
    s = choose(np.array([0.1, 0.9, 0.5, 0.9, 0.8]), np.array(list("abbbb")), 3, 0.0, 2, rng)
    assert s.index.tolist() == [1, 3, 0] and s.slate_propensity == 1.0


def test_diversity_cap_is_never_exceeded():
    rng = np.random.default_rng(3)
    cats = np.array(list("aaaaaabbc"))
    for _ in range(300):
        scores = rng.normal(size=9)
        s = choose(scores, cats, 5, 0.5, 2, rng)
        assert max(Counter(cats[s.index]).values()) <= 2
        assert len(s) == 5 and len(set(s.index.tolist())) == 5
    s = choose(np.zeros(9), cats, 8, 0.5, 2, rng)
    assert len(s) == 5  # the caps leave only 2 + 2 + 1 items


def test_same_draws_as_plackett_luce_when_no_cap_binds():
    for seed in range(20):
        scores = np.random.default_rng(100 + seed).normal(size=8)
        s = choose(scores, np.array(list("abcdefgh")), 4, 0.7, 1, np.random.default_rng(seed))
        ref = pl.sample(scores, np.zeros(8, int), np.array([4]), 0.7,
                        np.random.default_rng(seed).uniform(size=8))
        assert s.index.tolist() == ref.index.tolist()
        np.testing.assert_allclose(s.propensity, ref.propensity, rtol=1e-12)
        np.testing.assert_allclose(s.prefix_propensity, ref.slate_propensity, rtol=1e-12)


def test_extreme_scores_stay_finite():
    s = choose(np.array([1000.0, 999.0, -1000.0]), np.array(list("aab")), 3, 0.01, 1,
               np.random.default_rng(0))
    assert s.index.tolist() == [0, 2] and np.all(np.isfinite(s.propensity))
    assert s.propensity[1] == 1.0  # only item 2 is allowed after item 0 fills category a


def test_logged_propensities_match_the_empirical_distribution():
    scores = np.array([0.9, 0.6, 0.3, 0.8, 0.2, -0.1])
    cats = np.array(list("aaaabb"))
    k, temp, cap, n = 3, 0.7, 2, 40_000
    rng = np.random.default_rng(11)
    counts, logged, first = Counter(), {}, Counter()
    for _ in range(n):
        s = choose(scores, cats, k, temp, cap, rng)
        key = tuple(s.index.tolist())
        counts[key] += 1
        logged[key] = s.slate_propensity
        first[key[0]] = s.propensity[0]
    exact = {o: naive_slate_probability(scores, cats, o, temp, cap)
             for o in itertools.permutations(range(6), k)
             if max(Counter(cats[list(o)]).values()) <= cap}
    assert sum(exact.values()) == pytest.approx(1.0)
    assert set(counts) <= set(exact)
    for o, p in exact.items():
        if o in logged:
            assert logged[o] == pytest.approx(p, rel=1e-9)
        assert abs(counts[o] / n - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-4
    for i, p in first.items():
        marginal = sum(c for o, c in counts.items() if o[0] == i) / n
        assert abs(marginal - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_the_floor_is_off_by_default_and_read_from_yaml(tmp_path):
    assert all(getattr(CFG.surfaces, s).exploration_floor == 0.0
               for s in ("ads_manager", "business_assistant", "notification", "sales_workflow"))
    path = tmp_path / "policy.yaml"
    path.write_text("surfaces:\n  ads_manager:\n    exploration_floor: 0.02\n")
    cfg = PolicyConfig.from_yaml(path)
    assert cfg.surfaces.ads_manager.exploration_floor == 0.02
    assert cfg.surfaces.ads_manager.temperature == CFG.surfaces.ads_manager.temperature


@pytest.mark.parametrize("temperature, floor", [(0.7, 0.05), (0.0, 0.08)])
def test_a_floored_slate_follows_its_logged_propensities(temperature, floor):
    scores = np.array([0.9, 0.6, 0.3, 0.8, 0.2, -0.1])
    cats = np.array(list("aaaabb"))
    k, cap, n = 3, 2, 6_000
    rng = np.random.default_rng(12)
    counts, shown = Counter(), np.zeros(6)
    for _ in range(n):
        s = choose(scores, cats, k, temperature, cap, rng, floor)
        key = tuple(s.index.tolist())
        if key not in counts:
            steps = naive_floor_steps(scores, cats, key, temperature, cap, floor)
            np.testing.assert_allclose(s.propensity, steps, rtol=1e-12)
            assert s.slate_propensity == pytest.approx(np.prod(steps), rel=1e-12)
        counts[key] += 1
        shown[s.index] += 1
    exact = enumerate_slates(scores, cats, k, temperature, cap, floor)
    assert sum(exact.values()) == pytest.approx(1.0) and set(counts) <= set(exact)
    for o, p in exact.items():
        assert abs(counts[o] / n - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-4
    # every item: at least the floor, exactly in the distribution and within noise in the draws
    p_shown = np.array([sum(p for o, p in exact.items() if i in o) for i in range(6)])
    assert p_shown.min() >= floor
    assert (shown / n > floor - 4 * np.sqrt(floor / n)).all()
    if temperature == 0:  # without the floor the greedy slate is 0, 3, 4: the rest never shows
        assert p_shown[[1, 2, 5]].max() < 0.5


def test_a_floored_slate_is_reproducible_and_checks_its_floor():
    scores, cats = np.array([0.9, 0.6, 0.3, 0.8]), np.array(list("abab"))
    a = choose(scores, cats, 2, 0.1, 2, np.random.default_rng(3), 0.1)
    b = choose(scores, cats, 2, 0.1, 2, np.random.default_rng(3), 0.1)
    assert a.index.tolist() == b.index.tolist() and a.propensity.tolist() == b.propensity.tolist()
    for bad in (-0.1, 1.01):
        with pytest.raises(ValueError, match="floor"):
            choose(scores, cats, 2, 0.1, 2, np.random.default_rng(3), bad)
