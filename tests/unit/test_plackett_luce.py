import itertools

import numpy as np
import pytest

from pipelines.policy import plackett_luce as pl


def naive_step_probs(scores, temperature, order):
    """Textbook Plackett–Luce: probability of each pick given the items not yet placed."""
    remaining = list(range(len(scores)))
    out = []
    for i in order:
        w = np.exp(np.asarray(scores)[remaining] / temperature)
        out.append(np.exp(scores[i] / temperature) / w.sum())
        remaining.remove(i)
    return out


def test_logged_propensities_match_the_sampling_distribution():
    rng = np.random.default_rng(0)
    scores = np.array([1.0, 0.5, 0.0, -1.0])
    group, k, temp, n = np.zeros(4, int), np.array([2]), 0.8, 40_000
    counts, logged = {}, {}
    for _ in range(n):
        s = pl.sample(scores, group, k, temp, rng.uniform(size=4))
        key = tuple(s.index.tolist())
        counts[key] = counts.get(key, 0) + 1
        logged[key] = s.slate_propensity[-1]
    for a, b in itertools.permutations(range(4), 2):
        expected = np.prod(naive_step_probs(scores, temp, [a, b]))
        assert logged[(a, b)] == pytest.approx(expected, rel=1e-9)
        se = np.sqrt(expected * (1 - expected) / n)
        assert abs(counts[(a, b)] / n - expected) < 5 * se + 1e-4


def test_groups_are_sampled_independently_with_exact_steps():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=12)
    group = np.repeat([0, 1, 2], [5, 4, 3])
    s = pl.sample(scores, group, np.array([3, 2, 1]), 0.5, rng.uniform(size=12))
    assert s.group.tolist() == [0, 0, 0, 1, 1, 2] and s.position.tolist() == [1, 2, 3, 1, 2, 1]
    for g in range(3):
        idx = s.index[s.group == g]
        local = idx - np.flatnonzero(group == g)[0]
        expected = naive_step_probs(scores[group == g], 0.5, local.tolist())
        np.testing.assert_allclose(s.propensity[s.group == g], expected, rtol=1e-12)
        np.testing.assert_allclose(s.slate_propensity[s.group == g], np.cumprod(expected),
                                   rtol=1e-12)


def test_greedy_is_deterministic_with_propensity_one():
    scores = np.array([0.1, 0.9, 0.5])
    s = pl.sample(scores, np.zeros(3, int), np.array([2]), 0.0, np.full(3, 0.5))
    assert s.index.tolist() == [1, 2] and s.propensity.tolist() == [1.0, 1.0]


def test_slates_shorter_than_k_take_every_candidate():
    s = pl.sample(np.array([0.0, 1.0]), np.zeros(2, int), np.array([5]), 1.0, np.full(2, 0.3))
    assert sorted(s.index.tolist()) == [0, 1]
    assert s.propensity[-1] == pytest.approx(1.0)


def test_capped_groups_log_the_exact_steps_of_each_slate():
    from tests.unit.test_policy import naive_slate_probability

    rng = np.random.default_rng(5)
    sizes = [7, 1, 9, 4]
    group = np.repeat(np.arange(4), sizes)
    cats = rng.choice(list("abc"), size=len(group), p=[0.6, 0.3, 0.1])
    for _ in range(50):
        scores = rng.normal(size=len(group)) * 2
        s = pl.sample(scores, group, np.array([4, 3, 5, 2]), 0.6, rng.uniform(size=len(group)),
                      cats, 2)
        for g in range(4):
            mine = s.group == g
            idx = s.index[mine]
            local, pool = idx - np.flatnonzero(group == g)[0], group == g
            assert max(np.unique(cats[idx], return_counts=True)[1], default=0) <= 2
            steps = [naive_slate_probability(scores[pool], cats[pool], local[: j + 1], 0.6, 2)
                     for j in range(len(local))]
            np.testing.assert_allclose(s.slate_propensity[mine], steps, rtol=1e-9)


def test_greedy_with_a_cap_skips_full_categories():
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.05])
    s = pl.sample(scores, np.zeros(5, int), np.array([3]), 0.0, None, np.array(list("aaabb")), 2)
    assert s.index.tolist() == [0, 1, 3] and s.propensity.tolist() == [1.0, 1.0, 1.0]
