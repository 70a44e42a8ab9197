"""One slate for one request: Plackett–Luce sampling without replacement, with a cap on items
per category, and the exact probability of every step.

At each step an item is drawn with probability ∝ exp(score / T) among the items still allowed:
not yet placed, and of a category that has fewer than `max_per_category` items in the slate.
Drawing is done with the Gumbel-top-k trick: perturb score / T once with Gumbel noise and walk
the items in descending order, skipping those whose category is full. That is exact here
because an item that stops being allowed never becomes allowed again, so every step is an argmax
of independent Gumbels (truncated at a common bound) over a subset of the previous step's set,
which is a softmax over that subset. Without a binding cap this is plackett_luce.sample on one
group, draw for draw, given the same uniforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Slate:
    """Chosen candidates in rank order."""

    index: np.ndarray  # indices into the candidate arrays, rank 1 first
    propensity: np.ndarray  # step probability of each item at its rank, given the items above

    @property
    def slate_propensity(self) -> float:
        """Probability of the whole ordered slate (product of the steps; 1 for an empty one)."""
        return float(np.prod(self.propensity))

    @property
    def prefix_propensity(self) -> np.ndarray:
        """Probability of the ordered prefix ending at each rank (what the impressions log)."""
        return np.cumprod(self.propensity)

    def __len__(self) -> int:
        return len(self.index)


def choose(scores: np.ndarray, category: np.ndarray, k: int, temperature: float,
           max_per_category: int, rng: np.random.Generator) -> Slate:
    """Up to `k` candidates, at most `max_per_category` of any one category, drawn by
    Plackett–Luce at `temperature` (score units; 0 is greedy, ties to the lower index, with
    propensity 1 and no draw from `rng`). Shorter than `k` when the caps leave too few items.
    """
    scores = np.asarray(scores, float)
    n = len(scores)
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (drop ineligible candidates instead of "
                         "scoring them -inf)")
    if temperature < 0 or max_per_category < 1:
        raise ValueError(f"need temperature >= 0 and max_per_category >= 1, got {temperature} "
                         f"and {max_per_category}")
    if k <= 0 or n == 0:
        return Slate(np.zeros(0, np.int64), np.zeros(0))
    category = np.asarray(category)
    if category.shape != scores.shape:
        raise ValueError(f"category has shape {category.shape}, scores {scores.shape}")
    if temperature > 0:
        logits = scores / temperature
        key = logits - np.log(-np.log(rng.uniform(size=n)))
    else:
        logits, key = scores, scores
    chosen = _walk(np.argsort(-key, kind="stable"), category, k, max_per_category)
    if temperature == 0:
        return Slate(chosen, np.ones(len(chosen)))
    return Slate(chosen, _step_propensities(logits, category, chosen, max_per_category))


def _walk(order: np.ndarray, category: np.ndarray, k: int, max_per_category: int) -> np.ndarray:
    """The first `k` items of `order` whose category is not yet full. Usually k steps; more only
    where the best items crowd into capped categories."""
    chosen: list[int] = []
    filled: dict = {}
    for i in order.tolist():
        c = category[i]
        if filled.get(c, 0) < max_per_category:
            chosen.append(i)
            filled[c] = filled.get(c, 0) + 1
            if len(chosen) == k:
                break
    return np.array(chosen, dtype=np.int64)


def _step_propensities(logits: np.ndarray, category: np.ndarray, chosen: np.ndarray,
                       max_per_category: int) -> np.ndarray:
    """Probability of each chosen item at its step: softmax of the logits over the items
    allowed at that step (a steps × candidates matrix; a slate has at most a few dozen steps).
    Only the slate's own categories can be full, so only they are compared."""
    k = len(chosen)
    steps = np.arange(k)
    position = np.full(len(logits), k)
    position[chosen] = steps
    labels = np.unique(category[chosen])
    onehot = category[chosen][:, None] == labels[None, :]  # step × slate category
    member = category[None, :] == labels[:, None]  # slate category × candidate
    full = (np.cumsum(onehot, axis=0) - onehot) >= max_per_category  # full before the step
    blocked = (full.astype(float) @ member.astype(float)) > 0
    allowed = (position[None, :] >= steps[:, None]) & ~blocked
    masked = np.where(allowed, logits[None, :], -np.inf)
    w = np.exp(masked - masked.max(axis=1, keepdims=True))  # each step's own max: no underflow
    return w[steps, chosen] / w.sum(axis=1)
