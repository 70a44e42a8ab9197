"""The multi-objective score of a candidate, and the account's guidance score.

The score trades off three things the platform cares about: the advertiser's expected gain
(probability of adoption × expected impact if adopted), the platform's own value of the action,
and the cost of annoying the advertiser (probability of a dismissal).
"""

from __future__ import annotations

import numpy as np

from pipelines.domain.vocabulary import CATEGORIES
from pipelines.policy.config import PolicyConfig

_CATEGORY_ORDER = np.argsort(np.asarray(CATEGORIES))
_SORTED_CATEGORIES = np.asarray(CATEGORIES)[_CATEGORY_ORDER]


def category_values(category: np.ndarray, cfg: PolicyConfig) -> np.ndarray:
    """The platform value (0 to 1) of each candidate's category."""
    category = np.asarray(category, dtype=str)
    pos = np.searchsorted(_SORTED_CATEGORIES, category)
    pos = np.minimum(pos, len(CATEGORIES) - 1)
    bad = _SORTED_CATEGORIES[pos] != category
    if bad.any():
        raise ValueError(f"unknown category {category[bad][0]!r}: expected one of "
                         f"{', '.join(CATEGORIES)}")
    return cfg.platform_value.as_array()[_CATEGORY_ORDER[pos]]


def impact_scale(impact: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """What counts as a typical impact, for each candidate: the mean positive expected impact of
    its group's candidates (one account's request; one group when `group` is None), and 1 where
    that is 0. Accounts differ by orders of magnitude, and the exploration temperature is in
    score units, so impacts are weighed relative to the account's own."""
    positive = np.maximum(np.asarray(impact, float), 0.0)
    if group is None:
        group = np.zeros(len(positive), np.int64)
    _, code = np.unique(group, return_inverse=True)
    mean = np.bincount(code, weights=positive) / np.maximum(np.bincount(code), 1)
    return np.where(mean > 0, mean, 1.0)[code]


def score(p_adopt: np.ndarray, p_dismiss: np.ndarray, impact: np.ndarray,
          impact_scale: float | np.ndarray, category: np.ndarray, surface: str,
          cfg: PolicyConfig) -> np.ndarray:
    """Score of each candidate on `surface`, in score units (dimensionless, typically 0 to 0.5):

        w_impact · p_adopt · max(impact / impact_scale, 0)
      + w_platform · p_adopt · platform_value[category]
      − w_dismiss · p_dismiss

    `p_adopt` and `p_dismiss` are probabilities; `impact` is the expected impact if adopted in
    any unit (e.g. conversions per 14 days) and `impact_scale` (> 0, same unit; one value or
    one per candidate, see impact_scale) is what counts as a typical impact for this account, so
    a relative impact of 1 weighs like a platform value of 1. Negative expected impacts are
    clipped to 0: the dismissal term, not a negative gain, keeps harmful items down.
    """
    impact_scale = np.asarray(impact_scale, float)
    if not (impact_scale > 0).all():
        raise ValueError(f"impact_scale must be > 0, got {impact_scale.min()}")
    w = cfg.surface(surface)
    p_adopt = np.asarray(p_adopt, float)
    relative = np.maximum(np.asarray(impact, float) / impact_scale, 0.0)
    return (w.impact * p_adopt * relative
            + w.platform * p_adopt * category_values(category, cfg)
            - w.dismissal * np.asarray(p_dismiss, float))


def available_impact(impact: np.ndarray, campaign_id: np.ndarray,
                     action_type: np.ndarray) -> float:
    """Expected impact (in the unit of `impact`) still available to the account: over its
    eligible candidates, the best expected impact if adopted of each (campaign, action type),
    summed. Only the best counts because variants of one action (a 10 % or a 20 % budget raise)
    are alternatives, not additions. Negative impacts count as 0."""
    impact = np.maximum(np.asarray(impact, float), 0.0)
    if len(impact) == 0:
        return 0.0
    _, action_code = np.unique(np.asarray(action_type, dtype=str), return_inverse=True)
    key = np.asarray(campaign_id, np.int64) * (action_code.max() + 1) + action_code
    _, group = np.unique(key, return_inverse=True)
    best = np.zeros(group.max() + 1)
    np.maximum.at(best, group, impact)
    return float(best.sum())


def guidance_score(captured: float, available: float) -> float:
    """How much of the account's reachable impact it already has, 0 to 100 points:
    100 · captured / (captured + available), and 100 when nothing is available.

    `captured` is the expected impact of the items the advertiser adopted (each as estimated
    when adopted); `available` comes from available_impact; both in the same unit.
    """
    captured, available = max(captured, 0.0), max(available, 0.0)
    if available == 0:
        return 100.0
    return 100.0 * captured / (captured + available)


def score_uplift(impact: np.ndarray, captured: float, available: float) -> np.ndarray:
    """Points the guidance score would gain if each item were adopted:
    guidance_score(captured + x, available − x) − guidance_score(captured, available), with x
    the item's impact clipped to [0, available]. Adopting moves impact from available to
    captured, so the total stays the same and the gain is 100 · x / (captured + available)."""
    captured, available = max(captured, 0.0), max(available, 0.0)
    total = captured + available
    if total == 0:
        return np.zeros(len(impact))
    moved = np.clip(np.asarray(impact, float), 0.0, available)
    return 100.0 * moved / total
