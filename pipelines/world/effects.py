"""What adopting a guidance item does to a campaign: pure state transitions.

Each rule changes the levers of the delivery model (budget, demand, CTR, CVR, price, bidding,
tracking, serving); whether that helps is then decided by `performance.delivery`, so "a budget
raise lifts conversions only where a campaign is budget-limited" is a consequence, not a special
case. Numbers are documented in docs/world.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.domain.actions import ACTION_TYPES
from pipelines.world.state import CampaignState

ENTITY_UPLIFT = {"keyword_add": 0.05, "interest_add": 0.05, "product_promote": 0.06}
ENTITY_SATURATION = {"keyword_add": 6.0, "interest_add": 6.0, "product_promote": 4.0}
ENTITY_COUNTER = {"keyword_add": "kw_added", "interest_add": "interest_added",
                  "product_promote": "products_promoted"}


@dataclass
class AccountFlags:
    """Account-level conditions, one value per campaign row."""

    payment_issue: np.ndarray
    feed_errors: np.ndarray

    def take(self, rows: np.ndarray) -> "AccountFlags":
        return AccountFlags(self.payment_issue[rows].copy(), self.feed_errors[rows].copy())


def apply_actions(cs: CampaignState, acct: AccountFlags, action: np.ndarray, param: np.ndarray,
                  entity_match: np.ndarray, entity_strength: np.ndarray
                  ) -> tuple[CampaignState, AccountFlags]:
    """State after each row's campaign adopts that row's action (row i of `cs` takes action i).

    `param` is the percent of a budget or bid change; `entity_match` says whether a keyword or
    interest belongs to the campaign's vertical; `entity_strength` is its current trend ×
    popularity^½ (keywords, interests) or the product's sell rate (products).
    """
    new = cs.take(np.arange(len(cs)))
    acct = acct.take(np.arange(len(cs)))
    p = param / 100.0
    for a in np.unique(action):
        m = action == a
        name = ACTION_TYPES[a].name
        if name in ("budget_raise", "budget_seasonal_boost"):
            new.budget[m] *= 1 + p[m]
        elif name == "budget_lower":
            new.budget[m] *= 1 - p[m]
        elif name == "bid_switch_auto":
            new.auto[m] = True
        elif name == "bid_target_cpa":
            new.auto[m] = True
            new.cvr_mult[m] *= np.where(new.conv30[m] >= 30, 1.05, 0.95)
        elif name == "bid_target_roas":
            new.auto[m] = True
            new.cvr_mult[m] *= np.where((new.conv30[m] >= 50) & (new.tracking[m] > 0), 1.08, 0.90)
        elif name == "bid_raise_manual":
            new.demand_mult[m] *= 1 + 0.8 * p[m]
            new.price_mult[m] *= 1 + p[m]
        elif name == "creative_refresh":
            new.creative_age[m] = 0
        elif name == "creative_add_variants":
            new.creative_count[m] += 2
            new.ctr_mult[m] *= 1.03
        elif name in ("creative_add_video", "creative_add_extensions"):
            new.ctr_mult[m] *= 1.10
        elif name == "creative_responsive_ads":
            new.ctr_mult[m] *= 1.06
            new.creative_count[m] += 1
        elif name == "targeting_broaden":
            wider = np.minimum(1.0, new.breadth[m] + 0.25)
            new.cvr_mult[m] *= 1 - 0.15 * (wider - new.breadth[m])
            new.breadth[m] = wider
        elif name == "targeting_lookalike":
            new.demand_mult[m] *= 1.15
            new.cvr_mult[m] *= 0.97
        elif name == "targeting_expand_geo":
            new.demand_mult[m] *= 1.20
            new.cvr_mult[m] *= 0.93
        elif name == "targeting_remarketing":
            new.cvr_mult[m] *= 1.10
            new.demand_mult[m] *= 1.03
        elif name in ENTITY_UPLIFT:
            counter = getattr(new, ENTITY_COUNTER[name])
            gain = ENTITY_UPLIFT[name] * entity_strength[m] / (
                1 + counter[m] / ENTITY_SATURATION[name])
            # An off-vertical keyword or interest buys traffic that does not convert.
            new.demand_mult[m] += np.where(entity_match[m], gain, 0.01)
            new.cvr_mult[m] *= np.where(entity_match[m], 1.0, 0.97)
            counter[m] += 1
        elif name == "keyword_broad_match":
            new.demand_mult[m] *= 1.25
            new.cvr_mult[m] *= np.where(new.auto[m], 0.97, 0.85)
        elif name == "keyword_add_negatives":
            new.cvr_mult[m] *= 1.08
            new.demand_mult[m] *= 0.97
        elif name == "keyword_remove_low_quality":
            new.cvr_mult[m] *= 1.04
            new.price_mult[m] *= 0.97
        elif name == "interest_advantage_audience":
            new.demand_mult[m] *= 1.20
            new.cvr_mult[m] *= np.where(new.auto[m], 1.0, 0.90)
        elif name == "product_feed_fix":
            acct.feed_errors[m] = False
        elif name == "product_shopping_campaign":
            new.demand_mult[m] *= 1.15
        elif name == "tracking_install_pixel":
            new.tracking[m] = np.maximum(new.tracking[m], 1)
        elif name == "tracking_enable_capi":
            new.tracking[m] = 2
        elif name == "tracking_enhanced_conversions":
            new.cvr_mult[m] *= np.where(new.auto[m], 1.04, 1.0)
        elif name == "hygiene_fix_payment":
            acct.payment_issue[m] = False
        elif name == "hygiene_fix_disapproved":
            new.disapproved[m] = 0.0
        elif name == "hygiene_pause_underperforming":
            new.active[m] = False
        elif name == "hygiene_resume_paused":
            new.active[m] = True
        else:  # pragma: no cover - every action type above has a rule
            raise ValueError(f"no effect rule for action type {name!r}")
        new.done[m, a] = True
    return new, acct
