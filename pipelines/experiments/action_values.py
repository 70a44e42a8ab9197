"""What each account's guidance is truly worth as the history ends: the world's expected effect
(pipelines.world.oracle.expected_effect) of every action that applies to the account's campaigns
on the first day after the history, from the state the history left. Evaluation reads it as
data, to judge what the product says about an account (the brief) against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.domain.actions import ACTION_TYPES, CATEGORY_OF
from pipelines.world import candidates, oracle
from pipelines.world.policies import LoggingPolicy
from pipelines.world.simulate import BlockSimulation, WorldSpec

_ACTION_NAMES = np.array([a.name for a in ACTION_TYPES], dtype=object)


def action_values(spec: WorldSpec, advertiser_ids: np.ndarray, day: int) -> pd.DataFrame:
    """One row per (advertiser, campaign, item) that applies on world day `day` (the block
    having lived the days before it under the logging policy): its action type, category and
    the true expected change in the advertiser's profit ($) and conversions over the 14 days
    after adopting it."""
    sim = BlockSimulation(spec, np.asarray(advertiser_ids, np.int64), LoggingPolicy())
    sim.live_until(day)
    block = sim.block
    sessions = np.flatnonzero(block.adv.alive(day))
    if len(sessions) == 0:
        return pd.DataFrame(columns=["advertiser_id", "campaign_id", "action_type", "category",
                                     "delta_profit", "delta_conversions"])
    c = candidates.build(spec.seed, day, sessions, block.cs, block.account_flags(), block.adv,
                         block.products, block.prod_start, block.prod_count, block.camp_start,
                         block.camp_count, spec.keywords, spec.interests, spec.market)
    cs = block.cs.take(c.crow)
    eff = oracle.expected_effect(cs, block.account_flags().take(c.crow), c.action, c.param,
                                 c.entity_match, c.entity_strength,
                                 block.adv.value_per_conversion[cs.adv],
                                 spec.market_known_on(day), day)
    action = _ACTION_NAMES[c.action]
    return pd.DataFrame({
        "advertiser_id": cs.advertiser_id, "campaign_id": cs.campaign_id,
        "action_type": action, "category": [CATEGORY_OF[a] for a in action],
        "delta_profit": eff["delta_profit"], "delta_conversions": eff["delta_conversions"]})


def most_valuable(values: pd.DataFrame, top: int = 2) -> pd.DataFrame:
    """Each account's `top` most valuable action types (the best (campaign, item) of each), worth
    something: a true expected profit above 0. Columns: advertiser_id, rank (1 = best),
    action_type, category, delta_profit."""
    best = (values.groupby(["advertiser_id", "action_type", "category"], as_index=False)
            .delta_profit.max())
    best = best[best.delta_profit > 0].sort_values(["advertiser_id", "delta_profit"],
                                                   ascending=[True, False])
    best["rank"] = best.groupby("advertiser_id").cumcount() + 1
    return best[best["rank"] <= top].reset_index(drop=True)
