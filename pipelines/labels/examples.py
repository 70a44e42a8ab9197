"""Training examples from the impression log: labels and logged propensities, and the
candidate's features (pipelines.candidates.features, the service's own) as of the moment the item
was shown."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipelines.candidates.features import candidate_features, epoch_ms

LABEL_WINDOW_DAYS = 7  # "adopted" means adopted within 7 days of being shown


def shown_day(impressions: pd.DataFrame, start: dt.date) -> np.ndarray:
    """Day index (since `start`) on which each impression was shown."""
    ts = impressions.shown_at.dt.tz_convert("UTC").dt.tz_localize(None)
    return (ts.dt.normalize() - pd.Timestamp(start)).dt.days.to_numpy(np.int64)


def labels(impressions: pd.DataFrame, catalog: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """One row per impression: ids, where it was shown, the logged propensities and the labels.
    `label_complete` is False when the 7-day label window runs past `end`."""
    imp = impressions
    wait = imp.responded_at - imp.shown_at
    adopted = (imp.outcome == "adopted") & (wait <= pd.Timedelta(days=LABEL_WINDOW_DAYS))
    items = catalog.set_index("item_id").loc[imp.item_id.to_numpy()]
    return pd.DataFrame({
        "impression_id": imp.impression_id.to_numpy(),
        "slate_id": imp.slate_id.to_numpy(),
        "advertiser_id": imp.advertiser_id.to_numpy(),
        "campaign_id": imp.campaign_id.to_numpy(),
        "item_id": imp.item_id.to_numpy(),
        "item_entity_id": items.entity_id.to_numpy(),
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


def candidate_columns(impressions: pd.DataFrame, catalog: pd.DataFrame, history: pd.DataFrame,
                      signals: pd.DataFrame, trending: np.ndarray) -> pd.DataFrame:
    """The ranker's candidate columns of each impression as of the moment it was shown, from
    the advertisers' guidance `history` (their impressions and responses, earlier ones
    included), their `signals` as of that day (row-aligned) and the market's `trending` keys."""
    imp = impressions
    items = catalog.set_index("item_id").loc[imp.item_id.to_numpy()]
    dis = history[(history.outcome == "dismissed") & history.responded_at.notna()]
    cols = candidate_features(
        advertiser_id=imp.advertiser_id.to_numpy(), advertiser_vertical=signals["vertical"].to_numpy(),
        campaign_id=imp.campaign_id.to_numpy(), item_id=imp.item_id.to_numpy(),
        action_type=imp.action_type.to_numpy(), category=items.category.to_numpy(),
        surface=imp.surface.to_numpy(), at_ms=epoch_ms(imp.shown_at),
        items={"param_pct": items.param_pct.to_numpy(), "entity_kind": items.entity_kind.to_numpy(),
               "entity_vertical": items.entity_vertical.to_numpy()},
        signals=signals,
        shown={"campaign_id": history.campaign_id.to_numpy(), "item_id": history.item_id.to_numpy(),
               "at_ms": epoch_ms(history.shown_at)},
        dismissed={"advertiser_id": dis.advertiser_id.to_numpy(),
                   "action_type": dis.action_type.to_numpy(), "at_ms": epoch_ms(dis.responded_at)},
        trending=trending)
    return pd.DataFrame(cols, index=imp.index)
