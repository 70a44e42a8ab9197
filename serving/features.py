"""The ranker's candidate columns for one request: the shared candidate features
(pipelines.candidates.features, which the offline examples use too) fed from the serving data and
the advertiser's history."""

from __future__ import annotations

import numpy as np

from pipelines.candidates.features import candidate_features
from pipelines.policy.eligibility import History
from serving.data import ServingData


def request_features(data: ServingData, adv: dict, history: History, campaign: np.ndarray,
                     items: np.ndarray, cat_row: np.ndarray, surface: str, now_ms: int
                     ) -> dict[str, np.ndarray]:
    """Every candidate column of the ranker for the (campaign, item) rows of one advertiser
    (`adv`: its online signals) on `surface` at `now_ms`; `cat_row`: the items' catalog rows."""
    dis = history.feedback_type == "dismissed"
    return candidate_features(
        advertiser_id=adv["advertiser_id"], advertiser_vertical=adv["vertical"],
        campaign_id=campaign, item_id=items,
        action_type=data.catalog["action_type"][cat_row].astype(str),
        category=data.catalog["category"][cat_row].astype(str),
        surface=surface, at_ms=now_ms,
        items={c: data.catalog[c][cat_row] for c in ("param_pct", "entity_kind",
                                                     "entity_vertical")},
        signals=adv,
        shown={"campaign_id": history.impression_campaign_id,
               "item_id": history.impression_item_id,
               "at_ms": history.impression_served_at_ms},
        dismissed={"advertiser_id": np.full(dis.sum(), adv["advertiser_id"]),
                   "action_type": history.feedback_action_type[dis],
                   "at_ms": history.feedback_occurred_at_ms[dis]},
        trending=data.trending)
