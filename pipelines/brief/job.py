"""`guidance brief`: one account's brief online, or every account's as a Ray Data job.

Both read the raw tables through the context layer (the same signal functions, as of the day and
`past_days` before it) and the peer reference of a snapshot (`reference.build` over the
snapshot's online tables: every account and campaign as of the snapshot's day), then call the
same pure functions of `pipelines.brief.core`. The offline job cuts the advertisers into id
ranges like `guidance prepare` and publishes, whole, beside the snapshot it reads (published
snapshots are never written into):

    <root>/briefs/<snapshot>/items/part-*.parquet      one row per (advertiser, rank)
    <root>/briefs/<snapshot>/baseline/part-*.parquet   the extreme-signals baseline, same columns
    <root>/briefs/<snapshot>/accounts/part-*.parquet   one row per advertiser (every one)
    <root>/briefs/<snapshot>/reference.parquet         the peer reference the scores use
    <root>/briefs/<snapshot>/manifest.json
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray
from pydantic import BaseModel, ConfigDict, Field

from pipelines.brief import reference
from pipelines.brief.core import (DEFAULT_CONFIG, AccountSignals, Brief, BriefConfig, BriefItem,
                                  available_actions, briefs, render, with_guidance, words)
from pipelines.candidates.reasons import supports
from pipelines.context import load
from pipelines.context.online import online_signals
from pipelines.context.peers import read_peers
from pipelines.context.registry import SIGNALS_BY_NAME
from pipelines.errors import ConfigError, NotFoundError, StorageError
from pipelines.runtime import ensure_ray
from pipelines.storage.root import Root
from pipelines.storage.snapshots import latest_version, snapshot_path
from pipelines.storage.version import code_version

ITEM_SCHEMA = pa.schema([
    ("advertiser_id", pa.int64()), ("as_of", pa.date32()), ("snapshot", pa.string()),
    ("kind", pa.string()), ("rank", pa.int32()), ("signal", pa.string()), ("level", pa.string()),
    ("campaign_id", pa.int64()), ("value", pa.float64()), ("unit", pa.string()),
    ("past_value", pa.float64()), ("own_change", pa.float64()), ("peer_share", pa.float64()),
    ("peer_z", pa.float64()), ("own_z", pa.float64()), ("unusualness", pa.float64()),
    ("score", pa.float64()), ("sentence", pa.string()), ("line", pa.string()),
    ("bears_on", pa.list_(pa.string())), ("categories", pa.list_(pa.string())),
])
ACCOUNT_SCHEMA = pa.schema([
    ("advertiser_id", pa.int64()), ("as_of", pa.date32()), ("snapshot", pa.string()),
    ("items", pa.int32()), ("words", pa.int32()), ("baseline_items", pa.int32()),
    ("text", pa.string()),
])


class BriefJobConfig(BaseModel):
    """Which snapshot's accounts to brief, how, and where the table goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(..., description="Root folder or URI.")
    snapshot: str | None = Field(None, description="Snapshot version (default: latest).")
    advertisers_per_block: int = Field(500, ge=1, le=1_000_000,
                                       description="Advertisers per Ray Data task.")
    overwrite: bool = Field(False, description="Replace the briefs of the same snapshot.")
    brief: BriefConfig = Field(default_factory=BriefConfig, description="How briefs are made.")


# ------------------------------------------------------------------------------- inputs

def signals_as_of(tables: dict[str, pd.DataFrame], market: pd.DataFrame, peers: np.ndarray,
                  start: dt.date, days: int, day: int, past_days: int) -> AccountSignals:
    """The signals of the advertisers in `tables` (their raw rows) as of day index `day` and
    `past_days` before it (all missing when that falls before the history), campaigns with
    their raw `status`."""
    ctx = load.context_arrays(tables, market, peers, start, days)
    status = tables["campaigns"][["campaign_id", "status"]]

    def at(d: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        adv, camp = (t.to_pandas() for t in online_signals(ctx, d))
        camp = camp.merge(status, on="campaign_id", how="left")
        return adv, camp.sort_values(["advertiser_id", "campaign_id"]).reset_index(drop=True)

    adv, camp = at(day)
    if day >= past_days:
        adv_past, camp_past = at(day - past_days)
    else:  # no past signal values: the ids alone
        adv_past, camp_past = adv[["advertiser_id"]], camp[["advertiser_id", "campaign_id"]]
    return AccountSignals(adv, adv_past, camp, camp_past)


def _manifest(root: Root, version: str) -> dict:
    with root.fs.open_input_stream(snapshot_path(root, version, "manifest.json")) as f:
        return json.loads(f.read())


def peer_reference(root: Root, version: str, cfg: BriefConfig) -> reference.Reference:
    """The peer reference of a snapshot: every account and campaign of its online tables."""
    base = snapshot_path(root, version, "online")
    return reference.build(pq.read_table(f"{base}/advertisers", filesystem=root.fs).to_pandas(),
                           pq.read_table(f"{base}/campaigns", filesystem=root.fs).to_pandas(),
                           cfg.reference_points, cfg.min_peers)


def _history(root: Root) -> tuple[pd.DataFrame, dt.date, int]:
    market = load.dataset(root, "market").to_table()
    start, days = load.dates_range(market.column("date"))
    return market.to_pandas(), start, days


def _day(as_of: dt.date, start: dt.date, days: int) -> int:
    day = (as_of - start).days
    if not 0 <= day <= days:
        raise ConfigError(f"as-of date {as_of} is outside the history "
                          f"{start} .. {start + dt.timedelta(days=days)}")
    return day


# ------------------------------------------------------------------------------- online

def brief_for(root: Root, advertiser_id: int, as_of: dt.date | None = None,
              version: str | None = None, cfg: BriefConfig = DEFAULT_CONFIG,
              guidance_score: float | None = None, recommendations: Sequence[Mapping] = (),
              baseline: bool = False) -> Brief:
    """One advertiser's brief as of `as_of` (default: the snapshot's day) against the peers of
    snapshot `version` (default: latest), from its raw rows; with the caller's guidance score
    and top recommendations when given. With `baseline`, the extreme-signals brief instead."""
    version = version or latest_version(root)
    as_of = as_of or dt.date.fromisoformat(_manifest(root, version)["as_of_now"])
    market, start, days = _history(root)
    day = _day(as_of, start, days)
    tables = load.read_advertisers(root, ids=np.array([advertiser_id]))
    if tables["advertisers"].empty:
        raise NotFoundError(f"advertiser {advertiser_id} not found under root {root.uri!r}")
    sig = signals_as_of(tables, market, read_peers(root, version), start, days, day,
                        cfg.past_days)
    b = briefs(sig, peer_reference(root, version, cfg), available_actions(sig, as_of), as_of,
               supports, cfg, baseline=baseline, snapshot=version)[0]
    return with_guidance(b, guidance_score, recommendations)


# ------------------------------------------------------------------------------- offline

def _part(lo: int) -> str:
    return f"part-{lo:012d}.parquet"


def item_table(bs: Sequence[Brief], snapshot: str) -> pa.Table:
    """One row per (advertiser, rank) of `bs`, in ITEM_SCHEMA."""
    rows = [{"advertiser_id": b.advertiser_id, "as_of": dt.date.fromisoformat(b.as_of),
             "snapshot": snapshot, "kind": b.kind, "rank": rank,
             **{k: (list(v) if isinstance(v, tuple) else v)
                for k, v in vars(it).items()}}
            for b in bs for rank, it in enumerate(b.items, start=1)]
    return pa.Table.from_pylist(rows, schema=ITEM_SCHEMA)


def account_table(guided: Sequence[Brief], extreme: Sequence[Brief], snapshot: str) -> pa.Table:
    """One row per advertiser: its items, words, the baseline's items and the rendered brief."""
    return pa.Table.from_pylist([
        {"advertiser_id": g.advertiser_id, "as_of": dt.date.fromisoformat(g.as_of),
         "snapshot": snapshot, "items": len(g.items), "words": g.words,
         "baseline_items": len(e.items), "text": render(g)}
        for g, e in zip(guided, extreme)], schema=ACCOUNT_SCHEMA)


def _brief_batch(batch: dict, root: str, index: load.FileIndex, staged: str, snapshot: str,
                 market: pd.DataFrame, peers: np.ndarray, start: dt.date, days: int, day: int,
                 ref_table: pa.Table, cfg: dict) -> dict:
    r, bc = Root(root), BriefConfig.model_validate(cfg)
    ref = reference.from_table(ref_table)
    as_of = start + dt.timedelta(days=day)
    counts = {k: [] for k in ("lo", "advertisers", "items", "baseline")}
    for lo, hi in zip(batch["lo"], batch["hi"]):
        lo, hi = int(lo), int(hi)
        t = load.read_advertisers(r, lo=lo, hi=hi, index=index)
        sig = signals_as_of(t, market, peers, start, days, day, bc.past_days)
        actions = available_actions(sig, as_of)
        guided = briefs(sig, ref, actions, as_of, supports, bc, snapshot=snapshot)
        extreme = briefs(sig, ref, actions, as_of, supports, bc, baseline=True,
                         snapshot=snapshot)
        items, base = item_table(guided, snapshot), item_table(extreme, snapshot)
        r.write_parquet(items, f"{staged}/items/{_part(lo)}")
        r.write_parquet(base, f"{staged}/baseline/{_part(lo)}")
        r.write_parquet(account_table(guided, extreme, snapshot), f"{staged}/accounts/{_part(lo)}")
        for k, v in (("lo", lo), ("advertisers", len(guided)), ("items", items.num_rows),
                     ("baseline", base.num_rows)):
            counts[k].append(v)
    return {k: np.asarray(v) for k, v in counts.items()}


def write_briefs(cfg: BriefJobConfig, show_progress: bool = True) -> dict:
    """The brief of every account of the snapshot as of its day, published whole under
    <root>/briefs/<snapshot>/; returns the manifest."""
    started = time.time()
    root = Root(cfg.root)
    version = cfg.snapshot or latest_version(root)
    as_of = dt.date.fromisoformat(_manifest(root, version)["as_of_now"])
    dest = f"briefs/{version}"
    if root.is_published(dest) and not cfg.overwrite:
        raise StorageError(f"{root.join(dest)} already exists; pass --overwrite to replace it")
    root.check_writable()
    market, start, days = _history(root)
    day = _day(as_of, start, days)
    ref = peer_reference(root, version, cfg.brief)
    ids = np.sort(load.dataset(root, "advertisers").to_table(columns=["advertiser_id"])
                  .column("advertiser_id").to_numpy())
    edges = ids[::cfg.advertisers_per_block]
    blocks = [{"lo": int(lo), "hi": int(hi)} for lo, hi in zip(edges, np.r_[edges[1:], ids[-1] + 1])]
    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = show_progress
    with root.staging("briefs") as staged:
        out = f"{staged}/{dest}"
        counts = ray.data.from_items(blocks, override_num_blocks=len(blocks)).map_batches(
            _brief_batch, batch_size=1, batch_format="numpy",
            fn_kwargs={"root": cfg.root, "index": load.file_index(root), "staged": out,
                       "snapshot": version, "market": market, "peers": read_peers(root, version),
                       "start": start, "days": days, "day": day,
                       "ref_table": reference.to_table(ref), "cfg": cfg.brief.model_dump()},
        ).to_pandas()
        root.write_parquet(reference.to_table(ref), f"{out}/reference.parquet")
        manifest = {
            "snapshot": version, "as_of": as_of.isoformat(),
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "code_version": code_version(), "config": cfg.model_dump(mode="json"),
            "rows": {k: int(counts[k].sum()) for k in ("advertisers", "items", "baseline")},
            "signals_with_reference": len(ref.values),
        }
        with root.fs.open_output_stream(f"{out}/manifest.json") as f:
            f.write(json.dumps(manifest, indent=2).encode())
        root.publish(staged, [dest], overwrite=cfg.overwrite)
    manifest["seconds"] = round(time.time() - started, 1)
    manifest["path"] = root.join(dest)
    return manifest


def render_summary(manifest: dict) -> str:
    """`guidance brief --all`'s line for people."""
    r = manifest["rows"]
    return (f"briefs of {r['advertisers']:,} advertisers as of {manifest['as_of']} (snapshot "
            f"{manifest['snapshot']}) written in {manifest['seconds']} s: {r['items']:,} items, "
            f"{r['items'] / max(r['advertisers'], 1):.1f} per account, to {manifest['path']}")


# ------------------------------------------------------------------------------- reading

def read_brief(root: Root, advertiser_id: int, version: str | None = None,
               kind: str = "guided") -> Brief:
    """One advertiser's brief from the offline table of snapshot `version` (default: latest),
    as `brief_for` makes it; `kind` "guided" or "extreme" (the baseline)."""
    version = version or latest_version(root)
    base = f"briefs/{version}"
    if not root.exists(base):
        raise NotFoundError(f"no briefs of snapshot {version!r} under root {root.uri!r}: run "
                            "`guidance brief --all`")
    root.require(base)
    f = pc.field("advertiser_id") == advertiser_id
    acc = root.read_table(f"{base}/accounts").filter(f).to_pylist()
    if not acc:
        raise NotFoundError(f"advertiser {advertiser_id} has no brief in snapshot {version!r}")
    folder = {"guided": "items", "extreme": "baseline"}[kind]
    rows = root.read_table(f"{base}/{folder}").filter(f).to_pandas().sort_values("rank")
    items = tuple(_item(r) for r in rows.to_dict("records"))
    return Brief(advertiser_id, acc[0]["as_of"].isoformat(), kind, items,
                 sum(words(it.line) for it in items), version)


def _item(row: dict) -> BriefItem:
    def num(x):
        return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)

    def typed(x):
        x = num(x)
        is_int = SIGNALS_BY_NAME[row["signal"]].kind == "int"
        return int(round(x)) if (x is not None and is_int) else x

    cid = row["campaign_id"]
    return BriefItem(
        signal=row["signal"], level=row["level"],
        campaign_id=None if cid is None or pd.isna(cid) else int(cid), value=typed(row["value"]),
        unit=row["unit"], past_value=typed(row["past_value"]), own_change=num(row["own_change"]),
        peer_share=num(row["peer_share"]), peer_z=num(row["peer_z"]), own_z=num(row["own_z"]),
        unusualness=float(row["unusualness"]), score=float(row["score"]),
        sentence=row["sentence"], line=row["line"], bears_on=tuple(row["bears_on"]),
        categories=tuple(row["categories"]))
