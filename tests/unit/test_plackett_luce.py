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


# ---------------------------------------------------------------- exploration floor

def naive_floor_steps(scores, cats, order, temperature, cap, floor):
    """Step probabilities of `order` under the floored mixture, step by step: the allowed set
    (not placed, category below `cap`; no cap when None), softmax over it (the first best when
    greedy), mixed with uniform(allowed) at weight min(1, floor × |allowed|)."""
    placed, out = [], []
    for i in order:
        allowed = [j for j in range(len(scores)) if j not in placed
                   and (cap is None or sum(cats[p] == cats[j] for p in placed) < cap)]
        sub = np.asarray(scores, float)[allowed]
        if temperature > 0:
            soft = np.exp((sub - sub.max()) / temperature)
            soft /= soft.sum()
        else:
            soft = np.zeros(len(sub))
            soft[np.argmax(sub)] = 1.0  # the first of equal bests: the lower index
        eps = min(1.0, floor * len(allowed))
        out.append((1 - eps) * soft[allowed.index(i)] + eps / len(allowed))
        placed.append(i)
    return out


def enumerate_slates(scores, cats, k, temperature, cap, floor):
    """Every ordered slate the floored draw can give (shorter than k when the caps run out)
    with its probability."""
    n, out = len(scores), {}

    def grow(prefix):
        allowed = [j for j in range(n) if j not in prefix
                   and (cap is None or sum(cats[p] == cats[j] for p in prefix) < cap)]
        if len(prefix) == k or not allowed:
            out[tuple(prefix)] = np.prod(naive_floor_steps(scores, cats, prefix, temperature,
                                                           cap, floor))
            return
        for j in allowed:
            grow(prefix + [j])

    grow([])
    return out


def draw_many(scores, cats, k, temperature, cap, floor, n_draws, seed):
    """`n_draws` slates of one candidate set, drawn at once as `n_draws` groups."""
    m = len(scores)
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(n_draws), m)
    return pl.sample(np.tile(scores, n_draws), group, np.full(n_draws, k), temperature, None,
                     np.tile(cats, n_draws) if cap else None, cap, floor,
                     rng.uniform(size=(n_draws, k)))


SCORES = np.array([0.9, 0.4, 0.9, -0.3, 0.1])  # a tie at the top for the greedy case
CATS = np.array(list("aabbc"))


@pytest.mark.parametrize("temperature, cap, floor", [
    (0.5, None, 0.05), (0.5, 1, 0.1), (2.0, 2, 0.02), (0.0, None, 0.1), (0.0, 1, 0.05),
    (0.1, 2, 0.3),  # floor × 5 items >= 1: the first steps are uniform
])
def test_floored_slates_log_exact_steps_and_follow_them(temperature, cap, floor):
    k, n = 3, 30_000
    exact = enumerate_slates(SCORES, CATS, k, temperature, cap, floor)
    assert sum(exact.values()) == pytest.approx(1.0, abs=1e-12)
    s = draw_many(SCORES, CATS, k, temperature, cap, floor, n, seed=int(floor * 1000) + k)
    slates = {}
    for g, idx, prop, prefix in zip(*(np.split(a, np.flatnonzero(np.diff(s.group)) + 1)
                                      for a in (s.group, s.index, s.propensity,
                                                s.slate_propensity))):
        order = tuple((idx - g * len(SCORES)).tolist())
        slates[order] = slates.get(order, 0) + 1
        if slates[order] == 1:  # exact steps, checked once per distinct slate
            steps = naive_floor_steps(SCORES, CATS, order, temperature, cap, floor)
            np.testing.assert_allclose(prop, steps, rtol=1e-12)
            np.testing.assert_allclose(prefix, np.cumprod(steps), rtol=1e-12)
            assert prefix[-1] == pytest.approx(exact[order], rel=1e-12)
    assert set(slates) <= set(exact)
    for order, p in exact.items():
        assert abs(slates.get(order, 0) / n - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-4
    # the floor: exactly in the enumerated distribution, and within noise in the draws
    for i in range(len(SCORES)):
        p_shown = sum(p for o, p in exact.items() if i in o)
        assert p_shown >= min(floor, 1 / len(SCORES)) - 1e-12
        drawn = sum(c for o, c in slates.items() if i in o) / n
        assert drawn > min(floor, 1 / len(SCORES)) - 4 * np.sqrt(floor / n)


def test_a_full_floor_is_uniform_and_a_greedy_floor_is_epsilon_greedy():
    rng = np.random.default_rng(4)
    for _ in range(20):  # one item per category of "aabbc": 5 allowed, then 3 or 4, then 1 or 2
        s = pl.sample(SCORES, np.zeros(5, int), np.array([3]), 0.5, None, CATS, 1, 1.0,
                      rng.uniform(size=(1, 3)))
        left = [5, 4 if CATS[s.index[0]] == "c" else 3]
        left.append(1 if "c" not in CATS[s.index[:2]] else 2)
        assert s.propensity.tolist() == pytest.approx([1 / x for x in left], rel=1e-15)
    # greedy with floor 0.1 over 5 items: the best (index 0, tied with 2) gets 0.5 + 0.1
    s = pl.sample(SCORES, np.zeros(5, int), np.array([1]), 0.0, None, None, None, 0.1,
                  np.array([[0.59]]))
    assert s.index.tolist() == [0] and s.propensity[0] == pytest.approx(0.6)
    s = pl.sample(SCORES, np.zeros(5, int), np.array([1]), 0.0, None, None, None, 0.1,
                  np.array([[0.61]]))
    assert s.index.tolist() == [1] and s.propensity[0] == pytest.approx(0.1)
    # ties go to the larger per-candidate uniform when given, as without a floor
    s = pl.sample(SCORES, np.zeros(5, int), np.array([1]), 0.0, np.array([.1, .2, .9, .3, .4]),
                  None, None, 0.1, np.array([[0.05]]))
    assert s.index.tolist() == [0] and s.propensity[0] == pytest.approx(0.1)
    s = pl.sample(SCORES, np.zeros(5, int), np.array([1]), 0.0, np.array([.1, .2, .9, .3, .4]),
                  None, None, 0.1, np.array([[0.25]]))
    assert s.index.tolist() == [2] and s.propensity[0] == pytest.approx(0.6)


def test_floored_groups_are_drawn_independently_of_each_other(monkeypatch):
    """Ragged groups with sparse ids and k of 0: each group's slate, steps and propensities
    are exactly those of the group drawn alone, whatever padding or blocks it shares."""
    rng = np.random.default_rng(9)
    sizes = [7, 1, 0, 12, 4, 3]
    ids = np.array([8, 0, 5, 2, 11, 3])  # group ids in no order, some never used
    group = np.repeat(ids, sizes)
    perm = rng.permutation(len(group))  # candidates in any order
    group = group[perm]
    scores = rng.normal(size=len(group))
    cats = rng.choice(list("abc"), size=len(group))
    k = np.zeros(12, int)
    k[ids] = [4, 2, 3, 5, 0, 3]
    u = rng.uniform(size=(12, 5))
    whole = pl.sample(scores, group, k, 0.4, None, cats, 2, 0.04, u)
    monkeypatch.setattr(pl, "_MAX_CELLS", 10)  # one group per block
    blocks = pl.sample(scores, group, k, 0.4, None, cats, 2, 0.04, u)
    for a, b in zip(whole.__dict__.values(), blocks.__dict__.values()):
        assert np.array_equal(a, b)
    assert set(whole.group.tolist()) == {8, 0, 2, 3}  # size 0 and k 0 give no slate
    for g in np.unique(whole.group):
        mine = group == g
        alone = pl.sample(scores[mine], np.zeros(mine.sum(), int), k[[g]], 0.4, None,
                          cats[mine], 2, 0.04, u[[g]])
        at = whole.group == g
        assert np.array_equal(np.flatnonzero(mine)[alone.index], whole.index[at])
        assert np.array_equal(alone.propensity, whole.propensity[at])
        steps = naive_floor_steps(scores[mine], cats[mine], alone.index.tolist(), 0.4, 2, 0.04)
        np.testing.assert_allclose(alone.propensity, steps, rtol=1e-12)


# Today's draws, recorded before the floor existed: floor 0 must give exactly these.
_GOLDEN_INDEX = {0.5: [0, 4, 5, 6, 10, 12, 15, 13, 17, 16, 23, 24, 22],
                 0.0: [4, 0, 3, 6, 10, 15, 12, 13, 17, 16, 23, 22, 20]}
_GOLDEN_PROP = [
    "0x1.f92a142928bd8p-3", "0x1.16cf67669cd21p-1", "0x1.bfdfa4fe2ff0dp-3", "0x1.0p+0",
    "0x1.fa330c1407661p-2", "0x1.90243fa6dc74dp-2", "0x1.5060a92672cf4p-1",
    "0x1.415ab18faa4e8p-1", "0x1.eee15a1c11b4ap-2", "0x1.afae34ecff72fp-1",
    "0x1.a0eb885c07001p-1", "0x1.6240d4a100972p-4", "0x1.213710dcbef4dp-1"]
_GOLDEN_PREFIX = [
    "0x1.f92a142928bd8p-3", "0x1.13167b7ab4ed4p-3", "0x1.e144937c5cbafp-6", "0x1.0p+0",
    "0x1.fa330c1407661p-2", "0x1.8b9bb7f4bfaf1p-3", "0x1.03e8e09db72bap-3",
    "0x1.464315ca996b0p-4", "0x1.eee15a1c11b47p-2", "0x1.a13f151836603p-2",
    "0x1.a0eb885c07000p-1", "0x1.2077a3dd4d596p-4", "0x1.45e51cb14118dp-5"]


@pytest.mark.parametrize("temperature", [0.5, 0.0])
def test_no_floor_gives_todays_draws_bit_for_bit(temperature):
    rng = np.random.default_rng(2024)
    group = np.repeat(np.arange(6), [6, 1, 9, 4, 0, 5])
    cats = rng.choice(list("abc"), size=len(group), p=[0.5, 0.3, 0.2])
    scores = rng.normal(size=len(group))
    u = rng.uniform(size=len(group))
    k = np.array([3, 2, 4, 2, 1, 5])
    plain = pl.sample(scores, group, k, temperature, u, cats, 2)
    zero = pl.sample(scores, group, k, temperature, u, cats, 2, 0.0, np.full((6, 5), 0.5))
    assert plain.index.tolist() == _GOLDEN_INDEX[temperature]
    assert plain.position.tolist() == [1, 2, 3, 1, 1, 2, 3, 4, 1, 2, 1, 2, 3]
    prop = [1.0] * 13 if temperature == 0 else [float.fromhex(x) for x in _GOLDEN_PROP]
    prefix = [1.0] * 13 if temperature == 0 else [float.fromhex(x) for x in _GOLDEN_PREFIX]
    assert plain.propensity.tolist() == prop and plain.slate_propensity.tolist() == prefix
    for a, b in zip(plain.__dict__.values(), zero.__dict__.values()):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("floor, step_uniforms, match", [
    (-0.1, None, r"floor must be within \[0, 1\]"),
    (1.5, np.full((1, 3), 0.5), r"floor must be within \[0, 1\]"),
    (float("nan"), np.full((1, 3), 0.5), r"floor must be within \[0, 1\]"),
    (0.1, None, "needs step_uniforms"),
    (0.1, np.full((1, 2), 0.5), r"step_uniforms has shape \(1, 2\)"),
    (0.1, np.full(3, 0.5), r"step_uniforms has shape \(3,\)"),
])
def test_bad_floor_arguments(floor, step_uniforms, match):
    with pytest.raises(ValueError, match=match):
        pl.sample(SCORES, np.zeros(5, int), np.array([3]), 0.5, None, None, None, floor,
                  step_uniforms)
