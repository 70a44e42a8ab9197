"""Off-policy estimators against closed-form truth on synthetic contextual bandits (single
position and slates with independent positions), over many seeds: the unbiased ones centre on
the truth within 3σ/√seeds, SNIPS stays in the reward range, DR is exact with a perfect reward
model, the bootstrap intervals cover the truth near 95 % of the time, ESS = n on-policy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from pipelines.ope import LoggedBandit, estimate
from pipelines.ope import estimators as est
from pipelines.ope.bootstrap import cluster_sums, percentile_interval, resample_totals
from pipelines.ope.reward_model import cross_fitted, fit_predict


@dataclass(frozen=True)
class World:
    """Contexts c uniform over C; at position l action a has expected reward q[c, a, l], times
    Π_{j<l}(1 − gamma·q[c, a_j, j]) under the cascade (gamma > 0); both policies draw each
    position independently: pi_b[c, l, a] logs, pi_e[c, l, a] is evaluated."""

    q: np.ndarray
    pi_b: np.ndarray
    pi_e: np.ndarray
    gamma: float = 0.0

    def position_means(self, pi: np.ndarray) -> np.ndarray:
        """m[c, l] = Σ_a pi[c, l, a] q[c, a, l]."""
        return np.einsum("cla,cal->cl", pi, self.q)

    def value(self, pi_at: np.ndarray, pi_above: np.ndarray) -> float:
        """E_c Σ_l m_l(pi_at) Π_{j<l}(1 − gamma m_j(pi_above)): the truth with pi_at = pi_above
        = pi_e; what IIPS estimates with pi_above = pi_b (it reweights position l only)."""
        above = np.cumprod(1 - self.gamma * self.position_means(pi_above), axis=1)
        above = np.hstack([np.ones((len(above), 1)), above[:, :-1]])
        return float((self.position_means(pi_at) * above).sum(axis=1).mean())

    @property
    def truth(self) -> float:
        return self.value(self.pi_e, self.pi_e)


def make_world(seed: int, contexts: int = 3, actions: int = 4, positions: int = 3,
               gamma: float = 0.0, deterministic: bool = False) -> World:
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.05, 0.6, size=(contexts, actions, positions))
    pi_b = 0.6 * rng.dirichlet(np.ones(actions), size=(contexts, positions)) + 0.4 / actions
    if deterministic:
        pi_e = np.eye(actions)[rng.integers(0, actions, size=(contexts, positions))]
    else:
        pi_e = rng.dirichlet(np.full(actions, 0.7), size=(contexts, positions))
    return World(q, pi_b, pi_e, gamma)


def cascade_world(gamma: float) -> World:
    """An evaluated policy that favours high rewards at every position and a uniform logging
    one: under the cascade the positions above matter, and differ between them."""
    q = make_world(1, positions=3).q
    pi_e = np.exp(8 * np.moveaxis(q, 1, 2))
    pi_e /= pi_e.sum(axis=-1, keepdims=True)
    return World(q, np.full_like(pi_e, 1 / q.shape[1]), pi_e, gamma)


@dataclass(frozen=True)
class Draws:
    """[seeds, rows] arrays, rows = rounds × positions in round-major order."""

    context: np.ndarray
    action: np.ndarray
    position: np.ndarray
    round_id: np.ndarray
    reward: np.ndarray
    expected: np.ndarray  # E[reward | context, the slate's actions]
    pscore: np.ndarray
    action_dist: np.ndarray  # [seeds, rows, K]
    q_rows: np.ndarray  # [seeds, rows, K] q[c, a, l] for every a (the per-position model)
    pscore_cascade: np.ndarray
    evaluation_pscore_cascade: np.ndarray

    def bandit(self, s: int, **extra) -> LoggedBandit:
        return LoggedBandit(action=self.action[s], position=self.position[s],
                            reward=self.reward[s], pscore=self.pscore[s],
                            action_dist=self.action_dist[s], round_id=self.round_id[s],
                            pscore_cascade=self.pscore_cascade[s],
                            evaluation_pscore_cascade=self.evaluation_pscore_cascade[s], **extra)


def draw(world: World, seeds: int, rounds: int, seed: int, noise: bool = True) -> Draws:
    """Logged data of `seeds` independent datasets of `rounds` rounds each, all at once."""
    rng = np.random.default_rng(seed)
    n_ctx, k, n_pos = world.q.shape
    c = rng.integers(0, n_ctx, size=(seeds, rounds))
    cdf = np.cumsum(world.pi_b[c], axis=-1)  # [S, n, L, K]
    a = np.minimum((rng.uniform(size=(seeds, rounds, n_pos))[..., None] > cdf).sum(-1), k - 1)
    pos = np.broadcast_to(np.arange(n_pos), a.shape)
    cc = np.broadcast_to(c[..., None], a.shape)
    q_at = world.q[cc, a, pos]
    above = np.cumprod(1 - world.gamma * q_at, axis=-1)
    above = np.concatenate([np.ones((seeds, rounds, 1)), above[..., :-1]], axis=-1)
    expected = q_at * above
    reward = rng.binomial(1, expected).astype(float) if noise else expected
    pb, pe = world.pi_b[cc, pos, a], world.pi_e[cc, pos, a]
    flat = (seeds, rounds * n_pos)
    return Draws(
        context=cc.reshape(flat), action=a.reshape(flat), position=pos.reshape(flat),
        round_id=np.broadcast_to(np.repeat(np.arange(rounds), n_pos), flat),
        reward=reward.reshape(flat), expected=expected.reshape(flat), pscore=pb.reshape(flat),
        action_dist=world.pi_e[cc, pos].reshape(*flat, k),
        q_rows=world.q[cc, :, pos].reshape(*flat, k),
        pscore_cascade=np.cumprod(pb, axis=-1).reshape(flat),
        evaluation_pscore_cascade=np.cumprod(pe, axis=-1).reshape(flat))


def point(name: str, d: Draws, s: int, q_hat: np.ndarray | None = None) -> float:
    """One estimator's value on dataset s, from the pure functions."""
    first = (d.position[s] == 0).astype(float)
    w = est.importance_weights(d.action_dist[s], d.action[s], d.pscore[s])
    if name == "ips":
        return est.ips(d.reward[s], w, first).point()
    if name == "snips":
        return est.snips(d.reward[s], w, d.position[s], first).point()
    if name == "dr":
        return est.dr(d.reward[s], w, d.action[s], d.action_dist[s], q_hat, first).point()
    if name == "cascade":
        return est.cascade(d.reward[s], d.pscore_cascade[s], d.evaluation_pscore_cascade[s],
                           first).point()
    raise ValueError(name)


SEEDS, ROUNDS = 200, 200


def _within_3_sigma(values: np.ndarray, target: float) -> tuple[float, float]:
    bias = values.mean() - target
    bound = 3 * values.std(ddof=1) / np.sqrt(len(values))
    return bias, bound


@pytest.mark.parametrize("positions, gamma, estimator, q_shift", [
    (1, 0.0, "ips", None),
    (3, 0.0, "ips", None),  # IIPS on independent positions
    (1, 0.0, "dr", 0.15),  # DR with a wrong reward model: unbiased through the correction
    (3, 0.0, "dr", -0.1),
    (3, 0.0, "cascade", None),  # RIPS: any reward that depends on the prefix, here none
    (3, 0.9, "cascade", None),  # RIPS under the cascade, where IIPS is biased
])
def test_unbiased_estimators_centre_on_the_truth(positions, gamma, estimator, q_shift):
    world = cascade_world(gamma) if gamma else make_world(1, positions=positions)
    d = draw(world, SEEDS, ROUNDS, seed=2)
    q_hat = None if q_shift is None else d.q_rows + q_shift
    values = np.array([point(estimator, d, s, None if q_hat is None else q_hat[s])
                       for s in range(SEEDS)])
    bias, bound = _within_3_sigma(values, world.truth)
    assert abs(bias) <= bound, (bias, bound)


def test_iips_is_biased_under_the_cascade_and_centres_on_what_it_estimates():
    world = cascade_world(0.9)
    d = draw(world, SEEDS, ROUNDS, seed=3)
    values = np.array([point("ips", d, s) for s in range(SEEDS)])
    # it reweights each position alone, so the positions above stay the logging policy's
    bias, bound = _within_3_sigma(values, world.value(world.pi_e, world.pi_b))
    assert abs(bias) <= bound
    bias_to_truth, bound = _within_3_sigma(values, world.truth)
    assert abs(bias_to_truth) > 3 * bound


def test_snips_stays_within_the_reward_range_where_ips_does_not():
    world = make_world(4, positions=2)
    pi_b = world.pi_b.copy()  # a logging policy that rarely shows what the evaluated one likes
    pi_b[..., 0] = 0.02
    pi_b[..., 1:] *= 0.98 / pi_b[..., 1:].sum(-1, keepdims=True)
    pi_e = np.zeros_like(world.pi_e)
    pi_e[..., 0] = 0.9
    pi_e[..., 1:] = 0.1 / (pi_e.shape[-1] - 1)
    d = draw(World(world.q, pi_b, pi_e), SEEDS, 30, seed=5)
    rng = np.random.default_rng(6)
    reward = rng.uniform(0.5, 2, size=d.reward.shape)  # any reward range
    d = Draws(**{**d.__dict__, "reward": reward})
    ips_out = 0
    for s in range(SEEDS):
        slots = 2
        lo, hi = reward[s].min(), reward[s].max()
        snips_slot = point("snips", d, s) / slots
        assert lo - 1e-12 <= snips_slot <= hi + 1e-12
        ips_slot = point("ips", d, s) / slots
        ips_out += not lo <= ips_slot <= hi
    assert ips_out > 0.2 * SEEDS  # the bound is SNIPS's own, not the data's


@pytest.mark.parametrize("deterministic", [False, True])
def test_dr_with_the_true_expected_reward_is_the_plug_in_whatever_the_propensities(
        deterministic):
    world = make_world(7, positions=3, deterministic=deterministic)
    d = draw(world, 5, 300, seed=8, noise=False)  # reward = its expectation
    rng = np.random.default_rng(9)
    for s in range(5):
        wrong = np.clip(d.pscore[s] * rng.uniform(0.2, 3, size=d.pscore[s].shape), 1e-3, 1)
        dd = Draws(**{**d.__dict__, "pscore": d.pscore.copy()})
        dd.pscore[s] = wrong
        plug_in = (d.action_dist[s] * d.q_rows[s]).sum() / 300
        assert point("dr", dd, s, d.q_rows[s]) == pytest.approx(plug_in, abs=1e-9)


def test_dr_with_a_perfect_model_errs_only_by_the_reward_noise():
    world = make_world(10, positions=3)
    d = draw(world, SEEDS, ROUNDS, seed=11)
    dr_values, ips_values = [], []
    for s in range(SEEDS):
        w = est.importance_weights(d.action_dist[s], d.action[s], d.pscore[s])
        plug_in = (d.action_dist[s] * d.q_rows[s]).sum() / ROUNDS
        noise = (w * (d.reward[s] - d.expected[s])).sum() / ROUNDS
        dr_values.append(point("dr", d, s, d.q_rows[s]))
        assert dr_values[-1] == pytest.approx(plug_in + noise, abs=1e-9)
        ips_values.append(point("ips", d, s))
    assert np.std(dr_values) < 0.8 * np.std(ips_values)


def test_ess_is_n_on_policy_and_the_formula_elsewhere():
    world = make_world(12, positions=2)
    d = draw(World(world.q, world.pi_b, world.pi_b), 1, 100, seed=13)
    result = estimate(d.bandit(0), ["ips", "snips", "cascade"], n_bootstrap=0)
    for name in ("ips", "snips", "cascade"):
        assert result["estimators"][name]["n_eff"] == pytest.approx(200, rel=1e-12)
        assert result["estimators"][name]["n"] == 200
    assert est.effective_sample_size(np.array([0.0, 1.0, 2.0])) == pytest.approx(9 / 5)
    assert est.effective_sample_size(np.zeros(3)) == 0.0
    # on-policy, IPS is the logged mean
    assert result["estimators"]["ips"]["value"] == pytest.approx(result["on_policy"]["value"])


def test_on_policy_ips_and_snips_are_the_logged_value_with_rounds_of_any_length():
    world = make_world(23, positions=3)
    d = draw(World(world.q, world.pi_b, world.pi_b), 1, 200, seed=24)
    keep = (d.position[0] == 0) | (d.round_id[0] % 3 != 0)  # a third of the rounds show one
    keep &= (d.position[0] < 2) | (d.round_id[0] % 2 == 0)
    b = LoggedBandit(action=d.action[0][keep], position=d.position[0][keep],
                     reward=d.reward[0][keep], pscore=d.pscore[0][keep],
                     action_dist=d.action_dist[0][keep], round_id=d.round_id[0][keep])
    res = estimate(b, ["ips", "snips"], n_bootstrap=0)
    logged = d.reward[0][keep].sum() / 200
    assert res["on_policy"]["value"] == pytest.approx(logged, rel=1e-12)
    assert res["positions_per_round"] == pytest.approx(keep.sum() / 200)
    for name in ("ips", "snips"):  # every weight is 1
        assert res["estimators"][name]["value"] == pytest.approx(logged, rel=1e-12), name


def _coverage(world: World, rounds: int, draws: int, estimators: list[str], cluster_size: int = 1,
              cluster_sd: float = 0.0, q_shift: float = 0.1, resample_rounds: bool = False
              ) -> dict[str, float]:
    """Share of `draws` datasets whose 95 % interval covers the truth, per estimator."""
    d = draw(world, draws, rounds, seed=20)
    rng = np.random.default_rng(21)
    hits = {name: 0 for name in estimators}
    for s in range(draws):
        reward = d.reward[s]
        if cluster_sd:  # each cluster's rewards shift together by a mean-zero effect
            clusters = d.round_id[s] // cluster_size
            effect = rng.normal(0, cluster_sd, size=clusters.max() + 1)[clusters]
            reward = d.expected[s] + effect + rng.normal(0, 0.3, size=len(reward))
        b = LoggedBandit(action=d.action[s], position=d.position[s], reward=reward,
                         pscore=d.pscore[s], action_dist=d.action_dist[s],
                         round_id=d.round_id[s], estimated_rewards=d.q_rows[s] + q_shift,
                         cluster_id=None if resample_rounds or cluster_size == 1
                         else d.round_id[s] // cluster_size)
        res = estimate(b, estimators, n_bootstrap=400, seed=s)
        for name in estimators:
            r = res["estimators"][name]
            hits[name] += r["ci95_low"] <= world.truth <= r["ci95_high"]
    return {name: h / draws for name, h in hits.items()}


def test_bootstrap_intervals_cover_the_truth_near_95_percent():
    world = make_world(14, positions=2)
    cover = _coverage(world, rounds=300, draws=200, estimators=["ips", "dr"])
    for name, share in cover.items():
        assert 0.90 <= share <= 0.99, (name, share)


def test_resampling_clusters_covers_where_resampling_rounds_does_not():
    world = make_world(15, positions=1)
    # 80 clusters: with few (20) the percentile interval under-covers (0.90 measured)
    kw = dict(rounds=800, draws=200, estimators=["dr"], cluster_size=10, cluster_sd=0.4)
    by_cluster = _coverage(world, **kw)["dr"]
    by_round = _coverage(world, resample_rounds=True, **kw)["dr"]
    assert 0.90 <= by_cluster <= 0.99
    assert by_round < 0.88  # rounds of one cluster are not independent


def test_bootstrap_resamples_whole_units_reproducibly():
    sums = np.array([[1.0, 1.0], [10.0, 1.0], [100.0, 1.0]])
    totals = resample_totals(sums, 500, seed=3)
    assert (totals[:, 1] == 3).all()  # three units drawn each time
    assert np.array_equal(totals, resample_totals(sums, 500, seed=3))
    # each total is a sum of whole units: its digits count the draws of each unit
    digits = np.stack([totals[:, 0] // 100, totals[:, 0] // 10 % 10, totals[:, 0] % 10], 1)
    assert (digits.sum(axis=1) == 3).all()
    unit = np.array([0, 0, 1, 2, 2, 2])
    np.testing.assert_array_equal(cluster_sums(np.ones((6, 1)), unit, 3)[:, 0], [2, 1, 3])
    iv = percentile_interval(np.arange(1001.0))
    assert (iv.low, iv.high) == (25.0, 975.0)


def test_estimate_reports_each_estimator_with_interval_and_reasons():
    world = make_world(16, positions=3)
    d = draw(world, 1, 150, seed=17)
    b = d.bandit(0, cluster_id=d.round_id[0] // 5)
    res = estimate(b, ["ips", "snips", "dr", "cascade"], n_bootstrap=200, seed=1)
    assert res["rounds"] == 150 and res["rows"] == 450 and res["clusters"] == 30
    assert res["resampled"] == "clusters" and res["positions_per_round"] == 3
    assert res["estimators"]["dr"] == {
        "available": False,
        "reason": "no estimated_rewards column and no context_* columns to fit a reward model on"}
    ips = res["estimators"]["ips"]
    assert ips["value"] == pytest.approx(point("ips", d, 0))
    assert ips["per_slot"] == pytest.approx(ips["value"] / 3)
    assert ips["ci95_low"] < ips["value"] < ips["ci95_high"]
    assert res["estimators"]["cascade"]["value"] == pytest.approx(point("cascade", d, 0))
    assert res == estimate(b, ["ips", "snips", "dr", "cascade"], n_bootstrap=200, seed=1)
    bare = LoggedBandit(action=b.action, position=b.position, reward=b.reward, pscore=b.pscore,
                        action_dist=b.action_dist, round_id=b.round_id)
    cascade = estimate(bare, ["cascade"], n_bootstrap=0)["estimators"]["cascade"]
    assert cascade == {"available": False, "reason": "no pscore_cascade and no "
                                                     "evaluation_pscore_cascade column"}


def test_the_cross_fitted_reward_model_recovers_a_linear_truth_and_keeps_dr_unbiased():
    rng = np.random.default_rng(18)
    n, k, p = 6000, 5, 2
    x = rng.normal(size=(n, 3))
    a, pos = rng.integers(0, k, n), rng.integers(0, p, n)
    theta, beta = rng.normal(size=(3, k)), rng.normal(size=(p, k))
    truth = x @ theta + beta[pos]  # [n, k]: context × action and position × action
    logged = truth[np.arange(n), a]
    q_hat = fit_predict(x, a, pos, logged, np.arange(n), np.arange(n), k, p)
    # within the clip to the rewards seen, the model is the truth up to the ridge's shrinkage
    assert np.abs(q_hat - np.clip(truth, logged.min(), logged.max())).max() < 0.02

    world = make_world(19, contexts=4, positions=2)
    seeds = 40
    d = draw(world, seeds, 300, seed=22)
    dr_values, ips_values = [], []
    for s in range(seeds):
        onehot = np.eye(4)[d.context[s]]
        first = (d.position[s] == 0).astype(float)
        q = cross_fitted(onehot, d.action[s], d.position[s], d.reward[s], d.round_id[s] // 10,
                         4, folds=5)
        w = est.importance_weights(d.action_dist[s], d.action[s], d.pscore[s])
        dr_values.append(est.dr(d.reward[s], w, d.action[s], d.action_dist[s], q,
                                first).point())
        ips_values.append(point("ips", d, s))
    bias, bound = _within_3_sigma(np.array(dr_values), world.truth)
    assert abs(bias) <= bound
    assert np.std(dr_values) < np.std(ips_values)
