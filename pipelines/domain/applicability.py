"""When an action applies to a campaign: the facts it depends on and the rule itself.

These are the platform's own rules of what can be recommended where (a budget action for an
active campaign, a tracking action where none is installed, products only for advertisers with a
catalog), read from observable facts. The service generates its candidates with them, and the
simulator's rule engine offers the same ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np

from pipelines.domain.actions import ACTION_CHANNEL_OK, ACTION_TYPES, ONE_SHOT


class CampaignLike(Protocol):
    """Per campaign row, the facts `applicable` reads about the campaign."""

    channel: np.ndarray  # index into CHANNELS
    active: np.ndarray  # bool
    auto: np.ndarray  # bool: automatic bidding
    tracking: np.ndarray  # index into TRACKING_LEVELS: 0 none, 1 pixel, 2 pixel + server
    creative_count: np.ndarray
    breadth: np.ndarray  # targeting breadth, 0-1
    disapproved: np.ndarray  # share of ads disapproved, 0-1
    done: np.ndarray  # [row, action type]: one-shot actions already applied


class AccountLike(Protocol):
    """Per campaign row, the facts `applicable` reads about the campaign's account."""

    payment_issue: np.ndarray
    feed_errors: np.ndarray


@dataclass
class CampaignFacts:
    """Both kinds of facts of each campaign row, as the platform observes them; `objective`
    (index into OBJECTIVES) decides where product items go."""

    channel: np.ndarray
    objective: np.ndarray
    active: np.ndarray
    auto: np.ndarray
    tracking: np.ndarray
    creative_count: np.ndarray
    breadth: np.ndarray
    disapproved: np.ndarray
    done: np.ndarray
    payment_issue: np.ndarray
    feed_errors: np.ndarray

    def take(self, rows) -> "CampaignFacts":
        return CampaignFacts(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def __len__(self) -> int:
        return len(self.channel)


def in_season(day: dt.date) -> bool:
    """Whether `day` lies in the holiday window in which seasonal budget boosts apply."""
    return dt.date(day.year, 10, 1) <= day <= dt.date(day.year, 12, 20)


def applicable(campaign: CampaignLike, account: AccountLike, has_catalog: np.ndarray,
               action: np.ndarray, in_season: bool) -> np.ndarray:
    """Whether each row's action (index into ACTION_TYPES) can be recommended for that row's
    campaign."""
    ok = ACTION_CHANNEL_OK[action, campaign.channel].copy()
    ok &= ~(ONE_SHOT[action] & campaign.done[np.arange(len(action)), action])
    for a in np.unique(action):
        m = action == a
        name = ACTION_TYPES[a].name
        if name == "hygiene_resume_paused":
            cond = ~campaign.active[m]
        else:
            cond = campaign.active[m].copy()
        if name == "budget_seasonal_boost":
            cond &= in_season
        elif name in ("bid_switch_auto", "bid_raise_manual"):
            cond &= ~campaign.auto[m]
        elif name in ("bid_target_cpa", "bid_target_roas"):
            cond &= campaign.auto[m] & (campaign.tracking[m] > 0)
        elif name == "creative_add_variants":
            cond &= campaign.creative_count[m] < 6
        elif name == "targeting_broaden":
            cond &= campaign.breadth[m] < 0.9
        elif name.startswith("product_"):
            cond &= has_catalog[m]
            if name == "product_feed_fix":
                cond &= account.feed_errors[m]
        elif name == "tracking_install_pixel":
            cond &= campaign.tracking[m] == 0
        elif name == "tracking_enable_capi":
            cond &= campaign.tracking[m] == 1
        elif name == "tracking_enhanced_conversions":
            cond &= campaign.tracking[m] > 0
        elif name == "hygiene_fix_payment":
            cond = account.payment_issue[m].copy()
        elif name == "hygiene_fix_disapproved":
            cond &= campaign.disapproved[m] > 0
        ok[m] &= cond
    return ok
