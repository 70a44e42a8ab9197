"""The world's mutable state for one block of advertisers, as flat numpy arrays.

Campaign arrays are indexed by the block-local campaign row, advertiser arrays by the block-local
advertiser row; `CampaignState.adv` links the two. Fields marked hidden are the world's truth:
they never reach the raw tables, only `<root>/truth/`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass
class CampaignState:
    campaign_id: np.ndarray
    advertiser_id: np.ndarray
    adv: np.ndarray
    vertical: np.ndarray
    country: np.ndarray
    channel: np.ndarray
    objective: np.ndarray
    created_day: np.ndarray  # world day the campaign was created (negative: before the world)
    budget: np.ndarray  # $ per day
    auto: np.ndarray  # automatic bidding
    breadth: np.ndarray  # targeting breadth, 0 (narrow) to 1 (broad)
    creative_count: np.ndarray
    creative_age: np.ndarray  # days since the creatives were last refreshed
    tracking: np.ndarray  # 0 none, 1 browser pixel, 2 pixel + server-side events
    active: np.ndarray
    disapproved: np.ndarray  # share of the campaign's ads disapproved, 0-1
    done: np.ndarray  # [campaign, action type] one-shot actions already taken
    # hidden
    demand_base: np.ndarray  # $ per day the campaign could spend at breadth 1 and index 1
    spend_ref: np.ndarray  # $ per day at which the auction price is the market's base price
    ctr_q: np.ndarray
    cvr_q: np.ndarray
    demand_mult: np.ndarray
    ctr_mult: np.ndarray
    cvr_mult: np.ndarray
    price_mult: np.ndarray
    kw_added: np.ndarray
    interest_added: np.ndarray
    products_promoted: np.ndarray
    # rolling observations (what the platform has seen)
    conv30: np.ndarray  # true conversions over the last 30 days (drives bidding's learning)
    limited7: np.ndarray  # budget-limited days among the last 7
    spend7: np.ndarray
    value7: np.ndarray  # reported conversion value over the last 7 days
    conv7_reported: np.ndarray
    last_change_day: np.ndarray  # [campaign, action type] last day the advertiser did it alone

    def take(self, rows: np.ndarray) -> "CampaignState":
        """A copy holding only `rows` (in that order)."""
        return CampaignState(**{f.name: getattr(self, f.name)[rows].copy()
                                for f in dataclasses.fields(self)})

    def __len__(self) -> int:
        return len(self.campaign_id)


@dataclass
class AdvertiserState:
    advertiser_id: np.ndarray
    vertical: np.ndarray
    country: np.ndarray
    tier: np.ndarray
    managed: np.ndarray
    tenure_days: np.ndarray  # at the world's start; ≤ 0: the account opens on day -tenure_days
    notifications_opt_in: np.ndarray
    has_catalog: np.ndarray
    # hidden traits
    taste: np.ndarray  # [advertiser, category] appetite for each category of guidance
    trust: np.ndarray  # trust in platform guidance (log-odds shift)
    responsiveness: np.ndarray  # probability of an Ads Manager visit on a weekday
    value_per_conversion: np.ndarray  # $ a conversion is truly worth to them
    cost_aversion: np.ndarray  # how much a higher spend deters them
    # hidden state
    patience: np.ndarray  # 1 = fresh; falls with every dismissal, recovers slowly
    payment_issue: np.ndarray
    feed_errors: np.ndarray
    churned: np.ndarray

    def alive(self, day: int) -> np.ndarray:
        """Accounts open on world day `day`: signed up by then and not churned."""
        return ~self.churned & (self.tenure_days + day >= 0)

    def __len__(self) -> int:
        return len(self.advertiser_id)


@dataclass(frozen=True)
class Products:
    """Products of the catalog advertisers in a block."""

    product_id: np.ndarray
    adv: np.ndarray  # block-local advertiser row
    name: list[str]
    price: np.ndarray  # $
    sell_rate: np.ndarray  # hidden: how well the product sells when promoted (1 = typical)


def put(cs: CampaignState, rows: np.ndarray, sub: CampaignState) -> None:
    """Write the rows of `sub` back into `cs` at `rows` (rows must be unique)."""
    for f in dataclasses.fields(cs):
        getattr(cs, f.name)[rows] = getattr(sub, f.name)
