"""`guidance prepare`: raw tables → a versioned snapshot of training examples and the online
context, as a Ray Data job.

Advertisers are cut into id ranges; a Ray Data dataset of those ranges is mapped twice: first to
sum the peer benchmarks (vertical × channel × day) over everyone, then to build each range's
day arrays, compute every signal as of each impression's day (point in time) and as of "now",
join the labels, and write the range's part files. Everything is staged and published whole:

    <root>/snapshots/<version>/examples/split=<train|validation|test>/part-*.parquet
    <root>/snapshots/<version>/online/{advertisers,campaigns}/part-*.parquet
    <root>/snapshots/<version>/peers.parquet, manifest.json
    <root>/snapshots/LATEST   (the newest version's name)
"""

from __future__ import annotations

import datetime as dt
import json
import time

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import ray

from pipelines.context import compute, load
from pipelines.context.arrays import peer_sums
from pipelines.candidates.features import trending_keys
from pipelines.context.online import online_signals
from pipelines.context.peers import peers_table
from pipelines.errors import StorageError
from pipelines.labels import examples
from pipelines.labels.config import PrepareConfig
from pipelines.runtime import ensure_ray
from pipelines.storage.root import Root
from pipelines.storage.validate import validate
from pipelines.storage.version import code_version

SPLITS = ("train", "validation", "test")


def _part(lo: int) -> str:
    return f"part-{lo:012d}.parquet"


def _peer_batch(batch: dict, root: str, index: load.FileIndex, start: dt.date, days: int) -> dict:
    r = Root(root)
    sums = []
    for lo, hi in zip(batch["lo"], batch["hi"]):
        t = load.read_advertisers(r, lo=int(lo), hi=int(hi), index=index)
        sums.append(peer_sums(t["daily_performance"], t["campaigns"], t["advertisers"], start, days))
    return {"peers": np.stack(sums)}


def _example_rows(tables, ctx, catalog, trending, start, days, bounds) -> dict[str, pa.Table]:
    imp = tables["impressions"]
    if imp.empty:
        return {}
    day = examples.shown_day(imp, start)
    end = pd.Timestamp(start, tz="UTC") + pd.Timedelta(days=days)
    lab = examples.labels(imp, catalog, end)
    sig = compute.compute(ctx, compute.query(ctx, imp.advertiser_id, imp.campaign_id, day))
    cand = examples.candidate_columns(imp, catalog, imp, sig.to_pandas(), trending)
    table = pa.Table.from_pandas(pd.concat([lab, cand], axis=1), preserve_index=False)
    for name in sig.column_names:
        table = table.append_column(sig.schema.field(name), sig.column(name))
    split = np.where(day < bounds[0], 0, np.where(day < bounds[1], 1, 2))
    complete = lab.label_complete.to_numpy()
    return {s: table.filter(pa.array((split == i) & complete)) for i, s in enumerate(SPLITS)}


def _prepare_batch(batch: dict, root: str, index: load.FileIndex, staged: str,
                   market: pd.DataFrame, trending: np.ndarray, peers: np.ndarray,
                   start: dt.date, days: int, bounds: tuple[int, int]) -> dict:
    r = Root(root)
    counts = {k: [] for k in ("lo", *SPLITS, "incomplete", "online_advertisers",
                              "online_campaigns")}
    for lo, hi in zip(batch["lo"], batch["hi"]):
        lo, hi = int(lo), int(hi)
        t = load.read_advertisers(r, lo=lo, hi=hi, index=index)
        ctx = load.context_arrays(t, market, peers, start, days)
        items = pa.array(t["impressions"].item_id.unique(), pa.int64())
        catalog = load.dataset(r, "catalog").to_table(
            filter=pc.field("item_id").isin(items)).to_pandas()
        parts = _example_rows(t, ctx, catalog, trending, start, days, bounds)
        for s in SPLITS:
            n = parts[s].num_rows if s in parts else 0
            if n:
                r.write_parquet(parts[s], f"{staged}/examples/split={s}/{_part(lo)}")
            counts[s].append(n)
        counts["incomplete"].append(len(t["impressions"]) - sum(counts[s][-1] for s in SPLITS))
        adv, cmp = online_signals(ctx, days)
        r.write_parquet(adv, f"{staged}/online/advertisers/{_part(lo)}")
        r.write_parquet(cmp, f"{staged}/online/campaigns/{_part(lo)}")
        counts["lo"].append(lo)
        counts["online_advertisers"].append(adv.num_rows)
        counts["online_campaigns"].append(cmp.num_rows)
    return {k: np.asarray(v) for k, v in counts.items()}


def _summary(root: Root, path: str) -> dict:
    """Mean, std, min, max and null share of every numeric column of the train split."""
    ds = pads.dataset(path, filesystem=root.fs, format="parquet")
    con = duckdb.connect()
    con.register("train", ds)
    out = {}
    for f in ds.schema:
        if pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_boolean(f.type):
            x = f"CAST({f.name} AS DOUBLE)"
            row = con.execute(f"SELECT avg({x}), stddev_samp({x}), min({x}), max({x}), "
                              f"avg(({f.name} IS NULL)::INT) FROM train").fetchall()[0]
            out[f.name] = dict(zip(("mean", "std", "min", "max", "null_share"),
                                   (None if v is None else float(v) for v in row)))
    return out


def prepare(cfg: PrepareConfig, show_progress: bool = True) -> dict:
    """Validate the raw tables, build the snapshot and publish it; returns its manifest."""
    started = time.time()
    root = Root(cfg.root)
    validate(root)
    root.check_writable()
    dest = f"snapshots/{cfg.version}"
    if root.is_published(dest) and not cfg.overwrite:
        raise StorageError(f"{root.join(dest)} already exists; pass --overwrite or a new --version")
    start, days = load.time_range(root)
    ids = np.sort(load.dataset(root, "advertisers").to_table(columns=["advertiser_id"])
                  .column("advertiser_id").to_numpy())
    edges = ids[::cfg.advertisers_per_block]
    blocks = [{"lo": int(lo), "hi": int(hi)} for lo, hi in zip(edges, np.r_[edges[1:], ids[-1] + 1])]
    index = load.file_index(root)
    train_end = int(round(days * cfg.train_share))
    val_end = int(round(days * (cfg.train_share + cfg.validation_share)))
    market = load.dataset(root, "market").to_table().to_pandas()
    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = show_progress
    ranges = ray.data.from_items(blocks, override_num_blocks=len(blocks))
    peer_parts = ranges.map_batches(_peer_batch, batch_size=1, batch_format="numpy",
                                    fn_kwargs={"root": cfg.root, "index": index, "start": start,
                                               "days": days})
    peers = sum(b["peers"].sum(axis=0) for b in peer_parts.iter_batches(batch_format="numpy"))
    with root.staging("snapshot") as staged:
        out = f"{staged}/{dest}"
        root.fs.create_dir(out, recursive=True)
        counts = ranges.map_batches(
            _prepare_batch, batch_size=1, batch_format="numpy",
            fn_kwargs={"root": cfg.root, "index": index, "staged": out, "market": market,
                       "trending": trending_keys(market), "peers": peers, "start": start,
                       "days": days, "bounds": (train_end, val_end)},
        ).to_pandas()
        root.write_parquet(peers_table(peers, start), f"{out}/peers.parquet")
        rows = {s: int(counts[s].sum()) for s in (*SPLITS, "incomplete", "online_advertisers",
                                                   "online_campaigns")}
        day = lambda i: (start + dt.timedelta(days=i)).isoformat()  # noqa: E731
        manifest = {
            "version": cfg.version,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "code_version": code_version(),
            "config": cfg.model_dump(mode="json"),
            "history": {"start": day(0), "end": day(days), "days": days},
            "as_of_now": day(days),
            "splits": {"train": [day(0), day(train_end)], "validation": [day(train_end), day(val_end)],
                       "test": [day(val_end), day(days)]},
            "label_window_days": examples.LABEL_WINDOW_DAYS,
            "rows": rows,
            "schema": {},
            "statistics": {},
        }
        for key, folder, n in (("examples", "examples/split=train", rows["train"]),
                               ("online/advertisers", "online/advertisers", 1),
                               ("online/campaigns", "online/campaigns", 1)):
            if n:
                sch = pads.dataset(f"{out}/{folder}", filesystem=root.fs, format="parquet").schema
                manifest["schema"][key] = {f.name: str(f.type) for f in sch}
        if rows["train"]:
            manifest["statistics"] = _summary(root, f"{out}/examples/split=train")
        with root.fs.open_output_stream(f"{out}/manifest.json") as f:
            f.write(json.dumps(manifest, indent=2).encode())
        _publish_snapshot(root, staged, dest, cfg)
    manifest["seconds"] = round(time.time() - started, 1)
    return manifest


def _publish_snapshot(root: Root, staged: str, dest: str, cfg: PrepareConfig) -> None:
    """Publish the staged folder as snapshots/<version>, then repoint LATEST."""
    root.publish(staged, [dest], overwrite=cfg.overwrite)
    root.write_atomic("snapshots/LATEST", cfg.version.encode())


def render(manifest: dict) -> str:
    """`guidance prepare`'s line for people: the snapshot's row counts and as-of day."""
    r = manifest["rows"]
    return (f"snapshot {manifest['version']} written in {manifest['seconds']} s: "
            f"train {r['train']:,}, validation {r['validation']:,}, test {r['test']:,} "
            f"examples; {r['online_advertisers']:,} advertisers and "
            f"{r['online_campaigns']:,} campaigns as of {manifest['as_of_now']}")
