"""Ground truth, callable: how advertisers respond to guidance and what adopting it causes.

No model may call this; the simulator, the evaluation's ceilings and the oracle policy do.
"""

from __future__ import annotations

import numpy as np

from pipelines.domain.actions import ACTION_CATEGORY
from pipelines.domain.vocabulary import CATEGORIES
from pipelines.world import performance
from pipelines.world.effects import AccountFlags, apply_actions
from pipelines.world.market import Market
from pipelines.world.state import CampaignState

HORIZON_DAYS = 14  # effects are stated as the change over the 14 days after adoption

# Probability that the advertiser looks at an item at 1-based `position`, by surface: roughly
# 1/rank in Ads Manager (WORLD-FACTS: rank 1 ≈ 1.8 × rank 2), flatter when a person asked
# (assistant) or a rep walks them through it; a notification is opened about 1 time in 4.
EXAMINE_SCALE = np.array([0.70, 0.85, 0.17, 0.92])
EXAMINE_DECAY = np.array([0.85, 0.60, 0.0, 0.40])
# Baseline log-odds of adopting / dismissing an examined item, by surface.
ADOPT_BIAS = np.array([-0.9, -0.5, -1.6, 0.1])
DISMISS_BIAS = np.array([-1.3, -1.6, -1.8, -2.2])
SNOOZE_BIAS = -2.8
NAG_ADOPT = 0.45  # log-odds lost per earlier showing of the same item in the last 21 days
NAG_DISMISS = 0.35
IMPATIENCE_ADOPT = 1.5  # log-odds lost at zero patience
IMPATIENCE_DISMISS = 1.2
EFFORT_COST = 1.3
VALUE_WEIGHT = 1.8  # weight of the (perceived) relative profit of the action


def examination(surface: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Probability that an item is looked at, by surface index and 1-based position."""
    return EXAMINE_SCALE[surface] / np.asarray(position, dtype=float) ** EXAMINE_DECAY[surface]


def if_shown_first(p: np.ndarray, surface: np.ndarray, position: np.ndarray) -> np.ndarray:
    """A response's probability `p` at 1-based `position` restated for position 1 of the same
    surface: a response needs the item examined, and only examination depends on position."""
    return p * examination(surface, np.ones_like(position)) / examination(surface, position)


def expected_effect(cs: CampaignState, acct: AccountFlags, action: np.ndarray,
                    param: np.ndarray, entity_match: np.ndarray, entity_strength: np.ndarray,
                    value_per_conversion: np.ndarray, market: Market, day: int
                    ) -> dict[str, np.ndarray]:
    """Expected causal effect of each row adopting its action today, over HORIZON_DAYS from
    tomorrow: change in true conversions, cost ($), conversion value ($) and advertiser profit
    (value − cost, $), plus the baseline conversions and spend without the action."""
    d = min(day + 1, market.days - 1)
    after, acct_after = apply_actions(cs, acct, action, param, entity_match, entity_strength)
    mid = HORIZON_DAYS / 2  # creatives age through the horizon: judge them at its middle
    outcomes = []
    for state, flags in ((cs, acct), (after, acct_after)):
        state = state.take(np.arange(len(state)))
        state.creative_age = state.creative_age + mid
        demand, price = performance.campaign_conditions(state, market, d)
        serving = performance.serving_share(state, flags.payment_issue, flags.feed_errors)
        outcomes.append(performance.expected_delivery(state, demand, price, serving))
    base, new = outcomes
    d_conv = HORIZON_DAYS * (new["conversions"] - base["conversions"])
    d_cost = HORIZON_DAYS * (new["spend"] - base["spend"])
    d_value = d_conv * value_per_conversion
    return {"delta_conversions": d_conv, "delta_cost": d_cost, "delta_value": d_value,
            "delta_profit": d_value - d_cost,
            "base_conversions": HORIZON_DAYS * base["conversions"],
            "base_spend": HORIZON_DAYS * base["spend"]}


def sample_effect(effect: dict[str, np.ndarray], z_conv: np.ndarray, z_cost: np.ndarray,
                  value_per_conversion: np.ndarray) -> dict[str, np.ndarray]:
    """One realisation of the effect: conversion counts are noisy (Poisson-like on both arms),
    costs vary by ±10 %."""
    noise_sd = np.sqrt(np.maximum(2 * effect["base_conversions"] + effect["delta_conversions"], 0))
    d_conv = effect["delta_conversions"] + noise_sd * z_conv * 0.5
    d_cost = effect["delta_cost"] * np.exp(0.1 * z_cost)
    return {"delta_conversions": d_conv, "delta_cost": d_cost,
            "delta_profit": d_conv * value_per_conversion - d_cost}


# Categories where more spend is the advertiser's own choice; fixing a broken account (payment,
# disapprovals, feed) or resuming a campaign restores spend they had already chosen.
_COST_CHOSEN = np.isin(ACTION_CATEGORY, [CATEGORIES.index(c) for c in
                                         ("budget", "bidding", "targeting", "keywords",
                                          "interests", "products")])


def chosen_cost_share(effect: dict[str, np.ndarray], action: np.ndarray) -> np.ndarray:
    """Added spend over what the campaign spends, where spending more is the point of the
    action: what a cost-averse advertiser balks at."""
    added = np.maximum(effect["delta_cost"], 0) / (effect["base_spend"] + 50.0)
    return np.where(_COST_CHOSEN[action], added, 0.0)


def relative_profit(effect: dict[str, np.ndarray]) -> np.ndarray:
    """Profit of the action relative to what the campaign spends: what an advertiser weighs."""
    return effect["delta_profit"] / (effect["base_spend"] + 50.0)


def response_probabilities(surface: np.ndarray, position: np.ndarray, taste: np.ndarray,
                           trust: np.ndarray, patience: np.ndarray, cost_aversion: np.ndarray,
                           effort: np.ndarray, rel_profit: np.ndarray, cost_share: np.ndarray,
                           nag: np.ndarray) -> np.ndarray:
    """[row, outcome] probabilities of adopted / dismissed / snoozed / ignored for an item shown
    on `surface` at `position`. `taste` is the advertiser's taste for the item's category,
    `cost_share` the added spend over what the campaign spends, `nag` the number of earlier
    showings of the same item in the last 21 days."""
    value = np.tanh(2.5 * rel_profit)
    impatience = 1.0 - patience
    u_adopt = (ADOPT_BIAS[surface] + taste + 0.9 * trust + VALUE_WEIGHT * value
               - EFFORT_COST * effort - cost_aversion * np.clip(cost_share, 0, 2)
               - NAG_ADOPT * nag - IMPATIENCE_ADOPT * impatience)
    u_dismiss = (DISMISS_BIAS[surface] - 0.3 * taste - 0.6 * trust - 1.2 * value
                 + 0.5 * cost_aversion * np.clip(cost_share, 0, 2)
                 + NAG_DISMISS * nag + IMPATIENCE_DISMISS * impatience)
    u_snooze = SNOOZE_BIAS + 0.25 * nag
    logits = np.stack([u_adopt, u_dismiss, u_snooze, np.zeros_like(u_adopt)], axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    given_seen = np.exp(logits)
    given_seen /= given_seen.sum(axis=1, keepdims=True)
    seen = examination(surface, position)[:, None]
    probs = seen * given_seen
    probs[:, 3] += 1.0 - seen[:, 0]
    return probs


def dismiss_reason_weights(rel_profit: np.ndarray, cost_share: np.ndarray,
                           cost_aversion: np.ndarray, recently_done: np.ndarray) -> np.ndarray:
    """[row, reason] unnormalised weights of not_relevant / already_done / too_expensive /
    disagree_with_estimate / other, given that the item was dismissed."""
    return np.stack([
        0.6 + 2.0 * (rel_profit <= 0),
        np.where(recently_done, 4.0, 0.15),
        0.1 + 2.0 * cost_aversion * np.clip(cost_share, 0, 2),
        0.5 + 1.0 * (rel_profit > 0.3),
        np.full(len(rel_profit), 0.3),
    ], axis=1)

