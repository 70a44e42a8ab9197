"""One slate for one request: Plackett–Luce sampling without replacement, with a cap on items
per category, an optional exploration floor and the exact probability of every step
(plackett_luce.sample on one group: the simulator draws a day's slates with the same code).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.policy import plackett_luce


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
           max_per_category: int, rng: np.random.Generator, floor: float = 0.0) -> Slate:
    """Up to `k` candidates, at most `max_per_category` of any one category, drawn by
    Plackett–Luce at `temperature` (score units; 0 is greedy, ties to the lower index, with
    propensity 1 and no draw from `rng`). Shorter than `k` when the caps leave too few items.

    `floor` > 0 is the exploration floor (0 to 1): at every rank each item still allowed keeps
    probability at least min(floor, 1 / the number allowed), so every candidate is shown with
    probability at least min(floor, 1 / len(scores)); the draw then takes `k` uniforms from
    `rng`, one per rank, at any temperature.
    """
    scores = np.asarray(scores, float)
    n = len(scores)
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (drop ineligible candidates instead of "
                         "scoring them -inf)")
    if temperature < 0 or max_per_category < 1:
        raise ValueError(f"need temperature >= 0 and max_per_category >= 1, got {temperature} "
                         f"and {max_per_category}")
    if not 0 <= floor <= 1:
        raise ValueError(f"floor must be within [0, 1], got {floor}")
    if k <= 0 or n == 0:
        return Slate(np.zeros(0, np.int64), np.zeros(0))
    category = np.asarray(category)
    if category.shape != scores.shape:
        raise ValueError(f"category has shape {category.shape}, scores {scores.shape}")
    # with a floor the draw is one uniform per rank; without, one Gumbel per candidate
    step_uniforms = rng.uniform(size=(1, k)) if floor > 0 else None
    uniforms = rng.uniform(size=n) if temperature > 0 and floor == 0 else None
    s = plackett_luce.sample(scores, np.zeros(n, np.int64), np.array([k]), temperature,
                             uniforms, category, max_per_category, floor, step_uniforms)
    return Slate(s.index, s.propensity)
