"""Per-position marginal probabilities of Plackett–Luce slates, estimated by sampling.

P(item i at position j) sums the probabilities of every ordered prefix that puts i at j: no
closed form, and enumeration grows as n!/(n−j)!. So the slates are drawn `n_samples` times with
the very function that draws them in the service and the simulator (`plackett_luce.sample`,
with its per-category cap and exploration floor), all replicates at once as extra groups.

The estimate is Rao–Blackwellised: for each drawn slate and position j it averages the exact
probability of every item at step j given the drawn prefix before j (a softmax over the items
still allowed, mixed with the floor's uniform), rather than counting which item the draw put
there. That is unbiased, never lower in variance, exact at the first position, and positive for
every item that some drawn prefix leaves allowed, so an item that was really shown never gets a
propensity of 0. Greedy slates (temperature 0) are counted. The standard errors
are those of the mean over draws. These are the per-position propensities that the
independent-item off-policy estimator (pipelines.ope) divides by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.policy.plackett_luce import allowed_until, sample

CHUNK_ROWS = 2_000_000  # candidate rows (items × replicates) drawn per call


@dataclass(frozen=True)
class Marginals:
    """p[i, j]: probability that candidate i is shown at position j (0 = top), estimated from
    n_samples draws, and its Monte-Carlo standard error."""

    p: np.ndarray  # [n_items, k_max]
    stderr: np.ndarray  # [n_items, k_max]
    n_samples: int

    @property
    def shown(self) -> np.ndarray:
        """[n_items]: probability that each candidate is shown at any position."""
        return self.p.sum(axis=1)


def marginals(scores: np.ndarray, group: np.ndarray, k: int | np.ndarray, temperature: float,
              category: np.ndarray | None = None, max_per_category: int | None = None,
              n_samples: int = 10_000, seed: int = 0, floor: float = 0.0) -> Marginals:
    """Per-position marginals of the slates `plackett_luce.sample` draws: `group` holds each
    candidate's slate id (integers ≥ 0), `k` the slate size (one for all, or one per group id),
    the rest (the exploration `floor` too) as in `sample`. Each group is drawn `n_samples`
    times from `seed`."""
    scores = np.asarray(scores, float)
    group = np.asarray(group, np.int64)
    n = len(scores)
    n_groups = int(group.max()) + 1 if n else 0
    k_arr = np.broadcast_to(np.asarray(k, np.int64), (n_groups,)) if n else np.zeros(0, int)
    k_max = int(k_arr.max()) if n else 0
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    total, squares = np.zeros((n, max(k_max, 1))), np.zeros((n, max(k_max, 1)))
    rng = np.random.default_rng(seed)
    per_call = max(1, CHUNK_ROWS // max(n, 1))
    cat = None if category is None else np.asarray(category)
    cat_code = None if cat is None else np.unique(cat, return_inverse=True)[1]
    counted = temperature == 0  # greedy steps given the prefix are the draw itself
    for start in range(0, n_samples, per_call):
        reps = min(per_call, n_samples - start)
        rep_group = (np.arange(reps)[:, None] * n_groups + group[None, :]).ravel()
        floored = {"floor": floor, "step_uniforms": rng.uniform(size=(reps * n_groups, k_max))
                   } if floor > 0 else {}
        s = sample(np.tile(scores, reps), rep_group, np.tile(k_arr, reps), temperature,
                   rng.uniform(size=reps * n), None if cat is None else np.tile(cat, reps),
                   max_per_category, **floored)
        if counted:
            hit = np.zeros((reps * n, max(k_max, 1)))
            hit[s.index, s.position - 1] = 1.0
            steps = [hit[:, j] for j in range(k_max)]
        else:
            steps = _conditional_steps(scores / temperature, n, reps, rep_group, s,
                                       None if cat_code is None else np.tile(cat_code, reps),
                                       max_per_category, floor, k_max)
        for j, x in enumerate(steps):
            x = x.reshape(reps, n)
            total[:, j] += x.sum(axis=0)
            squares[:, j] += (x * x).sum(axis=0)
    p = total[:, :k_max] / n_samples
    var = np.maximum(squares[:, :k_max] / n_samples - p * p, 0.0)
    return Marginals(p, np.sqrt(var / n_samples), n_samples)


def _conditional_steps(logits: np.ndarray, n: int, reps: int, rep_group: np.ndarray, s, cat_code: np.ndarray | None,
                       max_per_category: int | None, floor: float, k_max: int
                       ) -> list[np.ndarray]:
    """For each step j < k_max, every replicated item's probability of being drawn at step j
    given its replicate's drawn prefix before j (0 where the slate ends before j)."""
    rep_logits = np.tile(logits, reps)
    last = allowed_until(rep_group, s.index, s.position - 1, cat_code, max_per_category)
    length = np.bincount(s.group, minlength=int(rep_group.max()) + 1)[rep_group]
    n_groups = int(rep_group.max()) + 1
    out = []
    for j in range(k_max):
        live = (last >= j) & (j < length)
        peak = np.full(n_groups, -np.inf)
        np.maximum.at(peak, rep_group[live], rep_logits[live])
        w = np.where(live, np.exp(rep_logits - np.where(live, peak[rep_group], 0.0)), 0.0)
        tot = np.bincount(rep_group, weights=w, minlength=n_groups)
        p = np.where(live, w / np.where(tot > 0, tot, 1.0)[rep_group], 0.0)
        if floor > 0:
            size = np.bincount(rep_group, weights=live.astype(float), minlength=n_groups)
            eps = np.minimum(1.0, floor * size)[rep_group]
            p = np.where(live, (1 - eps) * p + eps / np.where(size > 0, size, 1.0)[rep_group],
                         0.0)
        out.append(p)
    return out
