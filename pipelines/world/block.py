"""One block of advertisers as the day loop carries it: their state, their campaigns' and
products' state (pipelines.world.state), and where each advertiser's rows lie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipelines.world import population
from pipelines.world.effects import AccountFlags
from pipelines.world.state import AdvertiserState, CampaignState, Products

if TYPE_CHECKING:
    from pipelines.world.simulate import WorldSpec


@dataclass
class Block:
    """A block's mutable state. Campaigns and products are sorted by advertiser row, so an
    advertiser's campaigns are rows camp_start[a] : camp_start[a] + camp_count[a] (likewise
    products)."""

    adv: AdvertiserState
    cs: CampaignState
    products: Products
    camp_start: np.ndarray
    camp_count: np.ndarray
    prod_start: np.ndarray
    prod_count: np.ndarray

    @classmethod
    def populate(cls, spec: WorldSpec, advertiser_ids: np.ndarray) -> "Block":
        """The block of `advertiser_ids` as the world starts, drawn from the seed (accounts that
        open later are there already, their campaigns waiting)."""
        adv = population.advertisers(spec.seed, advertiser_ids, spec.signup_days or spec.days,
                                     spec.signup_share, spec.shocks)
        cs = population.campaigns(spec.seed, adv)
        products = population.products(spec.seed, adv)
        rows = np.arange(len(adv))
        return cls(adv, cs, products,
                   np.searchsorted(cs.adv, rows), np.bincount(cs.adv, minlength=len(adv)),
                   np.searchsorted(products.adv, rows),
                   np.bincount(products.adv, minlength=len(adv)))

    def account_flags(self) -> AccountFlags:
        """Each campaign row's account conditions now, as a copy: a payment issue, and feed
        errors where the advertiser has a catalog."""
        a = self.cs.adv
        return AccountFlags(self.adv.payment_issue[a].copy(),
                            self.adv.feed_errors[a] & self.adv.has_catalog[a])
