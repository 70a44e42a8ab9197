"""What the world is calibrated to: the mix of advertisers and campaigns, the public base rates
of delivery, and how much work adopting each kind of guidance is (a hidden cost no model sees).
The vocabularies themselves are the product's (pipelines/domain/).

Figures cite ../shared/WORLD-FACTS.md; docs/world.md explains each choice.
"""

from __future__ import annotations

import numpy as np

from pipelines.domain.actions import ACTION_TYPES
from pipelines.domain.vocabulary import CHANNELS, VERTICALS

# ---------------------------------------------------------------- advertisers
VERTICAL_SHARE = np.array([0.14, 0.06, 0.05, 0.07, 0.07, 0.08, 0.07, 0.07, 0.11, 0.08, 0.09, 0.10])
# Verticals that sell a product catalog (and so get product guidance).
CATALOG_VERTICALS = frozenset({"apparel", "animals_pets", "home_improvement", "fitness"})

COUNTRY_SHARE = np.array([0.40, 0.10, 0.08, 0.06, 0.06, 0.05, 0.10, 0.15])
# Auction price level against the US (CPM and CPC scale with it).
COUNTRY_PRICE = np.array([1.00, 0.90, 0.85, 0.80, 0.85, 0.90, 0.35, 0.20])

TIER_SHARE = np.array([0.90, 0.08, 0.02])
TIER_MANAGED = np.array([0.03, 0.50, 0.95])  # share with a sales rep
TIER_CAMPAIGNS = ((1, 3), (3, 6), (6, 12))  # campaigns per account, inclusive range
TIER_BUDGET_MEDIAN = np.array([30.0, 250.0, 900.0])  # dollars per day per campaign

# ---------------------------------------------------------------- campaigns
CHANNEL_SHARE = np.array([0.45, 0.40, 0.15])
OBJECTIVE_SHARE = np.array([0.40, 0.35, 0.15, 0.10])

# Per vertical, US level: search CTR, search CPC ($), search CVR, social CTR, social CVR.
# Search columns follow the LocaliQ/WordStream 2024 edition (all-industry 6.4 % / $4.66 / 7 %);
# social CTR spans Meta's 0.5-1.6 % by industry and CVR its 4-14 %.
_BASE = {
    "apparel":            (0.060, 3.20, 0.033, 0.011, 0.045),
    "animals_pets":       (0.068, 3.60, 0.120, 0.012, 0.090),
    "arts_entertainment": (0.130, 1.72, 0.042, 0.016, 0.070),
    "automotive":         (0.090, 2.40, 0.065, 0.009, 0.080),
    "dental_health":      (0.055, 6.82, 0.090, 0.008, 0.100),
    "education":          (0.060, 4.80, 0.070, 0.008, 0.120),
    "finance":            (0.050, 5.80, 0.060, 0.007, 0.090),
    "fitness":            (0.065, 3.00, 0.080, 0.013, 0.140),
    "home_improvement":   (0.055, 6.96, 0.080, 0.009, 0.100),
    "legal":              (0.050, 8.94, 0.056, 0.016, 0.100),
    "real_estate":        (0.085, 2.10, 0.030, 0.010, 0.100),
    "travel":             (0.080, 1.92, 0.045, 0.010, 0.040),
}
SOCIAL_CPM = 9.5  # $ at price index 1 (Meta ≈ $7.9-12)
DISPLAY_CTR, DISPLAY_CPC, DISPLAY_CVR = 0.0046, 0.63, 0.0077
# Advertisers earn on average about 2.5 × their search cost per conversion (a typical ROAS);
# the hidden value per conversion spreads around it.
VALUE_OVER_SEARCH_CPA = 2.5


def base_rates() -> dict[str, np.ndarray]:
    """Arrays [vertical, channel] of base CTR, CPM ($ per 1000 impressions) and CVR (US)."""
    n = len(VERTICALS)
    ctr, cpm, cvr = (np.zeros((n, len(CHANNELS))) for _ in range(3))
    for v, name in enumerate(VERTICALS):
        s_ctr, s_cpc, s_cvr, so_ctr, so_cvr = _BASE[name]
        # Social and display base CTRs sit ~30 % above the targets: fatigue takes that back.
        ctr[v] = (s_ctr, 1.3 * so_ctr, 1.3 * DISPLAY_CTR * so_ctr / 0.011)
        cpm[v] = (s_ctr * s_cpc * 1000, SOCIAL_CPM, DISPLAY_CTR * DISPLAY_CPC * 1000)
        cvr[v] = (s_cvr, so_cvr, DISPLAY_CVR * s_cvr / 0.065)
    return {"ctr": ctr, "cpm": cpm, "cvr": cvr}


def search_cpa() -> np.ndarray:
    """US search cost per conversion by vertical ($): CPC / CVR."""
    return np.array([_BASE[v][1] / _BASE[v][2] for v in VERTICALS])


# ---------------------------------------------------------------- guidance
# Slate sizes of today's rule engine, per surface.
SLATE_SIZE = {"ads_manager": 3, "business_assistant": 3, "notification": 1, "sales_workflow": 5}
# How much work adopting each action type is, 0 (one click) to 1 (a project): it deters
# advertisers, and the rule engine's authors knew it from past apply rates.
EFFORT = {
    "budget_raise": 0.1, "budget_lower": 0.1, "budget_seasonal_boost": 0.1, "bid_switch_auto": 0.2,
    "bid_target_cpa": 0.3, "bid_target_roas": 0.35, "bid_raise_manual": 0.2,
    "creative_refresh": 0.7, "creative_add_variants": 0.6, "creative_add_video": 0.9,
    "creative_responsive_ads": 0.4, "creative_add_extensions": 0.3, "targeting_broaden": 0.2,
    "targeting_lookalike": 0.3, "targeting_expand_geo": 0.2, "targeting_remarketing": 0.4,
    "keyword_add": 0.15, "keyword_broad_match": 0.2, "keyword_add_negatives": 0.3,
    "keyword_remove_low_quality": 0.3, "interest_add": 0.15, "interest_advantage_audience": 0.2,
    "product_promote": 0.3, "product_feed_fix": 0.5, "product_shopping_campaign": 0.8,
    "tracking_install_pixel": 0.8, "tracking_enable_capi": 0.9,
    "tracking_enhanced_conversions": 0.5, "hygiene_fix_payment": 0.2,
    "hygiene_fix_disapproved": 0.4, "hygiene_pause_underperforming": 0.1,
    "hygiene_resume_paused": 0.1,
}
ACTION_EFFORT = np.array([EFFORT[a.name] for a in ACTION_TYPES])
