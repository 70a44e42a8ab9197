"""Plackett–Luce exploration over ragged groups of candidates, with exact propensities.

Sampling k items without replacement with probability ∝ exp(score / T) at each step is the same
as taking the top k of score / T + Gumbel noise (the Gumbel-top-k trick), which vectorises over
every slate of a day at once. The logged propensity of the item at position j is the step
probability exp(s_j / T) / Σ_{items not yet placed} exp(s / T); the probability of the whole
ordered prefix is the product of the steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Slates:
    """Chosen candidates (indices into the candidate arrays), grouped by slate in position order."""

    index: np.ndarray
    group: np.ndarray
    position: np.ndarray  # 1-based
    propensity: np.ndarray  # step probability of this item at this position
    slate_propensity: np.ndarray  # probability of the ordered prefix up to this position


def _group_starts(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return starts, np.diff(np.r_[starts, len(group)])


def sample(scores: np.ndarray, group: np.ndarray, k: np.ndarray, temperature: float,
           uniforms: np.ndarray) -> Slates:
    """Top-`k[g]` Plackett–Luce sample within each group (groups sorted, contiguous).

    `uniforms` (one per candidate, in (0, 1)) make the draw reproducible; temperature 0 is
    greedy with propensity 1.
    """
    if len(scores) == 0:
        empty = np.zeros(0)
        return Slates(empty.astype(int), empty.astype(int), empty.astype(int), empty, empty)
    if temperature > 0:
        logits = scores / temperature
        key = logits - np.log(-np.log(uniforms))
    else:
        logits, key = scores, scores + 1e-9 * uniforms  # greedy; uniforms break ties
    order = np.lexsort((-key, group))
    g_sorted = group[order]
    starts, sizes = _group_starts(g_sorted)
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    keep = rank < np.repeat(k[g_sorted[starts]], sizes)
    chosen = order[keep]
    position = rank[keep] + 1
    if temperature > 0:
        prop = step_propensities(logits, group, chosen)
    else:
        prop = np.ones(len(chosen))
    slate_prop = _prefix_products(prop, group[chosen])
    return Slates(chosen, group[chosen], position, prop, slate_prop)


def step_propensities(logits: np.ndarray, group: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Step probability of each chosen item (chosen in position order within contiguous groups)
    given the candidates' logits (score / temperature)."""
    gmax = np.full(group.max() + 1, -np.inf)
    np.maximum.at(gmax, group, logits)
    w = np.exp(logits - gmax[group])
    total = np.bincount(group, weights=w, minlength=len(gmax))
    cg = group[chosen]
    cw = w[chosen]
    starts, sizes = _group_starts(cg)
    placed_before = np.cumsum(cw) - np.repeat(np.cumsum(cw)[starts] - cw[starts], sizes) - cw
    # the last candidate left can come out a hair above 1 after the subtraction
    return np.minimum(cw / (total[cg] - placed_before), 1.0)


def _prefix_products(prop: np.ndarray, group: np.ndarray) -> np.ndarray:
    if len(prop) == 0:
        return prop
    logp = np.log(prop)
    starts, sizes = _group_starts(group)
    c = np.cumsum(logp)
    offset = np.repeat(c[starts] - logp[starts], sizes)
    return np.exp(c - offset)
