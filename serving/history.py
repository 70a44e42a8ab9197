"""One advertiser's guidance history at serving time: the platform's raw logs (up to the
snapshot's day) and the service's own feedback log since, as one policy History."""

from __future__ import annotations

import numpy as np

from pipelines.policy.eligibility import DAY_MS, History
from serving.data import HISTORY_DAYS, ServingData


def advertiser_history(data: ServingData, log, adv_row: int, now_ms: int
                       ) -> tuple[History, float]:
    """(the advertiser's History at `now_ms`, the expected impact it adopted over 90 days)."""
    live_imp, live_ev = log.history(int(data.advertiser_ids[adv_row]), now_ms - HISTORY_DAYS * DAY_MS)
    raw = data.history(adv_row)
    return merged(raw, live_imp, live_ev), captured(raw, live_imp, live_ev, now_ms)


def merged(raw: dict, live_impressions: list, live_events: list) -> History:
    """Raw world logs and the service's own log as one policy History."""
    outcome = raw["outcome"]
    responded = outcome != "ignored"
    fb_type = np.where(outcome == "adopted", "applied", outcome)[responded]
    return History(
        impression_campaign_id=np.r_[raw["campaign_id"], [i.campaign_id for i in live_impressions]],
        impression_item_id=np.r_[raw["item_id"], [i.item_id for i in live_impressions]],
        impression_surface=np.r_[raw["surface"], [i.surface for i in live_impressions]],
        impression_served_at_ms=np.r_[raw["served_at_ms"],
                                      [i.served_at_ms for i in live_impressions]],
        feedback_campaign_id=np.r_[raw["campaign_id"][responded],
                                   [e.campaign_id for e in live_events]],
        feedback_item_id=np.r_[raw["item_id"][responded], [e.item_id for e in live_events]],
        feedback_action_type=np.r_[raw["action_type"][responded],
                                   [e.action_type for e in live_events]],
        feedback_type=np.r_[fb_type, [e.type for e in live_events]],
        feedback_dismiss_reason=np.r_[raw["dismiss_reason"][responded],
                                      [e.dismiss_reason or "" for e in live_events]],
        feedback_snooze_days=np.r_[np.zeros(responded.sum(), np.int64),
                                   [e.snooze_days or 0 for e in live_events]],
        feedback_occurred_at_ms=np.r_[raw["responded_at_ms"][responded],
                                      [e.occurred_at_ms for e in live_events]],
    )


def captured(raw: dict, live_impressions: list, live_events: list, now_ms: int) -> float:
    """Impact the advertiser adopted over 90 days: measured where the world measured it, the
    estimate at serving time for adoptions logged by this service."""
    recent = (raw["outcome"] == "adopted") & (raw["responded_at_ms"] > now_ms - 90 * DAY_MS)
    measured = float(np.nansum(np.maximum(raw["impact"][recent], 0.0)))
    estimate = {i.recommendation_id: i.impact_expected for i in live_impressions}
    return measured + sum(max(estimate.get(e.recommendation_id, 0.0), 0.0)
                          for e in live_events if e.type == "applied")
