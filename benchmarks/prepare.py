"""Signal computation: the Ray Data job against one DuckDB process over the same files.

The workload is the campaign performance signals of every logged impression as of the day it was
shown (trailing 7- and 28-day spend, impressions, clicks, conversions, budget-limited days, CTR):
the heart of `guidance prepare`. Both sides compute it from the raw Parquet files, the results are
checked equal, and rows per second are printed for two world sizes.

    .venv/bin/python benchmarks/prepare.py [--sizes 2000 20000] [--days 90]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.dataset as pads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ray  # noqa: E402

from pipelines.context import compute, load  # noqa: E402
from pipelines.context.registry import SIGNALS_BY_NAME  # noqa: E402
from pipelines.labels.examples import shown_day  # noqa: E402
from pipelines.storage.root import Root  # noqa: E402
from pipelines.world.config import WorldConfig  # noqa: E402
from pipelines.runtime import ensure_ray  # noqa: E402
from pipelines.world.job import generate  # noqa: E402

SIGNALS = ("spend_7d", "spend_28d", "impressions_7d", "clicks_7d", "conversions_7d",
           "conversions_28d", "budget_limited_days_7d", "budget_limited_days_28d", "ctr_7d")
NO_PEERS = np.zeros((12, 3, 5, 1))

DUCKDB_SQL = """
WITH q AS (SELECT impression_id, campaign_id, CAST(shown_at AS DATE) AS d FROM impressions),
p AS (SELECT campaign_id, date, spend, impressions, clicks, coalesce(conversions, 0) AS conv,
             budget_limited::INT AS lim FROM daily_performance)
SELECT q.impression_id,
  coalesce(sum(p.spend) FILTER (WHERE p.date >= q.d - 7), 0) AS spend_7d,
  coalesce(sum(p.spend), 0) AS spend_28d,
  coalesce(sum(p.impressions) FILTER (WHERE p.date >= q.d - 7), 0) AS impressions_7d,
  coalesce(sum(p.clicks) FILTER (WHERE p.date >= q.d - 7), 0) AS clicks_7d,
  coalesce(sum(p.conv) FILTER (WHERE p.date >= q.d - 7), 0) AS conversions_7d,
  coalesce(sum(p.conv), 0) AS conversions_28d,
  coalesce(sum(p.lim) FILTER (WHERE p.date >= q.d - 7), 0) AS budget_limited_days_7d,
  coalesce(sum(p.lim), 0) AS budget_limited_days_28d,
  sum(p.clicks) FILTER (WHERE p.date >= q.d - 7)
    / nullif(sum(p.impressions) FILTER (WHERE p.date >= q.d - 7), 0) AS ctr_7d
FROM q LEFT JOIN p ON p.campaign_id = q.campaign_id AND p.date >= q.d - 28 AND p.date < q.d
GROUP BY q.impression_id
"""


def duckdb_signals(root: Root) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("impressions", "daily_performance"):
        con.register(name, pads.dataset(root.join("raw", name), format="parquet"))
    return con.execute(DUCKDB_SQL).df()


def _block(batch: dict, root: str, index, market: pd.DataFrame, start, days) -> dict:
    r = Root(root)
    out = []
    for lo, hi in zip(batch["lo"], batch["hi"]):
        t = load.read_advertisers(r, lo=int(lo), hi=int(hi), index=index)
        ctx = load.context_arrays(t, market, NO_PEERS, start, days)
        imp = t["impressions"]
        q = compute.query(ctx, imp.advertiser_id, imp.campaign_id, shown_day(imp, start))
        cols = {"impression_id": imp.impression_id.to_numpy()}
        cols.update({name: SIGNALS_BY_NAME[name].fn(ctx, q) for name in SIGNALS})
        out.append(pd.DataFrame(cols))
    return pd.concat(out)


def ray_data_signals(root: Root, per_block: int) -> pd.DataFrame:
    start, days = load.time_range(root)
    ids = np.sort(load.dataset(root, "advertisers").to_table(columns=["advertiser_id"])
                  .column("advertiser_id").to_numpy())
    edges = ids[::per_block]
    blocks = [{"lo": int(lo), "hi": int(hi)} for lo, hi in zip(edges, np.r_[edges[1:], ids[-1] + 1])]
    market = load.dataset(root, "market").to_table().to_pandas()
    ds = ray.data.from_items(blocks, override_num_blocks=len(blocks)).map_batches(
        _block, batch_size=1, batch_format="pandas",
        fn_kwargs={"root": root.uri, "index": load.file_index(root), "market": market,
                   "start": start, "days": days})
    return ds.to_pandas()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs=2, default=[2000, 20000])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--per-block", type=int, default=2500)
    ap.add_argument("--roots", nargs="+", help="Measure worlds already generated here instead.")
    args = ap.parse_args()
    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = False
    print(f"{'advertisers':>12}{'examples':>10}{'duckdb s':>10}{'ray s':>8}"
          f"{'duckdb rows/s':>15}{'ray rows/s':>12}{'ray/duckdb time':>17}")
    for n in args.roots or args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            if args.roots:
                root = Root(n)
                n = root.read_table("raw/advertisers").num_rows
            else:
                generate(WorldConfig(scale="small", advertisers=n, days=args.days, seed=7,
                                     shards=os.cpu_count() or 1, root=tmp), show_progress=False)
                root = Root(tmp)
            ray_data_signals(root, args.per_block)  # warm the workers
            t0 = time.perf_counter()
            duck = duckdb_signals(root)
            duck_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            rd = ray_data_signals(root, args.per_block)
            ray_s = time.perf_counter() - t0
        a = duck.sort_values("impression_id").reset_index(drop=True)
        b = rd.sort_values("impression_id").reset_index(drop=True)
        for name in SIGNALS:
            np.testing.assert_allclose(a[name].to_numpy(float), b[name].to_numpy(float),
                                       rtol=1e-9, equal_nan=True, err_msg=name)
        rows = len(a)
        print(f"{n:>12,}{rows:>10,}{duck_s:>10.2f}{ray_s:>8.2f}{rows / duck_s:>15,.0f}"
              f"{rows / ray_s:>12,.0f}{ray_s / duck_s:>17.2f}")


if __name__ == "__main__":
    main()
