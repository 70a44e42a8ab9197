"""The signal sentences that justify an item: per action category, the signals a person would
look at before taking it. Sentences come from the signal registry, so the reason an advertiser
reads is the same fact the model saw."""

from __future__ import annotations

import math

import pipelines.context.signals  # noqa: F401  (registers every signal)
from pipelines.context.registry import SIGNALS_BY_NAME

REASON_SIGNALS: dict[str, tuple[str, ...]] = {
    "budget": ("budget_limited_days_7d", "budget_exhausted_hour_7d", "budget_utilisation_7d",
               "market_demand_trend_14d"),
    "bidding": ("bid_automatic", "conversions_30d", "cpa_28d", "cpc_vs_vertical_7d"),
    "creative": ("creative_age_days", "creative_fatigue", "ctr_trend_14d", "creative_count"),
    "targeting": ("targeting_breadth", "ctr_vs_vertical_7d", "cvr_vs_vertical_28d"),
    "keywords": ("market_demand_trend_14d", "ctr_vs_vertical_7d", "conversions_28d"),
    "interests": ("market_demand_trend_14d", "targeting_breadth", "ctr_vs_vertical_7d"),
    "products": ("roas_28d", "has_product_catalog", "feed_errors_7d"),
    "tracking": ("conversion_tracking", "conversions_30d", "cvr_28d"),
    "account_hygiene": ("payment_errors_7d", "disapproved_share", "days_since_live",
                        "disapproval_errors_7d"),
}

# Action types whose category's signals would not say why (an account-hygiene action is about
# one specific problem).
REASON_SIGNALS_BY_ACTION: dict[str, tuple[str, ...]] = {
    "hygiene_resume_paused": ("days_since_live", "conversions_28d", "live_campaigns"),
    "hygiene_pause_underperforming": ("cpa_28d", "cvr_vs_vertical_28d", "roas_28d"),
    "hygiene_fix_payment": ("payment_errors_7d",),
    "hygiene_fix_disapproved": ("disapproved_share", "disapproval_errors_7d"),
    "product_feed_fix": ("feed_errors_7d", "has_product_catalog"),
    "budget_lower": ("budget_utilisation_7d", "cpa_28d", "roas_28d"),
}


def _known(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def reasons(action_type: str, category: str, values: dict, limit: int = 3
            ) -> list[tuple[str, str]]:
    """(signal, sentence) pairs for an item, from the advertiser's and campaign's signal
    `values` (name → value); unknown signals are left out."""
    out = []
    names = REASON_SIGNALS_BY_ACTION.get(action_type) or REASON_SIGNALS.get(category, ())
    for name in names:
        v = values.get(name)
        if _known(v):
            out.append((name, SIGNALS_BY_NAME[name].explain(v)))
        if len(out) == limit:
            break
    return out
