"""Initial advertisers, campaigns and products of a block, drawn from the seed and their ids."""

from __future__ import annotations

import numpy as np

from pipelines.domain.actions import ACTION_TYPES
from pipelines.domain.catalog import PRODUCT_ID_BASE
from pipelines.domain.vocabulary import CATEGORIES, VERTICALS
from pipelines.world import random as wr
from pipelines.world import shocks as world_shocks
from pipelines.world.calibration import (
    CATALOG_VERTICALS, CHANNEL_SHARE, COUNTRY_PRICE, COUNTRY_SHARE, OBJECTIVE_SHARE,
    TIER_BUDGET_MEDIAN, TIER_CAMPAIGNS, TIER_MANAGED, TIER_SHARE, VALUE_OVER_SEARCH_CPA,
    VERTICAL_SHARE, search_cpa
)
from pipelines.world.entities import MAX_PRODUCTS, product_names
from pipelines.world.state import AdvertiserState, CampaignState, Products

MAX_CAMPAIGNS = 100  # campaign_id = advertiser_id * MAX_CAMPAIGNS + k
DORMANT_SHARE = 0.12  # accounts with every campaign paused (WORLD-FACTS: 10-20 % idle a month)


def shared_tastes(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Taste for each category shared by a vertical [vertical, category] and a tier [tier,
    category]: the part of an advertiser's taste a model can learn from observable data."""
    v, c = np.meshgrid(np.arange(len(VERTICALS)), np.arange(len(CATEGORIES)), indexing="ij")
    t, c2 = np.meshgrid(np.arange(3), np.arange(len(CATEGORIES)), indexing="ij")
    return 0.6 * wr.normal(seed, "taste.vertical", v, c), 0.4 * wr.normal(seed, "taste.tier", t, c2)


def advertisers(seed: int, ids: np.ndarray, days: int = 0, signup_share: float = 0.0,
                shocks: tuple[world_shocks.Shock, ...] = ()) -> AdvertiserState:
    """Advertisers with the given global ids. A `signup_share` of them open their account during
    the `days` of the history (on day −tenure: their tenure at its start is ≤ 0), in the mix the
    sign-up shocks (resolved to day indices) give from their day on."""
    u = lambda name, *k: wr.uniform(seed, f"adv.{name}", ids, *k)  # noqa: E731
    n = lambda name, *k: wr.normal(seed, f"adv.{name}", ids, *k)  # noqa: E731
    opens_on = np.where(u("signup") < signup_share, np.floor(u("signup_day") * days), -1
                        ).astype(np.int64)
    mix = lambda dim, base: world_shocks.signup_shares(shocks, dim, base, opens_on)  # noqa: E731
    vertical = wr.choice(u("vertical"), mix("vertical", VERTICAL_SHARE))
    country = wr.choice(u("country"), mix("country", COUNTRY_SHARE))
    tier = wr.choice(u("tier"), mix("tier", TIER_SHARE))
    managed = u("managed") < TIER_MANAGED[tier]
    tenure = (14 + np.array([500.0, 1100.0, 1800.0])[tier] * -np.log(u("tenure"))).astype(np.int64)
    tenure = np.where(opens_on >= 0, -opens_on, tenure)
    vert_taste, tier_taste = shared_tastes(seed)
    cats = np.arange(len(CATEGORIES))[None, :]
    taste = vert_taste[vertical] + tier_taste[tier] + 0.8 * wr.normal(
        seed, "adv.taste", ids[:, None], cats)
    dormant = u("dormant") < DORMANT_SHARE
    base_visit = np.array([0.06, 0.25, 0.45])[tier] * np.exp(0.7 * n("responsive"))
    return AdvertiserState(
        advertiser_id=ids.astype(np.int64),
        vertical=vertical,
        country=country,
        tier=tier,
        managed=managed,
        tenure_days=tenure,
        notifications_opt_in=u("optin") < 0.8,
        has_catalog=np.isin(np.array(VERTICALS)[vertical], list(CATALOG_VERTICALS))
        & (u("catalog") < 0.8),
        taste=taste,
        trust=0.7 * n("trust"),
        responsiveness=np.where(dormant, 0.01, np.clip(base_visit, 0.01, 0.8)),
        value_per_conversion=(VALUE_OVER_SEARCH_CPA * search_cpa()[vertical] * COUNTRY_PRICE[country]
                              * np.exp(0.5 * n("value") - 0.125)),
        cost_aversion=np.array([2.0, 1.0, 0.5])[tier] * np.exp(0.4 * n("cost_aversion")),
        patience=np.ones(len(ids)),
        payment_issue=np.zeros(len(ids), dtype=bool),
        feed_errors=u("feed_errors") < 0.1,
        churned=dormant,
    )


def _starts_active(seed: int, campaign_id: np.ndarray) -> np.ndarray:
    """Whether a campaign is live when its account is (the rest start paused)."""
    return wr.uniform(seed, "cmp.active", campaign_id) >= 0.12


def launched(seed: int, adv: AdvertiserState, cs: CampaignState, day: int) -> np.ndarray:
    """Rows of the campaigns that go live on `day` because their account opens that day."""
    opens = (adv.tenure_days == -day) & ~adv.churned
    return np.flatnonzero(opens[cs.adv] & _starts_active(seed, cs.campaign_id))


def campaigns(seed: int, adv: AdvertiserState) -> CampaignState:
    """Each advertiser's campaigns at the world's start: those of accounts that open later are
    created on their opening day and wait, paused, until then."""
    lo = np.array([r[0] for r in TIER_CAMPAIGNS])[adv.tier]
    hi = np.array([r[1] for r in TIER_CAMPAIGNS])[adv.tier]
    counts = lo + (wr.uniform(seed, "adv.n_campaigns", adv.advertiser_id) * (hi - lo + 1)).astype(int)
    rows = np.repeat(np.arange(len(adv)), counts)
    k = np.concatenate([np.arange(c) for c in counts]) if len(counts) else np.zeros(0, int)
    cid = adv.advertiser_id[rows] * MAX_CAMPAIGNS + k
    u = lambda name: wr.uniform(seed, f"cmp.{name}", cid)  # noqa: E731
    n = lambda name: wr.normal(seed, f"cmp.{name}", cid)  # noqa: E731
    c = len(cid)
    tier = adv.tier[rows]
    budget = np.round(TIER_BUDGET_MEDIAN[tier] * np.exp(0.8 * n("budget")), 0).clip(5)
    breadth = 0.1 + 0.9 * u("breadth") ** 1.3
    ratio = np.exp(-0.35 + 0.65 * n("demand"))  # unconstrained demand / budget
    tracking = np.where(u("tracking") < 0.38, 0, np.where(u("capi") < 0.3, 2, 1))
    opens_later = adv.tenure_days[rows] <= 0  # on day -tenure of the history
    active = _starts_active(seed, cid) & ~adv.churned[rows] & ~opens_later
    return CampaignState(
        campaign_id=cid.astype(np.int64),
        advertiser_id=adv.advertiser_id[rows],
        adv=rows,
        vertical=adv.vertical[rows],
        country=adv.country[rows],
        channel=wr.choice(u("channel"), np.tile(CHANNEL_SHARE, (c, 1))),
        objective=wr.choice(u("objective"), np.tile(OBJECTIVE_SHARE, (c, 1))),
        created_day=np.where(opens_later, -adv.tenure_days[rows],
                             -(u("age") * np.minimum(adv.tenure_days[rows], 720))
                             ).astype(np.int64),
        budget=budget,
        auto=u("auto") < 0.68,
        breadth=breadth,
        creative_count=1 + wr.poisson(u("creatives"), 1.5),
        creative_age=np.where(opens_later, 0.0, np.floor(45 * u("creative_age"))),
        tracking=tracking,
        active=active,
        disapproved=np.zeros(c),
        done=np.zeros((c, len(ACTION_TYPES)), dtype=bool),
        demand_base=budget * ratio / breadth**0.6,
        spend_ref=budget * ratio,
        ctr_q=np.exp(0.3 * n("ctr_q")),
        cvr_q=np.exp(0.3 * n("cvr_q")),
        demand_mult=np.ones(c),
        ctr_mult=np.ones(c),
        cvr_mult=np.ones(c),
        price_mult=np.ones(c),
        kw_added=np.zeros(c),
        interest_added=np.zeros(c),
        products_promoted=np.zeros(c),
        conv30=np.zeros(c),
        limited7=np.zeros(c),
        spend7=np.zeros(c),
        value7=np.zeros(c),
        conv7_reported=np.zeros(c),
        last_change_day=np.full((c, len(ACTION_TYPES)), -10_000, dtype=np.int64),
    )


def products(seed: int, adv: AdvertiserState) -> Products:
    """Products of the advertisers that sell a catalog."""
    rows = np.flatnonzero(adv.has_catalog)
    ids = adv.advertiser_id[rows]
    counts = 5 + (wr.uniform(seed, "prod.count", ids) * (MAX_PRODUCTS - 8)).astype(int)
    prow = np.repeat(rows, counts)
    j = np.concatenate([np.arange(c) for c in counts]) if len(counts) else np.zeros(0, int)
    pid = PRODUCT_ID_BASE + adv.advertiser_id[prow] * MAX_PRODUCTS + j
    names = [name for r, cnt in zip(rows, counts)
             for name in product_names(int(adv.advertiser_id[r]), int(cnt),
                                       VERTICALS[adv.vertical[r]])]
    return Products(
        product_id=pid.astype(np.int64),
        adv=prow,
        name=names,
        price=np.round(np.exp(3.5 + 0.9 * wr.normal(seed, "prod.price", pid)), 2),
        sell_rate=np.exp(0.7 * wr.normal(seed, "prod.sell", pid) - 0.245),
    )
