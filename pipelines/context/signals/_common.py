"""Helpers shared by the signal modules."""

from __future__ import annotations

import numpy as np

from pipelines.context.arrays import ContextArrays
from pipelines.context.registry import Query


def campaign_rows(q: Query) -> tuple[np.ndarray, np.ndarray]:
    """(valid mask, campaign rows with -1 replaced by 0)."""
    return q.camp >= 0, np.maximum(q.camp, 0)


def per_campaign(q: Query, values: np.ndarray) -> np.ndarray:
    """NaN where the query row names no campaign."""
    ok, _ = campaign_rows(q)
    return np.where(ok, values, np.nan)


def static(ctx: ContextArrays, q: Query, column: str, level: str = "advertiser") -> np.ndarray:
    if level == "advertiser":
        return ctx.adv_static[column].to_numpy()[q.adv]
    ok, c = campaign_rows(q)
    values = ctx.camp_static[column].to_numpy()[c]
    return np.where(ok, values, None)


def days_since(last: np.ndarray, q: Query) -> np.ndarray:
    """Days between the as-of day and the last flagged day before it; NaN if never."""
    d = last[q.adv, q.day]
    return np.where(d >= 0, q.day - d, np.nan)


def plural(n: float, word: str) -> str:
    n = int(round(n))
    return f"{n} {word}{'' if n == 1 else 's'}"
