"""Evaluate registered signals for a batch of (advertiser, campaign, as-of day) rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

import pipelines.context.signals  # noqa: F401  (registers every signal)
from pipelines.context.arrays import ContextArrays
from pipelines.context.registry import SIGNALS_BY_NAME, Query, Signal

_ARROW = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "category": pa.string()}


def signals(level: str | None = None) -> list[Signal]:
    """Registered signals in registry order, optionally of one level."""
    return [s for s in SIGNALS_BY_NAME.values() if level is None or s.level == level]


def arrow_field(s: Signal) -> pa.Field:
    return pa.field(s.name, _ARROW[s.kind], metadata={"group": s.group, "unit": s.unit,
                                                      "doc": s.description})


def _typed(s: Signal, values: np.ndarray) -> pa.Array:
    values = np.asarray(values)
    if s.kind == "category":
        return pa.array([None if v is None or v != v else str(v) for v in values], pa.string())
    v = values.astype(float)
    missing = np.isnan(v)
    if s.kind == "float":
        return pa.array(v, pa.float64(), mask=missing)
    if s.kind == "int":
        return pa.array(np.rint(np.nan_to_num(v)).astype(np.int64), pa.int64(), mask=missing)
    return pa.array(np.nan_to_num(v).astype(bool), pa.bool_(), mask=missing)


def compute(ctx: ContextArrays, q: Query, level: str | None = None) -> pa.Table:
    """One column per signal (of `level`, or all), one row per query row."""
    chosen = signals(level)
    return pa.table([_typed(s, s.fn(ctx, q)) for s in chosen],
                    schema=pa.schema([arrow_field(s) for s in chosen]))


def query(ctx: ContextArrays, advertiser_id, campaign_id, day) -> Query:
    """Rows of the arrays for ids (campaign_id -1 or NaN: none) and as-of day indices."""
    adv = np.searchsorted(ctx.advertiser_id, np.asarray(advertiser_id))
    cid = pd.Series(campaign_id).fillna(-1).to_numpy(np.int64)
    known = np.isin(cid, ctx.campaign_id)
    camp = np.where(known, np.searchsorted(ctx.campaign_id, cid), -1)
    return Query(adv=adv, camp=camp,
                 day=np.clip(np.asarray(day, dtype=np.int64), 0, ctx.days))
