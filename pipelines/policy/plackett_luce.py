"""Plackett–Luce exploration over ragged groups of candidates, with a cap on items per category
and exact propensities. One group is one slate: the service draws one at a time, the simulator
every slate of a day at once.

At each step an item is drawn with probability ∝ exp(score / T) among the items still allowed:
not yet placed, and of a category that has fewer than `max_per_category` items in the slate.
Drawing is done with the Gumbel-top-k trick: perturb score / T once with Gumbel noise and walk
the items in descending order, skipping those whose category is full. That is exact because an
item that stops being allowed never becomes allowed again, so every step is an argmax of
independent Gumbels (truncated at a common bound) over a subset of the previous step's set, which
is a softmax over that subset. The walk needs no loop: an item is skipped exactly when its rank
within its category (in that order) reaches the cap, so a slate is the top k of the items ranked
below the cap.

The logged propensity of the item at position j is that step's probability; the probability of
the whole ordered prefix is the product of the steps.
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


def _run_starts(new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each run, given where runs begin (`new[0]` is True)."""
    starts = np.flatnonzero(new)
    ends = np.empty_like(starts)
    ends[:-1], ends[-1:] = starts[1:], len(new)
    return starts, ends - starts


def _group_starts(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    new = np.empty(len(group), bool)
    new[:1] = True
    np.not_equal(group[1:], group[:-1], out=new[1:])
    return _run_starts(new)


def _rank_in_runs(*keys: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its run of equal `keys` (rows already in order)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, np.int64)
    new = np.zeros(n, bool)
    new[0] = True
    for key in keys:
        new[1:] |= key[1:] != key[:-1]
    starts, sizes = _run_starts(new)
    return np.arange(n) - np.repeat(starts, sizes)


def sample(scores: np.ndarray, group: np.ndarray, k: np.ndarray, temperature: float,
           uniforms: np.ndarray | None, category: np.ndarray | None = None,
           max_per_category: int | None = None) -> Slates:
    """Top-`k[g]` Plackett–Luce sample within each group (`group`: integer ids, in any order),
    with at most `max_per_category` items of one `category` per slate when both are given.

    `uniforms` (one per candidate, in (0, 1)) make the draw reproducible. Temperature 0 is
    greedy with propensity 1; ties then go to the larger uniform, or to the lower index when
    `uniforms` is None. Slates come out shorter than k when the caps leave too few items.
    """
    scores = np.asarray(scores, float)
    group = np.asarray(group, np.int64)
    n = len(scores)
    if n == 0:
        empty = np.zeros(0)
        return Slates(empty.astype(int), empty.astype(int), empty.astype(int), empty, empty)
    if temperature > 0:
        logits = scores / temperature
        key, tie = logits - np.log(-np.log(uniforms)), np.zeros(n)
    else:
        logits, key = scores, scores
        tie = np.zeros(n) if uniforms is None else np.asarray(uniforms, float)
    walk = np.lexsort((np.arange(n), -tie, -key, group))  # each group's items, best first
    cat_code = None
    if category is not None and max_per_category is not None:
        _, cat_code = np.unique(np.asarray(category), return_inverse=True)
        step = np.empty(n, np.int64)
        step[walk] = np.arange(n)
        by_cat = np.lexsort((step, cat_code, group))
        below_cap = np.empty(n, bool)
        below_cap[by_cat] = _rank_in_runs(group[by_cat], cat_code[by_cat]) < max_per_category
        walk = walk[below_cap[walk]]
    rank = _rank_in_runs(group[walk])
    keep = rank < np.asarray(k)[group[walk]]
    chosen, position = walk[keep], rank[keep]
    if temperature > 0:
        prop = step_propensities(logits, group, chosen, position, cat_code, max_per_category)
    else:
        prop = np.ones(len(chosen))
    return Slates(chosen, group[chosen], position + 1, prop,
                  _prefix_products(prop, group[chosen]))


def step_propensities(logits: np.ndarray, group: np.ndarray, chosen: np.ndarray,
                      position: np.ndarray, category_code: np.ndarray | None = None,
                      max_per_category: int | None = None) -> np.ndarray:
    """Step probability of each chosen item (`position`: its 0-based step in its group's slate)
    given the candidates' logits (score / temperature): a softmax over the items still allowed
    at that step.

    An item is allowed up to its own step when chosen, and up to the step that fills its
    category when that happens. Each step is normalised by its chosen item's own logit, so the
    denominator is a sum of terms ≤ 1 plus the chosen item's exact 1: no cancellation, and
    extreme scores stay finite.
    """
    never = np.iinfo(np.int64).max
    last = np.full(len(logits), never)
    last[chosen] = position
    if category_code is not None:
        n_cat = int(category_code.max()) + 1
        pair = group * n_cat + category_code
        # the chosen item that brings its category's count to the cap fills it at its step
        order = np.lexsort((position, pair[chosen]))
        filler = order[_rank_in_runs(pair[chosen][order]) == max_per_category - 1]
        full_pair, full_step = pair[chosen][filler], position[filler]  # pairs unique here
        if len(full_pair):
            srt = np.argsort(full_pair)
            full_pair, full_step = full_pair[srt], full_step[srt]
            at = np.minimum(np.searchsorted(full_pair, pair), len(full_pair) - 1)
            last = np.where(full_pair[at] == pair, np.minimum(last, full_step[at]), last)
    prop = np.empty(len(chosen))
    n_groups = int(group.max()) + 1
    with np.errstate(over="ignore"):
        for j in range(int(position.max()) + 1 if len(position) else 0):
            at_j = chosen[position == j]  # at most one per group
            ref = np.full(n_groups, np.nan)
            ref[group[at_j]] = logits[at_j]
            live = (last >= j) & ~np.isnan(ref[group])
            total = np.bincount(group[live], weights=np.exp(logits[live] - ref[group[live]]),
                                minlength=n_groups)
            prop[position == j] = 1.0 / total[group[at_j]]
    return prop


def _prefix_products(prop: np.ndarray, group: np.ndarray) -> np.ndarray:
    if len(prop) == 0:
        return prop
    logp = np.log(prop)
    starts, sizes = _group_starts(group)
    c = np.cumsum(logp)
    offset = np.repeat(c[starts] - logp[starts], sizes)
    return np.exp(c - offset)
