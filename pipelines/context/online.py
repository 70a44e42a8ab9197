"""The online side of the context layer: one advertiser's signals, from the same functions the
offline job maps over everyone, grouped by source with their sentences."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.context import compute, load
from pipelines.context.arrays import ContextArrays
from pipelines.context.peers import read_peers
from pipelines.context.registry import GROUPS, SIGNALS_BY_NAME
from pipelines.errors import ConfigError, NotFoundError
from pipelines.storage.root import Root
from pipelines.storage.snapshots import latest_version, snapshot_path


def _value(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def grouped(row: dict) -> dict[str, list[dict]]:
    """Signal values (name → value) grouped by source, each with its unit and sentence."""
    out: dict[str, list[dict]] = {}
    for name, value in row.items():
        s = SIGNALS_BY_NAME[name]
        value = _value(value)
        out.setdefault(s.group, []).append({
            "name": name, "value": value, "unit": s.unit, "sentence": s.explain(value)})
    return {g: out[g] for g in GROUPS if g in out}


def context_for(root: Root, advertiser_id: int, as_of: dt.date | None = None,
                version: str | None = None) -> dict:
    """Signals of one advertiser and each of its campaigns as of `as_of` (default: now, the day
    after the history ends), with the peer benchmarks of snapshot `version` (default: latest)."""
    version = version or latest_version(root)
    market_table = load.dataset(root, "market").to_table()
    start, days = load.dates_range(market_table.column("date"))
    day = days if as_of is None else (as_of - start).days
    if not 0 <= day <= days:
        raise ConfigError(f"as-of date {as_of} is outside the history "
                          f"{start} .. {start + dt.timedelta(days=days)}")
    tables = load.read_advertisers(root, ids=np.array([advertiser_id]))
    if tables["advertisers"].empty:
        raise NotFoundError(f"advertiser {advertiser_id} not found under root {root.uri!r}")
    market = market_table.to_pandas()
    ctx = load.context_arrays(tables, market, read_peers(root, version), start, days)
    adv = compute.compute(ctx, compute.query(ctx, [advertiser_id], [-1], [day]),
                          level="advertiser").to_pylist()[0]
    n = len(ctx.campaign_id)
    camps = compute.compute(ctx, compute.query(ctx, np.full(n, advertiser_id), ctx.campaign_id,
                                               np.full(n, day)), level="campaign").to_pylist()
    return {
        "advertiser_id": int(advertiser_id),
        "as_of": (start + dt.timedelta(days=day)).isoformat(),
        "snapshot": version,
        "signals": grouped(adv),
        "campaigns": [{"campaign_id": int(cid), "signals": grouped(row)}
                      for cid, row in zip(ctx.campaign_id, camps)],
    }


def render(context: dict) -> str:
    """The context for a person: grouped by source, one sentence per signal."""
    lines = [f"advertiser {context['advertiser_id']} as of {context['as_of']} "
             f"(snapshot {context['snapshot']})"]

    def block(groups, indent):
        for group, items in groups.items():
            known = [it for it in items if it["value"] is not None]
            unknown = len(items) - len(known)
            lines.append(f"{indent}{group}" + (f" ({unknown} unknown: no data yet)" if unknown
                                               else ""))
            for it in known:
                lines.append(f"{indent}  {it['name']:<36}{it['sentence']}")

    block(context["signals"], "  ")
    for c in context["campaigns"]:
        lines.append(f"  campaign {c['campaign_id']}")
        block(c["signals"], "    ")
    return "\n".join(lines)


def online_signals(ctx: ContextArrays, day: int) -> tuple[pa.Table, pa.Table]:
    """Every advertiser's signals (with `advertiser_id`) and every campaign's (with
    `advertiser_id`, `campaign_id`) of `ctx` as of day index `day`: what `guidance prepare`
    writes as the online context (as of now), and what a replay of a past day serves."""
    ids = ctx.advertiser_id
    adv = compute.compute(ctx, compute.query(ctx, ids, np.full(len(ids), -1),
                                             np.full(len(ids), day)), level="advertiser")
    adv = adv.add_column(0, "advertiser_id", pa.array(ids))
    camp_adv = ids[ctx.camp_adv]
    cmp = compute.compute(ctx, compute.query(ctx, camp_adv, ctx.campaign_id,
                                             np.full(len(camp_adv), day)), level="campaign")
    cmp = cmp.add_column(0, "campaign_id", pa.array(ctx.campaign_id))
    cmp = cmp.add_column(0, "advertiser_id", pa.array(camp_adv))
    return adv, cmp


def online_tables(root: Root, snapshot: str, as_of: dt.date | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The online advertiser and campaign signals (campaigns with their `status`), sorted by id:
    the snapshot's, or with `as_of` those of every advertiser as of that past day, computed from
    the raw tables by the same functions (a replay; the raw contract gives a campaign's status
    as of the end of the history only)."""
    if as_of is None:
        base = snapshot_path(root, snapshot, "online")
        adv = pq.read_table(f"{base}/advertisers", filesystem=root.fs).to_pandas()
        camp = pq.read_table(f"{base}/campaigns", filesystem=root.fs).to_pandas()
    else:
        market = load.dataset(root, "market").to_table()
        start, days = load.dates_range(market.column("date"))
        day = (as_of - start).days
        if not 0 <= day <= days:
            raise ConfigError(f"as-of date {as_of} is outside the history "
                              f"{start} .. {start + dt.timedelta(days=days)}")
        ctx = load.context_arrays(load.read_advertisers(root, lo=0, hi=2**62), market.to_pandas(),
                                  read_peers(root, snapshot), start, days)
        adv, camp = (t.to_pandas() for t in online_signals(ctx, day))
    adv = adv.sort_values("advertiser_id").reset_index(drop=True)
    raw = load.dataset(root, "campaigns").to_table(columns=["campaign_id", "status"]).to_pandas()
    camp = camp.merge(raw, on="campaign_id", how="left")
    return adv, camp.sort_values(["advertiser_id", "campaign_id"]).reset_index(drop=True)


def advertiser_of_campaigns(adv: pd.DataFrame, camp: pd.DataFrame) -> pd.DataFrame:
    """The advertiser row of each campaign row (both sorted by advertiser id)."""
    rows = np.searchsorted(adv.advertiser_id.to_numpy(), camp.advertiser_id.to_numpy())
    return adv.iloc[rows].reset_index(drop=True)


def joined(adv_of_camp: pd.DataFrame, camp: pd.DataFrame) -> pd.DataFrame:
    """One row per campaign with every signal: the ranker's and the retriever's context."""
    return pd.concat([adv_of_camp, camp.drop(columns=["advertiser_id"])], axis=1)


def campaign_context(root: Root, snapshot: str) -> pd.DataFrame:
    """Every campaign's context row of a snapshot (what the ranker pre-encodes)."""
    adv, camp = online_tables(root, snapshot)
    return joined(advertiser_of_campaigns(adv, camp), camp)
