"""Training examples from the impression log: labels, logged propensities, item facts and the
candidate's own history, all as of the moment the item was shown."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipelines.world.taxonomy import ACTION_TYPES

LABEL_WINDOW_DAYS = 7  # "adopted" means adopted within 7 days of being shown
_CATEGORY_OF = {a.name: a.category for a in ACTION_TYPES}


def shown_day(impressions: pd.DataFrame, start: dt.date) -> np.ndarray:
    """Day index (since `start`) on which each impression was shown."""
    ts = impressions.shown_at.dt.tz_convert("UTC").dt.tz_localize(None)
    return (ts.dt.normalize() - pd.Timestamp(start)).dt.days.to_numpy(np.int64)


def _count_before(keys: np.ndarray, event_days: np.ndarray, query_keys: np.ndarray,
                  query_days: np.ndarray, window: int) -> np.ndarray:
    """For each query, events with the same key on days [day - window, day)."""
    scale = np.int64(1 << 20)
    _, inv = np.unique(np.concatenate([keys, query_keys]), return_inverse=True)
    ek, qk = inv[:len(keys)].astype(np.int64), inv[len(keys):].astype(np.int64)
    composite = np.sort(ek * scale + event_days)
    hi = np.searchsorted(composite, qk * scale + query_days, side="left")
    lo = np.searchsorted(composite, qk * scale + query_days - window, side="left")
    return hi - lo


def candidate_history(history: pd.DataFrame, start: dt.date, queries: pd.DataFrame,
                      query_days: np.ndarray) -> pd.DataFrame:
    """How often the campaign was shown the same item in the 21 days before, and how often the
    advertiser dismissed the same action type in the 90 days before (by response day)."""
    h_days = shown_day(history, start)
    item_key = history.campaign_id.to_numpy() * 100_000_000 + history.item_id.to_numpy()
    q_item = queries.campaign_id.to_numpy() * 100_000_000 + queries.item_id.to_numpy()
    shown = _count_before(item_key, h_days, q_item, query_days, 21)
    dis = history[(history.outcome == "dismissed") & history.responded_at.notna()]
    dis_days = (dis.responded_at.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
                - pd.Timestamp(start)).dt.days.to_numpy(np.int64)
    codes = {a.name: i for i, a in enumerate(ACTION_TYPES)}
    d_key = dis.advertiser_id.to_numpy() * 64 + dis.action_type.map(codes).to_numpy()
    q_key = queries.advertiser_id.to_numpy() * 64 + queries.action_type.map(codes).to_numpy()
    dismissed = _count_before(d_key, dis_days, q_key, query_days, 90)
    return pd.DataFrame({"times_shown_same_item_21d": shown,
                         "dismissed_same_action_90d": dismissed}, index=queries.index)


def labels(impressions: pd.DataFrame, catalog: pd.DataFrame, advertisers: pd.DataFrame,
           end: pd.Timestamp) -> pd.DataFrame:
    """One row per impression: ids, what was shown where, the logged propensities, item facts,
    and the labels. `label_complete` is False when the 7-day label window runs past `end`."""
    imp = impressions
    wait = imp.responded_at - imp.shown_at
    adopted = (imp.outcome == "adopted") & (wait <= pd.Timedelta(days=LABEL_WINDOW_DAYS))
    items = catalog.set_index("item_id").loc[imp.item_id.to_numpy()]
    vertical = advertisers.set_index("advertiser_id").loc[imp.advertiser_id.to_numpy(), "vertical"]
    return pd.DataFrame({
        "impression_id": imp.impression_id.to_numpy(),
        "slate_id": imp.slate_id.to_numpy(),
        "advertiser_id": imp.advertiser_id.to_numpy(),
        "campaign_id": imp.campaign_id.to_numpy(),
        "item_id": imp.item_id.to_numpy(),
        "action_type": imp.action_type.to_numpy(),
        "action_category": imp.action_type.map(_CATEGORY_OF).to_numpy(),
        "item_param_pct": items.param_pct.to_numpy(),
        "item_entity_kind": items.entity_kind.to_numpy(),
        "item_entity_id": items.entity_id.to_numpy(),
        "entity_matches_vertical": np.where(items.entity_vertical.isna().to_numpy(), None,
                                            items.entity_vertical.to_numpy() == vertical.to_numpy()),
        "surface": imp.surface.to_numpy(),
        "position": imp.position.to_numpy(),
        "shown_at": imp.shown_at.array,
        "policy": imp.policy.to_numpy(),
        "policy_score": imp.policy_score.to_numpy(),
        "propensity": imp.propensity.to_numpy(),
        "slate_propensity": imp.slate_propensity.to_numpy(),
        "label_adopted": adopted.to_numpy(),
        "label_dismissed": (imp.outcome == "dismissed").to_numpy(),
        "label_snoozed": (imp.outcome == "snoozed").to_numpy(),
        "dismiss_reason": imp.dismiss_reason.to_numpy(),
        "impact_conversions": imp.outcome_conversions_delta.to_numpy(),
        "impact_cost": imp.outcome_cost_delta.to_numpy(),
        "label_complete": (imp.shown_at + pd.Timedelta(days=LABEL_WINDOW_DAYS) <= end).to_numpy(),
    })


def candidate_facts(lab: pd.DataFrame, signals: pd.DataFrame, market: pd.DataFrame,
                    start: dt.date, query_days: np.ndarray) -> pd.DataFrame:
    """Facts about the candidate in its context, as of the day before it was shown: the
    advertiser's adoption and dismissal rates for the item's own category (90 days), and whether
    a keyword or interest was among its vertical's trending ones."""
    out = pd.DataFrame(index=lab.index)
    for kind in ("adoption", "dismissal"):
        values = np.full(len(lab), np.nan)
        for cat in lab.action_category.unique():
            col = f"{kind}_rate_{cat}_90d"
            m = (lab.action_category == cat).to_numpy()
            values[m] = pd.to_numeric(signals[col]).to_numpy(float)[m]
        out[f"same_category_{kind}_rate_90d"] = values
    trending = set()
    day_of = (pd.to_datetime(market.date) - pd.Timestamp(start)).dt.days.to_numpy()
    for kind, col in (("keyword", "trending_keyword_ids"), ("interest", "trending_interest_ids")):
        for v, d, ids in zip(market.vertical, day_of, market[col]):
            trending.update((kind, v, int(d), int(i)) for i in ids)
    vertical = signals["vertical"].to_numpy()
    out["entity_trending"] = [
        None if kind not in ("keyword", "interest") else
        (kind, v, int(d) - 1, int(e)) in trending
        for kind, v, d, e in zip(lab.item_entity_kind, vertical, query_days,
                                 lab.item_entity_id.fillna(-1))]
    return out
