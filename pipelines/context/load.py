"""Read the raw tables of a range of advertisers into ContextArrays."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as pads

from pipelines.context import arrays
from pipelines.storage.root import Root
from pipelines.world.taxonomy import ACTION_TYPES

TABLES = ("advertisers", "campaigns", "daily_performance", "workflow_events", "impressions")
_CATEGORY_OF = {a.name: a.category for a in ACTION_TYPES}


def dataset(root: Root, name: str) -> pads.Dataset:
    return pads.dataset(root.join("raw", name), filesystem=root.fs, format="parquet",
                        exclude_invalid_files=True)


def read_advertisers(root: Root, ids: np.ndarray | None = None,
                     lo: int | None = None, hi: int | None = None) -> dict[str, pd.DataFrame]:
    """The per-advertiser raw tables, filtered to `ids` or to the id range [lo, hi)."""
    f = pc.field("advertiser_id")
    expr = f.isin(pa_ids(ids)) if ids is not None else (f >= lo) & (f < hi)
    return {name: dataset(root, name).to_table(filter=expr).to_pandas() for name in TABLES}


def pa_ids(ids):
    import pyarrow as pa

    return pa.array(np.asarray(ids, dtype=np.int64))


def time_range(root: Root) -> tuple[dt.date, int]:
    """First day of the history and its number of days, from the market table."""
    dates = dataset(root, "market").to_table(columns=["date"]).column("date")
    lo, hi = pc.min(dates).as_py(), pc.max(dates).as_py()
    return lo, (hi - lo).days + 1


def context_arrays(tables: dict[str, pd.DataFrame], market: pd.DataFrame, peers: np.ndarray,
                   start: dt.date, days: int) -> arrays.ContextArrays:
    imp = tables["impressions"].copy()
    imp["action_category"] = imp.action_type.map(_CATEGORY_OF)
    return arrays.build(tables["advertisers"], tables["campaigns"], tables["daily_performance"],
                        tables["workflow_events"], imp, market, peers, start, days)
