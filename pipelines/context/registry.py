"""The registry of signals, with every signal's name, source group, level, type, unit, description, its
pure function over `ContextArrays`, and the sentence that says it to a person or an agent."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from pipelines.context.arrays import ContextArrays

GROUPS = ("account", "campaign", "performance", "market", "workflow", "interaction")
LEVELS = ("advertiser", "campaign")
KINDS = ("float", "int", "bool", "category")


@dataclass(frozen=True)
class Query:
    """Rows to compute signals for: an advertiser row, a campaign row (-1 for none) and an
    as-of day index (signals see only days before it)."""

    adv: np.ndarray
    camp: np.ndarray
    day: np.ndarray

    def __len__(self) -> int:
        return len(self.day)


@dataclass(frozen=True)
class Signal:
    name: str
    group: str
    level: str
    kind: str
    unit: str
    description: str
    fn: Callable[[ContextArrays, Query], np.ndarray]
    sentence: Callable[[object], str]

    def explain(self, value) -> str:
        """The value said in a sentence; "unknown" when it is missing."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"{self.description.rstrip('.')}: unknown"
        return self.sentence(value)


SIGNALS_BY_NAME: dict[str, Signal] = {}


def signal(name: str, group: str, level: str, kind: str, unit: str, description: str,
           sentence: Callable[[object], str]):
    """Register the decorated function as a signal."""
    assert group in GROUPS and level in LEVELS and kind in KINDS, name

    def wrap(fn):
        if name in SIGNALS_BY_NAME:
            raise ValueError(f"signal {name!r} registered twice")
        SIGNALS_BY_NAME[name] = Signal(name, group, level, kind, unit, description, fn, sentence)
        return fn

    return wrap


def window(cum: np.ndarray, rows: np.ndarray, day: np.ndarray, days: int) -> np.ndarray:
    """Sum over the `days` days before `day` from a cumulative [row, D + 1] array."""
    return cum[rows, day] - cum[rows, np.maximum(day - days, 0)]


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where the denominator is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def money(x: float) -> str:
    return f"${x:,.0f}" if abs(x) >= 10 else f"${x:,.2f}"
