"""The rows of the feedback log: one `Impression` per served item and one `FeedbackEvent` per
thing the advertiser did with it (or did not: `ignored`). Pure, validated records with their Arrow
schemas; the stores that keep them live beside this module.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa

from pipelines.domain.vocabulary import DISMISS_REASONS
from pipelines.errors import DataError

FEEDBACK_TYPES = ("shown", "clicked", "applied", "dismissed", "snoozed", "ignored")
MAX_SNOOZE_DAYS = 365
DAY_MS = 86_400_000


def _text(record: object, name: str) -> None:
    value = getattr(record, name)
    if not isinstance(value, str) or not value:
        raise DataError(f"{type(record).__name__}.{name} must be a non-empty string, "
                        f"got {value!r}")


def _integer(record: object, name: str, low: int = 0, high: int | None = None) -> None:
    """Accept Python and numpy integers (not bools); store a plain int."""
    value = getattr(record, name)
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)
    if ok:
        value = int(value)
        ok = value >= low and (high is None or value <= high)
    if not ok:
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise DataError(f"{type(record).__name__}.{name} must be an integer {bound}, "
                        f"got {getattr(record, name)!r}")
    object.__setattr__(record, name, value)


def _real(record: object, name: str, low: float = -math.inf, high: float = math.inf,
          low_open: bool = False) -> None:
    """Accept finite ints and floats (not bools) within the bounds; store a plain float."""
    value = getattr(record, name)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        if math.isinf(low) and math.isinf(high):
            accepted = "a finite number"
        else:
            accepted = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"
        raise DataError(f"{type(record).__name__}.{name} must be {accepted}, "
                        f"got {getattr(record, name)!r}")
    object.__setattr__(record, name, value)


def _choice(record: object, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(record, name)
    if value not in allowed:
        raise DataError(f"{type(record).__name__}.{name} must be one of {', '.join(allowed)}; "
                        f"got {value!r}")


@dataclass(frozen=True)
class Impression:
    """One item of a served slate, as the service chose and scored it."""

    recommendation_id: str  # primary key: one served item
    slate_id: str
    advertiser_id: int
    campaign_id: int
    item_id: int
    action_type: str
    surface: str
    position: int  # 1-based rank in the slate
    served_at_ms: int  # UTC epoch milliseconds
    policy: str
    model_version: str
    score: float
    propensity: float  # probability that the logging policy shows this item here (for IPS)
    slate_propensity: float  # probability of the whole slate under the logging policy
    p_adopt: float
    p_dismiss: float
    impact_expected: float  # conversions over the action's 14-day horizon, as estimated
    impact_low: float
    impact_high: float
    degraded: bool  # served by the fallback path (a dependency was down)

    KEY: ClassVar[str] = "recommendation_id"
    TIME: ClassVar[str] = "served_at_ms"
    SCHEMA: ClassVar[pa.Schema]

    def __post_init__(self) -> None:
        for name in ("recommendation_id", "slate_id", "action_type", "surface", "policy",
                     "model_version"):
            _text(self, name)
        for name in ("advertiser_id", "campaign_id", "item_id", "served_at_ms"):
            _integer(self, name)
        _integer(self, "position", low=1)
        _real(self, "score")
        _real(self, "propensity", 0.0, 1.0, low_open=True)
        _real(self, "slate_propensity", 0.0, 1.0, low_open=True)
        _real(self, "p_adopt", 0.0, 1.0)
        _real(self, "p_dismiss", 0.0, 1.0)
        for name in ("impact_expected", "impact_low", "impact_high"):
            _real(self, name)
        if not self.impact_low <= self.impact_expected <= self.impact_high:
            raise DataError(f"Impression.impact_low <= impact_expected <= impact_high must hold, "
                            f"got {self.impact_low!r}, {self.impact_expected!r}, "
                            f"{self.impact_high!r}")
        if not isinstance(self.degraded, bool | np.bool_):
            raise DataError(f"Impression.degraded must be a bool, got {self.degraded!r}")
        object.__setattr__(self, "degraded", bool(self.degraded))


@dataclass(frozen=True)
class FeedbackEvent:
    """What an advertiser did with one served recommendation."""

    event_id: str  # primary key: a client retry sends the same id
    recommendation_id: str
    advertiser_id: int
    campaign_id: int
    item_id: int
    action_type: str
    type: str  # one of FEEDBACK_TYPES
    dismiss_reason: str | None  # one of DISMISS_REASONS, required iff type == "dismissed"
    snooze_days: int | None  # required iff type == "snoozed"
    # UTC epoch milliseconds, stamped on receipt: a retry arrives later, so the time is not part
    # of the event's identity (compare=False) and a retry with a later stamp is a duplicate
    occurred_at_ms: int = dataclasses.field(compare=False)

    KEY: ClassVar[str] = "event_id"
    TIME: ClassVar[str] = "occurred_at_ms"
    SCHEMA: ClassVar[pa.Schema]

    def __post_init__(self) -> None:
        for name in ("event_id", "recommendation_id", "action_type"):
            _text(self, name)
        for name in ("advertiser_id", "campaign_id", "item_id", "occurred_at_ms"):
            _integer(self, name)
        _choice(self, "type", FEEDBACK_TYPES)
        if self.type == "dismissed":
            _choice(self, "dismiss_reason", DISMISS_REASONS)
        elif self.dismiss_reason is not None:
            raise DataError(f"FeedbackEvent.dismiss_reason must be None unless type is "
                            f"dismissed; got {self.dismiss_reason!r} with type {self.type!r}")
        if self.type == "snoozed":
            _integer(self, "snooze_days", low=1, high=MAX_SNOOZE_DAYS)
        elif self.snooze_days is not None:
            raise DataError(f"FeedbackEvent.snooze_days must be None unless type is snoozed; "
                            f"got {self.snooze_days!r} with type {self.type!r}")


_ARROW = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
_OPTIONAL = {"str | None": pa.string(), "int | None": pa.int64()}


def _schema(cls: type) -> pa.Schema:
    out = []
    for f in dataclasses.fields(cls):
        if f.type in _OPTIONAL:
            out.append(pa.field(f.name, _OPTIONAL[f.type], nullable=True))
        else:
            out.append(pa.field(f.name, _ARROW[{"str": str, "int": int, "float": float,
                                                "bool": bool}[f.type]], nullable=False))
    return pa.schema(out)


Impression.SCHEMA = _schema(Impression)
FeedbackEvent.SCHEMA = _schema(FeedbackEvent)
Record = Impression | FeedbackEvent


def values(record: Record) -> tuple:
    """The record's field values in schema order (what the stores compare and write)."""
    return tuple(getattr(record, name) for name in type(record).SCHEMA.names)


def identity_names(cls: type[Record]) -> list[str]:
    """The columns that make two records with the same key the same record."""
    compared = {f.name for f in dataclasses.fields(cls) if f.compare}
    return [n for n in cls.SCHEMA.names if n in compared]


def identity(record: Record) -> tuple:
    """The record's identity values (what a retry must repeat), in schema order."""
    return tuple(getattr(record, n) for n in identity_names(type(record)))


def to_table(cls: type[Record], records: Sequence[Record]) -> pa.Table:
    """An Arrow table of `records` (all of class `cls`) with the class's schema."""
    names = cls.SCHEMA.names
    return pa.table({n: [getattr(r, n) for r in records] for n in names}, schema=cls.SCHEMA)


def from_table(cls: type[Record], table: pa.Table) -> list[Record]:
    """Records of class `cls` from a table holding (at least) its columns; each row is
    validated again, so a bad stored row raises DataError here."""
    return [cls(**row) for row in table.select(cls.SCHEMA.names).to_pylist()]


def day_strings(epoch_ms: np.ndarray) -> np.ndarray:
    """UTC calendar days (YYYY-MM-DD strings) of epoch milliseconds."""
    return (np.asarray(epoch_ms, dtype=np.int64) // DAY_MS).astype("datetime64[D]").astype(str)
