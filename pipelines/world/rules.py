"""Today's rule engine: how its hand-written rules rank the guidance that applies to a campaign
(what applies is the platform's own rule, pipelines.domain.applicability).

This is the logging policy's brain and the baseline a learned ranker must beat. It reads only
what the platform observes (the same facts the raw tables hold), never the world's hidden truth.
"""

from __future__ import annotations

import numpy as np

from pipelines.domain.actions import ACTION_TYPES
from pipelines.world.calibration import ACTION_EFFORT
from pipelines.world.performance import PIXEL_CAPTURE
from pipelines.world.state import CampaignState


def reported_conv30(cs: CampaignState) -> np.ndarray:
    """Conversions the platform saw in the last 30 days (none without tracking)."""
    capture = np.where(cs.tracking == 2, 1.0, np.where(cs.tracking == 1, PIXEL_CAPTURE, 0.0))
    return cs.conv30 * capture


QUICK_WIN_WEIGHT = 1.5
_PRIOR = {
    "budget_seasonal_boost": 0.8, "bid_switch_auto": 0.8, "bid_raise_manual": 0.2,
    "creative_add_video": 0.1, "creative_responsive_ads": 0.8, "creative_add_extensions": 0.9,
    "targeting_lookalike": 0.3, "targeting_expand_geo": 0.1, "targeting_remarketing": 0.6,
    "keyword_add": 0.7, "keyword_broad_match": 0.3, "keyword_add_negatives": 0.6,
    "keyword_remove_low_quality": 0.1, "interest_add": 0.6, "interest_advantage_audience": 0.3,
    "product_promote": 0.5, "product_feed_fix": 2.2, "product_shopping_campaign": 0.7,
    "tracking_install_pixel": 1.0, "tracking_enable_capi": 0.3,
    "tracking_enhanced_conversions": 0.5, "hygiene_fix_payment": 3.0,
    "hygiene_fix_disapproved": 2.5, "hygiene_resume_paused": 0.5,
}


def rule_scores(cs: CampaignState, action: np.ndarray, param: np.ndarray) -> np.ndarray:
    """Priority of each (campaign, action) row under the hand-written rules (higher first)."""
    score = np.zeros(len(action))
    conv30 = reported_conv30(cs)
    roas7 = cs.value7 / np.maximum(cs.spend7, 1.0)
    tracked = cs.tracking > 0
    for a in np.unique(action):
        m = action == a
        name = ACTION_TYPES[a].name
        if name == "budget_raise":
            s = np.where(cs.limited7[m] >= 3, 2.0, -0.5) - np.abs(param[m] - 20) / 20
        elif name == "budget_lower":
            s = np.where(tracked[m] & (roas7[m] < 1.0) & (cs.spend7[m] > 0), 1.0, -1.5)
        elif name == "bid_target_cpa":
            s = np.where(conv30[m] >= 15, 0.5, -0.5)
        elif name == "bid_target_roas":
            s = np.where(conv30[m] >= 50, 0.6, -0.8)
        elif name == "creative_refresh":
            s = np.where(cs.creative_age[m] > 21, 1.8, -0.8)
        elif name == "creative_add_variants":
            s = np.where(cs.creative_count[m] < 3, 0.4, -0.5)
        elif name == "targeting_broaden":
            s = np.where(cs.breadth[m] < 0.4, 0.8, -0.3)
        elif name == "hygiene_pause_underperforming":
            s = np.where(tracked[m] & (roas7[m] < 0.5) & (cs.spend7[m] > 0), 0.8, -2.0)
        else:
            s = np.full(m.sum(), _PRIOR[name])
        score[m] = s
    # Quick wins first: the rule engine was tuned on past apply rates, which fall with effort.
    return score - QUICK_WIN_WEIGHT * ACTION_EFFORT[action]
