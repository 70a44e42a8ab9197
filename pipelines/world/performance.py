"""How a campaign performs on a day: the auction and delivery model behind daily_performance.

All functions are pure in their arrays. The oracle's causal effects come from the same
`expected_delivery`, evaluated with and without an action's state change, so the effects the
world logs and the effects it simulates cannot disagree.
"""

from __future__ import annotations

import numpy as np

from pipelines.world.calibration import base_rates
from pipelines.world.market import Market
from pipelines.world.state import CampaignState

BETA = 0.72  # conversions ∝ spend^β at fixed demand (WORLD-FACTS: β ≈ 0.6-0.8)
DEMAND_SIGMA = 0.30  # day-to-day noise of a campaign's unconstrained demand (log scale)
FATIGUE_POWER = 0.35  # CTR × (1 + age / (7 √creatives))^-0.35: -38 % after 3 weeks, one creative
PIXEL_CAPTURE = 0.85  # share of true conversions a browser pixel reports (CAPI adds the rest)
_RATES = base_rates()
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(7)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def fatigue_multiplier(age: np.ndarray, creatives: np.ndarray) -> np.ndarray:
    """CTR multiplier (≤ 1) for creatives `age` days old, slower to fade with more creatives."""
    return (1.0 + age / (7.0 * np.sqrt(np.maximum(creatives, 1)))) ** -FATIGUE_POWER


def bidding_factor(auto: np.ndarray, tracking: np.ndarray, conv30: np.ndarray) -> np.ndarray:
    """Conversion-rate multiplier of the bid strategy. Automatic bidding learns from conversions:
    above ≈ 30 tracked conversions in 30 days it beats manual bids by up to 22 %, below ≈ 15 it
    is learning-limited and loses up to 20 % (WORLD-FACTS: 15-50 conversions per 30 days)."""
    signal = conv30 * np.where(tracking == 2, 1.0, PIXEL_CAPTURE)
    learned = 0.80 + 0.42 / (1.0 + np.exp(-(signal - 25.0) / 5.0))
    auto_factor = np.where(tracking == 0, 0.90, learned)
    return np.where(auto, auto_factor, 1.0)


def campaign_conditions(cs: CampaignState, market: Market, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(demand index, auction price index) each campaign faces on `day`."""
    demand = market.demand[cs.vertical, cs.country, day]
    price = np.where(cs.channel == 0, market.search_price[cs.vertical, cs.country, day],
                     market.price[cs.vertical, cs.country, day])
    return demand, price


FEED_ERROR_LOSS = 0.25  # share of a catalog advertiser's demand lost while its feed has errors


def serving_share(cs: CampaignState, payment_issue: np.ndarray,
                  feed_errors: np.ndarray) -> np.ndarray:
    """Share of the campaign's demand it can serve: zero when paused or unpaid, less with
    disapproved ads or a broken product feed (per-campaign account flags)."""
    return (cs.active * (1.0 - cs.disapproved) * ~payment_issue
            * (1.0 - FEED_ERROR_LOSS * feed_errors))


def delivery(cs: CampaignState, demand_idx: np.ndarray, price_idx: np.ndarray,
             serving: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
    """One day's delivery for demand shock `z` (standard normal). Conversions are true ones."""
    potential = (cs.demand_base * cs.demand_mult * cs.breadth**0.6 * demand_idx
                 * np.exp(DEMAND_SIGMA * z - DEMAND_SIGMA**2 / 2) * serving)
    spend = np.minimum(potential, cs.budget)
    limited = (potential > cs.budget) & (serving > 0)
    exhausted = np.where(limited, 24.0 * cs.budget / np.maximum(potential, 1e-9), np.nan)
    # Diminishing returns: the price per impression rises as spend outgrows the campaign's scale.
    cpm = (_RATES["cpm"][cs.vertical, cs.channel] * price_idx * cs.price_mult
           * (np.maximum(spend, 1e-9) / cs.spend_ref) ** (1.0 - BETA))
    impressions = spend / cpm * 1000.0
    ctr = (_RATES["ctr"][cs.vertical, cs.channel] * cs.ctr_q * cs.ctr_mult
           * fatigue_multiplier(cs.creative_age, cs.creative_count))
    clicks = impressions * np.minimum(ctr, 0.5)
    cvr = (_RATES["cvr"][cs.vertical, cs.channel] * cs.cvr_q * cs.cvr_mult
           * bidding_factor(cs.auto, cs.tracking, cs.conv30))
    return {"spend": spend, "impressions": impressions, "clicks": clicks,
            "conversions": clicks * np.minimum(cvr, 0.9), "limited": limited,
            "exhausted_hour": exhausted, "ctr": ctr}


def expected_delivery(cs: CampaignState, demand_idx: np.ndarray, price_idx: np.ndarray,
                      serving: np.ndarray) -> dict[str, np.ndarray]:
    """Expected spend ($/day) and true conversions (per day) over the demand noise."""
    spend = np.zeros(len(cs))
    conv = np.zeros(len(cs))
    for node, weight in zip(_NODES, _WEIGHTS):
        d = delivery(cs, demand_idx, price_idx, serving, np.full(len(cs), node))
        spend += weight * d["spend"]
        conv += weight * d["conversions"]
    return {"spend": spend, "conversions": conv}
