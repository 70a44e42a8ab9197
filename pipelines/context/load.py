"""Read the raw tables of a range of advertisers into ContextArrays."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from pipelines.context import arrays
from pipelines.domain.actions import CATEGORY_OF
from pipelines.domain.contract import arrow_schema
from pipelines.storage.root import Root

TABLES = ("advertisers", "campaigns", "daily_performance", "workflow_events", "impressions")


def dataset(root: Root, name: str) -> pads.Dataset:
    """A raw table of the platform's published tables."""
    root.require("raw", f"no raw tables under root {root.uri!r}: run `guidance world generate`")
    return pads.dataset(root.join("raw", name), filesystem=root.fs, format="parquet",
                        exclude_invalid_files=True)


FileIndex = dict[str, list[tuple[str, int, int]]]


def file_index(root: Root) -> FileIndex:
    """For each per-advertiser table, its files with their smallest and largest advertiser id
    (from the Parquet statistics), so that a reader of an id range opens only the files that
    can hold it. Read once by the driver; a table without statistics maps every file to the
    full range."""
    index: FileIndex = {}
    for name in TABLES:
        entries = []
        for frag in dataset(root, name).get_fragments():
            lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
            meta = frag.metadata
            col = meta.schema.to_arrow_schema().get_field_index("advertiser_id")
            stats = [meta.row_group(i).column(col).statistics for i in range(meta.num_row_groups)]
            if stats and all(s is not None and s.has_min_max for s in stats):
                lo, hi = min(s.min for s in stats), max(s.max for s in stats)
            entries.append((frag.path, lo, hi))
        index[name] = entries
    return index


def read_advertisers(root: Root, ids: np.ndarray | None = None, lo: int | None = None,
                     hi: int | None = None, index: FileIndex | None = None
                     ) -> dict[str, pd.DataFrame]:
    """The per-advertiser raw tables, filtered to `ids` or to the id range [lo, hi). With an
    `index`, only the files whose advertiser range overlaps are opened."""
    f = pc.field("advertiser_id")
    if ids is not None:
        ids = np.asarray(ids, dtype=np.int64)
        expr, lo, hi = f.isin(pa.array(ids)), int(ids.min()), int(ids.max()) + 1
    else:
        expr = (f >= lo) & (f < hi)
    out = {}
    for name in TABLES:
        if index is None:
            table = dataset(root, name).to_table(filter=expr)
        else:
            paths = [p for p, a, b in index[name] if a < hi and b >= lo]
            table = (pads.dataset(paths, filesystem=root.fs, format="parquet").to_table(filter=expr)
                     if paths else arrow_schema(name).empty_table())
        out[name] = table.to_pandas(date_as_object=False)
    return out


def time_range(root: Root) -> tuple[dt.date, int]:
    """First day of the history and its number of days, from the market table."""
    return dates_range(dataset(root, "market").to_table(columns=["date"]).column("date"))


def dates_range(dates) -> tuple[dt.date, int]:
    """(first day, number of days) spanned by a column of dates."""
    lo, hi = pc.min(dates).as_py(), pc.max(dates).as_py()
    return lo, (hi - lo).days + 1


def context_arrays(tables: dict[str, pd.DataFrame], market: pd.DataFrame, peers: np.ndarray,
                   start: dt.date, days: int) -> arrays.ContextArrays:
    imp = tables["impressions"].copy()
    imp["action_category"] = imp.action_type.map(CATEGORY_OF)
    return arrays.build(tables["advertisers"], tables["campaigns"], tables["daily_performance"],
                        tables["workflow_events"], imp, market, peers, start, days)
