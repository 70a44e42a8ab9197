"""The rows of the feedback log: one `Impression` per served item, one `FeedbackEvent` per
thing the advertiser did with it (or did not: `ignored`) and, for a share of the requests, one
`RankerInput` per served item that the ranker scored (what it saw and said). Pure, validated
records with their Arrow schemas; the stores that keep them live beside this module.
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

import pyarrow.compute as pc

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


def _interval(record: object) -> None:
    """impact_low <= impact_expected <= impact_high (each already checked finite)."""
    if not record.impact_low <= record.impact_expected <= record.impact_high:
        raise DataError(f"{type(record).__name__}.impact_low <= impact_expected <= impact_high "
                        f"must hold, got {record.impact_low!r}, {record.impact_expected!r}, "
                        f"{record.impact_high!r}")


def _blob(record: object, name: str, dtype: str) -> np.ndarray:
    """Check that the field is bytes holding whole `dtype` values; returns the values."""
    value = getattr(record, name)
    size = np.dtype(dtype).itemsize
    if not isinstance(value, bytes) or len(value) % size:
        got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise DataError(f"{type(record).__name__}.{name} must be bytes holding whole {dtype} "
                        f"values ({size} bytes each), got {got}")
    return np.frombuffer(value, dtype)


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
        _interval(self)
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


NUMERIC_DTYPE, CATEGORICAL_DTYPE = "<f4", "<i4"  # how RankerInput stores its encoded row


@dataclass(frozen=True)
class RankerInput:
    """What the ranker saw and said for one served item: the encoded row it scored (exactly as
    the model got it, for the FeatureSpec of `model_version`) and its calibrated outputs."""

    recommendation_id: str  # primary key: the served item's Impression has the same id
    advertiser_id: int
    campaign_id: int
    item_id: int
    action_type: str
    surface: str
    served_at_ms: int  # UTC epoch milliseconds
    model_version: str  # the ranker version that scored the row (its FeatureSpec decodes it)
    numeric: bytes  # float32 little-endian, FeatureSpec.n_numeric values (encode_row)
    categorical: bytes  # int32 little-endian vocabulary codes, one per FeatureSpec.categorical
    p_adopt: float  # calibrated
    p_dismiss: float  # calibrated
    impact_low: float  # the widened impact interval, conversions over 14 days
    impact_expected: float
    impact_high: float

    KEY: ClassVar[str] = "recommendation_id"
    TIME: ClassVar[str] = "served_at_ms"
    SCHEMA: ClassVar[pa.Schema]

    def __post_init__(self) -> None:
        for name in ("recommendation_id", "action_type", "surface", "model_version"):
            _text(self, name)
        for name in ("advertiser_id", "campaign_id", "item_id", "served_at_ms"):
            _integer(self, name)
        numeric = _blob(self, "numeric", NUMERIC_DTYPE)
        if not np.isfinite(numeric).all():
            raise DataError(f"RankerInput.numeric must hold finite values, got "
                            f"{numeric.tolist()}")
        codes = _blob(self, "categorical", CATEGORICAL_DTYPE)
        if (codes < 0).any():
            raise DataError(f"RankerInput.categorical must hold codes >= 0, got {codes.tolist()}")
        _real(self, "p_adopt", 0.0, 1.0)
        _real(self, "p_dismiss", 0.0, 1.0)
        for name in ("impact_low", "impact_expected", "impact_high"):
            _real(self, name)
        _interval(self)


_ARROW = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
          "bytes": pa.binary()}
_OPTIONAL = {"str | None": pa.string(), "int | None": pa.int64()}


def _schema(cls: type) -> pa.Schema:
    out = []
    for f in dataclasses.fields(cls):
        if f.type in _OPTIONAL:
            out.append(pa.field(f.name, _OPTIONAL[f.type], nullable=True))
        else:
            out.append(pa.field(f.name, _ARROW[f.type], nullable=False))
    return pa.schema(out)


Impression.SCHEMA = _schema(Impression)
FeedbackEvent.SCHEMA = _schema(FeedbackEvent)
RankerInput.SCHEMA = _schema(RankerInput)
Record = Impression | FeedbackEvent | RankerInput


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


def encode_row(numeric: np.ndarray, categorical: np.ndarray) -> tuple[bytes, bytes]:
    """One encoded ranker row as RankerInput stores it: (numeric as float32 little-endian bytes,
    categorical codes as int32 little-endian bytes)."""
    numeric, categorical = np.asarray(numeric), np.asarray(categorical)
    if numeric.ndim != 1 or categorical.ndim != 1:
        raise DataError(f"encode_row takes one row: 1-d numeric and categorical arrays, got "
                        f"shapes {numeric.shape} and {categorical.shape}")
    if not np.issubdtype(categorical.dtype, np.integer) and categorical.size:
        raise DataError(f"encode_row: categorical codes must be integers, got "
                        f"{categorical.dtype}")
    if categorical.size and (categorical.min() < 0 or categorical.max() > np.iinfo(np.int32).max):
        raise DataError(f"encode_row: categorical codes must lie in [0, 2**31), got "
                        f"{categorical.min()}..{categorical.max()}")
    return (numeric.astype(NUMERIC_DTYPE).tobytes(),
            categorical.astype(CATEGORICAL_DTYPE).tobytes())


def decode(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """The encoded rows of RankerInput rows (a table with their `numeric` and `categorical`
    columns, e.g. from `FeedbackLog.window(RankerInput, ...)`): (float32 [n, F], int32 [n, C]),
    in table order, read-only views of the table's buffers. Raises DataError when the rows
    differ in length (rows of different FeatureSpecs: decode one model version at a time)."""
    return (_matrix(table, "numeric", NUMERIC_DTYPE).astype(np.float32, copy=False),
            _matrix(table, "categorical", CATEGORICAL_DTYPE).astype(np.int32, copy=False))


def _matrix(table: pa.Table, name: str, dtype: str) -> np.ndarray:
    if name not in table.column_names:
        raise DataError(f"decode needs a {name!r} column, got {table.column_names}")
    column = table.column(name)
    if column.null_count:
        raise DataError(f"RankerInput.{name} has {column.null_count} null rows")
    # one contiguous array with 64-bit offsets: the rows' bytes lie back to back in its buffer
    chunks = [c.cast(pa.large_binary()) for c in column.chunks]
    values = pa.concat_arrays(chunks) if chunks else pa.array([], pa.large_binary())
    n, size = len(values), np.dtype(dtype).itemsize
    if n == 0:
        return np.zeros((0, 0), dtype)
    lengths = pc.binary_length(values).to_numpy()
    odd = np.flatnonzero(lengths != lengths[0])
    if len(odd) or lengths[0] % size:
        at = int(odd[0]) if len(odd) else 0
        raise DataError(f"RankerInput.{name} rows must hold the same whole number of {dtype} "
                        f"values: row 0 has {lengths[0]} bytes, row {at} {lengths[at]}")
    if lengths[0] == 0:
        return np.zeros((n, 0), dtype)
    offsets = np.frombuffer(values.buffers()[1], np.int64, count=n + 1, offset=8 * values.offset)
    data = np.frombuffer(values.buffers()[2], np.uint8)[offsets[0]:offsets[-1]]
    return data.view(dtype).reshape(n, lengths[0] // size)
