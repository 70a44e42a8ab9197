"""Candidate guidance from what the platform observes.

What applies is the platform's rule (`pipelines.domain.applicability`: a budget action for every
active campaign, a tracking action where none is installed, ...), fed from the online campaign
signals; the simulator's rule engine offers what the same rule allows. The large
entity catalogs (keywords, interests, products) come from embedding retrieval, merged in by the
caller.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipelines.domain.actions import ACTION_INDEX, ACTION_TYPES
from pipelines.domain.applicability import CampaignFacts, applicable, in_season
from pipelines.domain.catalog import GENERIC_ACTION, GENERIC_ITEMS
from pipelines.domain.vocabulary import CHANNELS, OBJECTIVES, TRACKING_LEVELS


def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    return values.map({v: i for i, v in enumerate(vocabulary)}).fillna(0).to_numpy(np.int64)


def observe(campaigns: pd.DataFrame, advertisers: pd.DataFrame) -> CampaignFacts:
    """Facts of each campaign row from its online signals, its `status`, and its advertiser's
    signals (rows of `advertisers` aligned with `campaigns`)."""
    num = lambda df, c: pd.to_numeric(df[c]).fillna(0).to_numpy()  # noqa: E731
    return CampaignFacts(
        channel=_codes(campaigns.channel, CHANNELS),
        objective=_codes(campaigns.objective, OBJECTIVES),
        active=(campaigns.status == "active").to_numpy(),
        auto=pd.array(campaigns.bid_automatic, dtype="boolean").fillna(False).to_numpy(bool),
        tracking=_codes(campaigns.conversion_tracking, TRACKING_LEVELS),
        creative_count=num(campaigns, "creative_count"),
        breadth=num(campaigns, "targeting_breadth"),
        disapproved=num(campaigns, "disapproved_share"),
        done=np.zeros((len(campaigns), len(ACTION_TYPES)), dtype=bool),
        payment_issue=num(advertisers, "payment_errors_7d") > 0,
        feed_errors=num(advertisers, "feed_errors_7d") > 0,
    )


def generic(obs: CampaignFacts, has_catalog: np.ndarray, day: dt.date
            ) -> tuple[np.ndarray, np.ndarray]:
    """(campaign row, generic item id) of every generic item that applies to each row."""
    n, g = len(obs), len(GENERIC_ITEMS)
    rows = np.repeat(np.arange(n), g)
    action = np.tile(GENERIC_ACTION, n)
    ok = applicable(obs.take(rows), obs.take(rows), has_catalog[rows], action, in_season(day))
    return rows[ok], np.tile(np.arange(g), n)[ok]


def entity_ok(obs: CampaignFacts, rows: np.ndarray, action: np.ndarray,
              has_catalog: np.ndarray) -> np.ndarray:
    """Which retrieved entity items (keyword, interest, product) apply to their campaign rows:
    the channel rules of `applicable`, and products only for active sales campaigns."""
    sub = obs.take(rows)
    ok = applicable(sub, sub, has_catalog, action, in_season=False)
    product = action == ACTION_INDEX["product_promote"]
    return ok & (~product | (sub.objective == OBJECTIVES.index("sales")))
