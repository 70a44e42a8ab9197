"""One served recommendation explained: what the log kept of it (the probabilities, impact
interval and propensity it was served with), the catalog's words for it, and the reasons that
argue for it, recomputed from the signals the service holds for its campaign."""

from __future__ import annotations

import numpy as np

from pipelines.candidates.reasons import reasons
from pipelines.feedback.records import Impression
from serving.data import ServingData
from serving.engine import item_parameters


def explanation(data: ServingData, imp: Impression, model_snapshot: str) -> dict:
    """The impression `imp` as plain values (impact as [low, expected, high] in conversions per
    14 days, `served_at_ms` in UTC epoch ms), with the catalog's title, description, category
    and parameters of its item and its reasons from `data`'s signals of the advertiser and the
    campaign (the same values a slate's reasons come from, so an item served from this snapshot
    gets the reasons it was served with). `model_snapshot` is the snapshot the logged model
    version serves. A campaign no longer in the snapshot gives the advertiser's signals only."""
    adv_row = data.advertiser_row(imp.advertiser_id)
    camp_rows = data.campaign_rows(adv_row)
    camp_rows = camp_rows[data.campaign_ids[camp_rows] == imp.campaign_id]
    values = dict(data.advertiser_signals(adv_row))
    if len(camp_rows):
        values.update(data.campaign_signals(camp_rows[0]))
    row = int(data.catalog.rows(np.array([imp.item_id], np.int64))[0])
    category = str(data.catalog["category"][row])
    return {
        "recommendation_id": imp.recommendation_id, "slate_id": imp.slate_id,
        "advertiser_id": imp.advertiser_id, "action_type": imp.action_type,
        "category": category, "campaign_id": imp.campaign_id, "item_id": imp.item_id,
        "title": str(data.catalog["title"][row]),
        "description": str(data.catalog["description"][row] or ""),
        "parameters": item_parameters(data.catalog, row),
        "surface": imp.surface, "rank": imp.position, "served_at_ms": imp.served_at_ms,
        "adoption_probability": imp.p_adopt, "dismissal_probability": imp.p_dismiss,
        "impact": [imp.impact_low, imp.impact_expected, imp.impact_high],
        "propensity": imp.propensity, "policy": imp.policy, "degraded": imp.degraded,
        "model_version": imp.model_version, "model_snapshot": model_snapshot,
        "reasons": reasons(imp.action_type, category, values),
        "as_of": data.as_of.isoformat(), "snapshot": data.snapshot,
    }
