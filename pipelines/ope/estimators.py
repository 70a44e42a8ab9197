"""Off-policy estimators of a policy's value from logged bandit feedback, as pure functions over
arrays, one entry per (round, position) row.

Value is the expected total reward per round (summed over the round's positions), the Open
Bandit Pipeline's slate convention. Every estimator here is a smooth function of column totals
of row-level quantities (e.g. Σ w·r and the number of rounds), so each returns those columns and
that function: the point estimate applies it to the totals over all rows, and the bootstrap
(bootstrap.py) to the totals of each resample of clusters, which handles clusters of unequal
size (the number of rounds in a resample varies) without special cases.

Notation: row i shows action a_i at position k_i with reward r_i; π_b is the logging policy,
π_e the evaluated one, n the number of rounds, w_i = π_e(a_i | x_i, k_i) / π_b(a_i | x_i, k_i).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimator:
    """An estimate as a function of column totals: `value(columns.sum(0))` over all rows, or
    of any resample's totals (`value` maps totals [..., m] to estimates [...])."""

    columns: np.ndarray  # [n_rows, m] row-level quantities
    value: Callable[[np.ndarray], np.ndarray]
    weights: np.ndarray | None  # [n_rows] importance weights (None: on-policy)

    def point(self) -> float:
        return float(self.value(self.columns.sum(axis=0)))


def _ratio(totals: np.ndarray) -> np.ndarray:
    """Σ contributions / Σ rounds (column 0 over column 1)."""
    return totals[..., 0] / totals[..., 1]


def _per_round(contributions: np.ndarray, first_of_round: np.ndarray,
               weights: np.ndarray | None) -> Estimator:
    return Estimator(np.column_stack([contributions, first_of_round]), _ratio, weights)


def importance_weights(action_dist: np.ndarray, action: np.ndarray,
                       pscore: np.ndarray) -> np.ndarray:
    """w_i = π_e(a_i | x_i, k_i) / pscore_i: the evaluated policy's probability of the logged
    action at the logged position over the logging policy's."""
    return action_dist[np.arange(len(action)), action] / pscore


def effective_sample_size(weights: np.ndarray) -> float:
    """n_eff = (Σ w)² / Σ w², the number of equally weighted rows the weighted sample is worth
    (= the number of rows when every weight is equal; 0 when every weight is 0)."""
    sq = float(np.square(weights).sum())
    return float(weights.sum()) ** 2 / sq if sq > 0 else 0.0


def on_policy(reward: np.ndarray, first_of_round: np.ndarray) -> Estimator:
    """The logging policy's own value: V = (1/n) Σ_i r_i."""
    return _per_round(reward, first_of_round, None)


def ips(reward: np.ndarray, weights: np.ndarray, first_of_round: np.ndarray) -> Estimator:
    """Position-wise inverse propensity scoring, V = (1/n) Σ_i w_i r_i.

    With per-position marginal propensities this is the independent-item estimator (IIPS, Li
    et al. 2018): unbiased when each position's reward depends only on the context, the action
    there and the position (not on the rest of the slate), and π_b(a | x, k) > 0 wherever
    π_e(a | x, k) > 0.
    """
    return _per_round(weights * reward, first_of_round, weights)


def snips(reward: np.ndarray, weights: np.ndarray, position_index: np.ndarray,
          first_of_round: np.ndarray) -> Estimator:
    """Self-normalised IPS, normalised within each position k:

        V = Σ_k (Σ_{i∈k} w_i r_i / Σ_{i∈k} w_i) · n_k / n

    where n_k is the number of rows at position k (n_k = n when every round fills k). Each
    position's term is a weighted mean of observed rewards, so the value per slot stays within
    the reward range; it trades IPS's unbiasedness for a bias of order 1/n and lower variance.
    A position whose weights are all 0 contributes 0.
    """
    p = int(position_index.max()) + 1 if len(position_index) else 0
    onehot = np.zeros((len(reward), p))
    onehot[np.arange(len(reward)), position_index] = 1.0
    columns = np.column_stack([onehot * (weights * reward)[:, None], onehot * weights[:, None],
                               onehot, first_of_round])

    def value(totals: np.ndarray) -> np.ndarray:
        num, den, rows = totals[..., :p], totals[..., p:2 * p], totals[..., 2 * p:3 * p]
        mean = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return (mean * rows).sum(axis=-1) / totals[..., 3 * p]

    return Estimator(columns, value, weights)


def dr(reward: np.ndarray, weights: np.ndarray, action: np.ndarray, action_dist: np.ndarray,
       estimated_rewards: np.ndarray, first_of_round: np.ndarray) -> Estimator:
    """Doubly robust, position-wise:

        V = (1/n) Σ_i [ Σ_a π_e(a | x_i, k_i) q̂(x_i, a, k_i) + w_i (r_i − q̂(x_i, a_i, k_i)) ]

    Unbiased when the propensities are right (the correction term has mean 0 given any q̂ that
    does not depend on the row's own reward, hence cross-fitting); when q̂ is the true expected
    reward the error is only the reward noise term (1/n) Σ_i w_i (r_i − q(x_i, a_i, k_i)), whatever
    the propensities.
    """
    rows = np.arange(len(action))
    direct = (action_dist * estimated_rewards).sum(axis=1)
    contributions = direct + weights * (reward - estimated_rewards[rows, action])
    return _per_round(contributions, first_of_round, weights)


def direct_method(action_dist: np.ndarray, estimated_rewards: np.ndarray,
                  first_of_round: np.ndarray) -> Estimator:
    """The reward model's plug-in, V = (1/n) Σ_i Σ_a π_e(a | x_i, k_i) q̂(x_i, a, k_i)."""
    return _per_round((action_dist * estimated_rewards).sum(axis=1), first_of_round, None)


def cascade(reward: np.ndarray, pscore_cascade: np.ndarray,
            evaluation_pscore_cascade: np.ndarray, first_of_round: np.ndarray) -> Estimator:
    """Reward-interaction IPS (RIPS, McInerney et al. 2020), for rewards under the cascade
    model (the reward at position k depends on the items at positions ≤ k):

        V = (1/n) Σ_i w_{1:k_i} r_i,   w_{1:k} = π_e(a_{1:k} | x) / π_b(a_{1:k} | x)

    with the probabilities of the logged ordered prefix (the product of each policy's step
    probabilities). Unbiased under that model where π_b covers π_e's prefixes; more robust than
    IIPS to interactions between items, at the price of larger weights further down the slate.
    """
    weights = evaluation_pscore_cascade / pscore_cascade
    return _per_round(weights * reward, first_of_round, weights)
