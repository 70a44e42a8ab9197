"""Per-position Plackett–Luce marginals by sampling, against brute-force enumeration of every
ordered slate (with and without the per-category cap)."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.policy import plackett_luce as pl
from pipelines.policy.marginals import marginals


def enumerated(scores: np.ndarray, cats: np.ndarray | None, k: int, temperature: float,
               cap: int | None, floor: float = 0.0) -> np.ndarray:
    """[n, k] exact P(item at position j): every ordered prefix walked step by step, each
    step a softmax over the allowed items (not placed, category not full), mixed with a
    uniform draw over them by the exploration floor: (1 − ε)·softmax + ε/|A|, ε = min(1, f·|A|).
    """
    n = len(scores)
    out = np.zeros((n, k))

    def walk(placed: list[int], prob: float) -> None:
        j = len(placed)
        if j == k:
            return
        allowed = [i for i in range(n) if i not in placed and (
            cap is None or sum(cats[p] == cats[i] for p in placed) < cap)]
        if not allowed:
            return
        w = np.exp(scores[allowed] / temperature)
        eps = min(1.0, floor * len(allowed))
        for i, step in zip(allowed, (1 - eps) * w / w.sum() + eps / len(allowed)):
            out[i, j] += prob * step
            walk(placed + [i], prob * step)

    walk([], 1.0)
    return out


SIZES, K, T, N = [5, 4, 2, 6], 3, 0.7, 20_000


@pytest.mark.parametrize("cap, floor", [(None, 0.0), (1, 0.0), (2, 0.0), (2, 0.05)])
def test_sampled_marginals_match_enumeration(cap, floor):
    rng = np.random.default_rng(cap or 0)
    group = np.repeat(np.arange(len(SIZES)), SIZES)
    order = rng.permutation(len(group))  # groups interleaved: ids, not runs, define slates
    group = group[order]
    scores = rng.normal(size=len(group)) * 1.5
    cats = rng.choice(np.array(list("ab")), size=len(group))
    m = marginals(scores, group, K, T, cats if cap else None, cap, n_samples=N, seed=1,
                  floor=floor)
    assert m.p.shape == (len(group), K) and m.n_samples == N
    # Rao–Blackwellised: never noisier than counting the draws (up to the noise of the
    # standard error itself), and exact at the first position
    assert (m.stderr <= 1.1 * np.sqrt(m.p * (1 - m.p) / N) + 1e-12).all()
    assert (m.stderr[:, 0] < 1e-7).all()
    for g in range(len(SIZES)):
        mine = np.flatnonzero(group == g)
        exact = enumerated(scores[mine], cats[mine], K, T, cap, floor)
        se = np.sqrt(exact * (1 - exact) / N)
        assert (np.abs(m.p[mine] - exact) <= 4 * se + 1e-12).all(), (g, m.p[mine], exact)
        # each draw fills a position once while items last: a column sums to 1 exactly
        filled = exact.sum(axis=0)
        np.testing.assert_allclose(m.p[mine].sum(axis=0)[filled > 1 - 1e-12], 1.0, atol=1e-12)
        np.testing.assert_allclose(m.shown[mine], m.p[mine].sum(axis=1))
        # the positions' estimates come from the same draws: bound their sum's error by the sum
        # of their errors
        shown_se = m.stderr[mine].sum(axis=1)
        assert (np.abs(m.shown[mine] - exact.sum(axis=1)) <= 4 * shown_se + 1e-12).all()


def test_the_cap_changes_the_marginals_as_enumeration_says():
    scores = np.array([2.0, 1.9, 1.8, -1.0])
    cats = np.array(list("aaab"))
    capped = marginals(scores, np.zeros(4, int), 3, 1.0, cats, 1, n_samples=N, seed=2)
    exact = enumerated(scores, cats, 3, 1.0, 1)
    assert exact[:, 2].sum() == 0  # one 'a' and the 'b': no third item
    np.testing.assert_array_equal(capped.p[:, 2], 0)
    np.testing.assert_allclose(capped.p[:, :2], exact[:, :2], atol=4 * 0.5 / np.sqrt(N))
    assert abs(capped.shown[3] - 1.0) <= 4 * capped.stderr[3].sum()  # 'b' is always shown


def test_per_group_sizes_greedy_and_reproducible():
    scores = np.array([0.3, 0.9, 0.1, 0.5, 0.2])
    group = np.array([0, 0, 0, 1, 1])
    greedy = marginals(scores, group, np.array([2, 1]), 0.0, n_samples=50, seed=0)
    expected = np.zeros((5, 2))
    expected[[1, 0, 3], [0, 1, 0]] = 1.0
    np.testing.assert_array_equal(greedy.p, expected)
    np.testing.assert_array_equal(greedy.stderr, 0)
    a = marginals(scores, group, 2, 0.5, n_samples=3000, seed=7)
    b = marginals(scores, group, 2, 0.5, n_samples=3000, seed=7)
    np.testing.assert_array_equal(a.p, b.p)
    assert not np.array_equal(a.p, marginals(scores, group, 2, 0.5, n_samples=3000, seed=8).p)


def test_marginals_are_the_propensities_of_the_slates_sample_draws():
    """The marginal of an item at position 1 equals its first-step probability, which sample
    logs exactly."""
    rng = np.random.default_rng(3)
    scores = rng.normal(size=6)
    m = marginals(scores, np.zeros(6, int), 2, 0.8, n_samples=N, seed=4)
    s = pl.sample(scores, np.zeros(6, int), np.array([2]), 0.8, rng.uniform(size=6))
    first = np.exp(scores / 0.8) / np.exp(scores / 0.8).sum()
    assert s.propensity[0] == pytest.approx(first[s.index[0]])
    se = np.sqrt(first * (1 - first) / N)
    assert (np.abs(m.p[:, 0] - first) <= 4 * se).all()


def test_chunks_give_the_same_counts_as_one_call(monkeypatch):
    import pipelines.policy.marginals as mod

    scores = np.array([0.1, 0.4, -0.3])
    one = marginals(scores, np.zeros(3, int), 2, 0.5, n_samples=1000, seed=5)
    monkeypatch.setattr(mod, "CHUNK_ROWS", 7)  # two replicates per call
    many = marginals(scores, np.zeros(3, int), 2, 0.5, n_samples=1000, seed=5)
    assert many.p.sum() == pytest.approx(2.0) and one.p.sum() == pytest.approx(2.0)
    assert np.abs(many.p - one.p).max() < 0.1  # other draws, same distribution
