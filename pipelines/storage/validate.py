"""Check raw tables against the raw-data contract before any job reads them.

Stops at the first problem with a DataError naming the table, the column and a sample of the bad
rows. Runs DuckDB over the Parquet datasets in one process: cheap next to the jobs it guards.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from pipelines.domain.contract import TABLES, arrow_schema
from pipelines.errors import DataError
from pipelines.storage.root import Root

KEYS = {
    "advertisers": ["advertiser_id"],
    "campaigns": ["campaign_id"],
    "daily_performance": ["campaign_id", "date"],
    "market": ["vertical", "country", "date"],
    "workflow_events": ["event_id"],
    "catalog": ["item_id"],
    "impressions": ["impression_id"],
}
NON_NEGATIVE = {
    "daily_performance": ["spend", "impressions", "clicks", "conversions", "conversion_value",
                          "daily_budget"],
    "campaigns": ["daily_budget"],
}
PROBABILITIES = {"impressions": ["propensity", "slate_propensity"]}
SAMPLE = 3


def _same_kind(found: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(found)
    if pa.types.is_floating(expected):
        return pa.types.is_floating(found) or pa.types.is_integer(found)
    if pa.types.is_string(expected):
        return pa.types.is_string(found) or pa.types.is_large_string(found)
    return found.equals(expected)


def _count(con, sql: str) -> int:
    return con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]


def _sample(con, sql: str) -> str:
    cur = con.execute(f"{sql} LIMIT {SAMPLE}")
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    return ", ".join(str({k: (str(v) if v is not None else None) for k, v in r.items()})
                     for r in rows)


def validate(root: Root, tables: tuple[str, ...] = tuple(TABLES)) -> None:
    """Raise DataError unless every table exists, has its columns with the documented types,
    unique keys, no nulls in keys, no negative amounts and valid propensities."""
    root.require("raw", f"no raw tables under root {root.uri!r}: run `guidance world generate` "
                 "or export the platform's tables there")
    con = duckdb.connect()
    for name in tables:
        if not root.exists(f"raw/{name}"):
            raise DataError(f"table {name}: missing under {root.join('raw', name)}")
        ds = pads.dataset(root.join("raw", name), filesystem=root.fs, format="parquet",
                          exclude_invalid_files=True)
        found = ds.schema
        for field in arrow_schema(name):
            if field.name not in found.names:
                raise DataError(f"table {name}, column {field.name}: missing "
                                f"(found {', '.join(found.names)})")
            got = found.field(field.name).type
            if not _same_kind(got, field.type):
                raise DataError(f"table {name}, column {field.name}: expected {field.type}, "
                                f"found {got}")
        con.register(name, ds)
        keys = KEYS[name]
        k = ", ".join(keys)
        null = " OR ".join(f"{c} IS NULL" for c in keys)
        if _count(con, f"SELECT * FROM {name} WHERE {null}"):
            raise DataError(f"table {name}, column {k}: null keys, e.g. "
                            + _sample(con, f"SELECT {k} FROM {name} WHERE {null}"))
        dup_sql = f"SELECT {k}, count(*) AS copies FROM {name} GROUP BY {k} HAVING count(*) > 1"
        if _count(con, dup_sql):
            raise DataError(f"table {name}, column {k}: duplicate keys, e.g. "
                            + _sample(con, dup_sql))
        checks = [(c, f"{c} < 0", "negative values") for c in NON_NEGATIVE.get(name, [])]
        checks += [(c, f"NOT ({c} > 0 AND {c} <= 1)", "values outside (0, 1]")
                   for c in PROBABILITIES.get(name, [])]
        for col, condition, what in checks:
            bad = f"SELECT {k}, {col} FROM {name} WHERE {condition}"
            n = _count(con, bad)
            if n:
                raise DataError(f"table {name}, column {col}: {n} {what}, e.g. "
                                + _sample(con, bad))
