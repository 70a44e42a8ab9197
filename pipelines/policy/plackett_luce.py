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

An exploration floor f > 0 mixes every step with a uniform draw over the allowed set A:
p = (1 − ε)·softmax(score / T over A) + ε / |A| with ε = min(1, f·|A|), so each allowed item has
at least min(f, 1 / |A|) at every step (at T = 0 the softmax is the argmax). A mixture is no
longer a Gumbel argmax, so that path draws step by step: one uniform per (group, step) picks
the item by inverse CDF over the step's probabilities, vectorised over groups in a padded
[groups × items] layout, and logs that step's exact mixture probability. f = 0 keeps the
Gumbel path above, unchanged.
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
           max_per_category: int | None = None, floor: float = 0.0,
           step_uniforms: np.ndarray | None = None) -> Slates:
    """Top-`k[g]` Plackett–Luce sample within each group (`group`: integer ids, in any order;
    `k` indexed by group id), with at most `max_per_category` items of one `category` per slate
    when both are given.

    `uniforms` (one per candidate, in (0, 1)) make the draw reproducible. Temperature 0 is
    greedy with propensity 1; ties then go to the larger uniform, or to the lower index when
    `uniforms` is None. Slates come out shorter than k when the caps leave too few items.

    `floor` (0 to 1) is the exploration floor: every step mixes in a uniform draw over the
    allowed items so that each keeps at least min(floor, 1 / |allowed|) (module docstring).
    It needs `step_uniforms` [group id, step] (rows up to the largest group id, a column for
    each step up to the largest k), which then drive the draw; `uniforms` only break ties at
    temperature 0 and may be None at any temperature. `floor` 0 is the Gumbel draw, unchanged.
    """
    scores = np.asarray(scores, float)
    group = np.asarray(group, np.int64)
    n = len(scores)
    if not 0 <= floor <= 1:
        raise ValueError(f"floor must be within [0, 1], got {floor}")
    if n == 0:
        empty = np.zeros(0)
        return Slates(empty.astype(int), empty.astype(int), empty.astype(int), empty, empty)
    cat_code = None
    if category is not None and max_per_category is not None:
        _, cat_code = np.unique(np.asarray(category), return_inverse=True)
    if floor > 0:
        return _sample_floored(scores, group, np.asarray(k), temperature, uniforms, cat_code,
                               max_per_category, floor, step_uniforms)
    if temperature > 0:
        logits = scores / temperature
        key, tie = logits - np.log(-np.log(uniforms)), np.zeros(n)
    else:
        logits, key = scores, scores
        tie = np.zeros(n) if uniforms is None else np.asarray(uniforms, float)
    walk = np.lexsort((np.arange(n), -tie, -key, group))  # each group's items, best first
    if cat_code is not None:
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


# Cells of one padded [groups × items] block in the floored draw: a few MiB per array however
# many slates a day holds.
_MAX_CELLS = 1 << 20


def _sample_floored(scores: np.ndarray, group: np.ndarray, k: np.ndarray, temperature: float,
                    uniforms: np.ndarray | None, cat_code: np.ndarray | None,
                    max_per_category: int | None, floor: float,
                    step_uniforms: np.ndarray | None) -> Slates:
    """`sample` with an exploration floor: a sequential inverse-CDF draw of each step's mixture
    (module docstring), the exact mixture probability logged at each step."""
    n = len(scores)
    order = np.argsort(group, kind="stable")  # by group, then by index
    starts, sizes = _group_starts(group[order])
    gids = group[order][starts]
    steps = np.minimum(k[gids], sizes)
    if step_uniforms is None:
        raise ValueError("floor > 0 needs step_uniforms (one per group and step)")
    step_uniforms = np.asarray(step_uniforms, float)
    if (step_uniforms.ndim != 2 or step_uniforms.shape[0] <= gids[-1]
            or step_uniforms.shape[1] < steps.max()):
        raise ValueError(f"step_uniforms has shape {step_uniforms.shape}: need a row per group "
                         f"id up to {gids[-1]} and {steps.max()} steps")
    greedy = temperature <= 0
    if greedy:  # the argmax order of today's greedy walk, ties included
        tie = np.zeros(n) if uniforms is None else np.asarray(uniforms, float)
        walk = np.lexsort((np.arange(n), -tie, -scores, group))
        value = np.empty(n)
        value[walk] = -np.arange(n, dtype=float)  # higher is preferred
    else:
        value = scores / temperature
    cap = max_per_category if cat_code is not None else None
    n_cat = int(cat_code.max()) + 1 if cap is not None else 1
    parts = []
    by_size = np.argsort(sizes, kind="stable")  # like-sized groups pad little together
    lo = 0
    while lo < len(by_size):
        span = np.arange(1, len(by_size) - lo + 1)
        cells = span * sizes[by_size[lo:]]
        hi = lo + max(1, int(np.searchsorted(cells, _MAX_CELLS, side="right")))
        chunk = by_size[lo:hi]
        parts.append(_floored_block(order, starts[chunk], sizes[chunk], gids[chunk],
                                    steps[chunk], value, greedy, cat_code, cap, n_cat, floor,
                                    step_uniforms))
        lo = hi
    index, grp, pos, prop, prefix = (np.concatenate(x) for x in zip(*parts))
    srt = np.lexsort((pos, grp))
    return Slates(index[srt], grp[srt], pos[srt] + 1, prop[srt], prefix[srt])


def _floored_block(order: np.ndarray, starts: np.ndarray, sizes: np.ndarray, gids: np.ndarray,
                   steps: np.ndarray, value: np.ndarray, greedy: bool,
                   cat_code: np.ndarray | None, cap: int | None, n_cat: int, floor: float,
                   step_uniforms: np.ndarray) -> tuple[np.ndarray, ...]:
    """The floored draw for some groups, one row each: chosen indices, group ids, 0-based
    positions, step probabilities and prefix probabilities. Every sum is a row's cumulative
    sum, sequential along the row, so a group's draw depends neither on the padding nor on the
    other groups (the world's shards give the same slates however advertisers are split)."""
    n_rows, width = len(sizes), int(sizes.max())
    row = np.repeat(np.arange(n_rows), sizes)
    col = np.arange(len(row)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    item = np.full((n_rows, width), -1)
    item[row, col] = order[np.repeat(starts, sizes) + col]
    exists = item >= 0
    open_ = exists.copy()  # present and not yet placed
    val = np.where(exists, value[np.maximum(item, 0)], -np.inf)
    cat = cat_code[np.maximum(item, 0)] if cap is not None else None
    counts = np.zeros((n_rows, n_cat), np.int64)
    rows = np.arange(n_rows)[:, None]
    prefix = np.ones(n_rows)
    out = []
    for j in range(int(steps.max())):
        allowed = open_
        if cap is not None:
            allowed = open_ & (counts[rows, cat] < cap)
        m = allowed.sum(axis=1)
        act = np.flatnonzero((j < steps) & (m > 0))
        if len(act) == 0:
            break
        a, m, r = allowed[act], m[act], np.arange(len(act))
        z = np.where(a, val[act], -np.inf)
        if greedy:
            soft = np.zeros(a.shape)
            soft[r, z.argmax(axis=1)] = 1.0
        else:
            w = np.exp(z - z.max(axis=1, keepdims=True))  # the best allowed item weighs 1
            soft = w / np.cumsum(w, axis=1)[:, -1:]
        eps = np.minimum(1.0, floor * m)
        p = (1 - eps)[:, None] * soft + np.where(a, (eps / m)[:, None], 0.0)
        cdf = np.cumsum(p, axis=1)
        target = step_uniforms[gids[act], j] * cdf[:, -1]
        pick = (cdf <= target[:, None]).sum(axis=1)  # first item whose cdf passes the target
        pick = np.minimum(pick, width - 1 - np.argmax(a[:, ::-1], axis=1))  # u rounding to 1
        prefix[act] *= p[r, pick]
        out.append((item[act, pick], gids[act], np.full(len(act), j), p[r, pick], prefix[act]))
        open_[act, pick] = False
        if cap is not None:
            counts[act, cat[act, pick]] += 1
    if not out:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, np.zeros(0), np.zeros(0)
    return tuple(np.concatenate(x) for x in zip(*out))


def allowed_until(group: np.ndarray, chosen: np.ndarray, position: np.ndarray,
                  category_code: np.ndarray | None = None,
                  max_per_category: int | None = None) -> np.ndarray:
    """The last 0-based step at which each candidate is still allowed in its group's slate
    (`chosen` rows drawn at steps `position`): its own step when chosen, the step that fills its
    category when that happens, and no end (int64 max) otherwise."""
    never = np.iinfo(np.int64).max
    last = np.full(len(group), never)
    last[chosen] = position
    if category_code is not None and max_per_category is not None and len(chosen):
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
    return last


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
    last = allowed_until(group, chosen, position, category_code, max_per_category)
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
