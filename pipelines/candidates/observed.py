"""Candidate guidance from what the platform observes.

The generators are the rule engine's own (`rules.applicable`: a budget action for every active
campaign, a tracking action where none is installed, ...), fed from the online campaign signals
instead of the simulator's state, so the service and the world agree on what applies. The large
entity catalogs (keywords, interests, products) come from embedding retrieval, merged in by the
caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from pipelines.world.catalog import GENERIC_ACTION, GENERIC_ITEMS
from pipelines.world.effects import REPEATABLE
from pipelines.world.rules import applicable
from pipelines.world.taxonomy import ACTION_INDEX, ACTION_TYPES, CHANNELS, OBJECTIVES

TRACKING_LEVELS = ("none", "pixel", "pixel_and_server")
ONE_SHOT = np.array([a.name not in REPEATABLE for a in ACTION_TYPES])


@dataclass
class ObservedCampaigns:
    """Per campaign row, the facts `rules.applicable` reads, named as in the world's
    CampaignState and AccountFlags."""

    channel: np.ndarray  # index into CHANNELS
    objective: np.ndarray  # index into OBJECTIVES
    active: np.ndarray
    auto: np.ndarray
    tracking: np.ndarray  # 0 none, 1 pixel, 2 pixel + server
    creative_count: np.ndarray
    breadth: np.ndarray
    disapproved: np.ndarray
    done: np.ndarray  # [row, action type] one-shot actions already applied
    payment_issue: np.ndarray
    feed_errors: np.ndarray

    def take(self, rows) -> "ObservedCampaigns":
        return ObservedCampaigns(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def __len__(self) -> int:
        return len(self.channel)


def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    return values.map({v: i for i, v in enumerate(vocabulary)}).fillna(0).to_numpy(np.int64)


def observe(campaigns: pd.DataFrame, advertisers: pd.DataFrame) -> ObservedCampaigns:
    """Facts of each campaign row from its online signals, its `status`, and its advertiser's
    signals (rows of `advertisers` aligned with `campaigns`)."""
    num = lambda df, c: pd.to_numeric(df[c]).fillna(0).to_numpy()  # noqa: E731
    return ObservedCampaigns(
        channel=_codes(campaigns.channel, CHANNELS),
        objective=_codes(campaigns.objective, OBJECTIVES),
        active=(campaigns.status == "active").to_numpy(),
        auto=campaigns.bid_automatic.fillna(False).to_numpy(bool),
        tracking=_codes(campaigns.conversion_tracking, TRACKING_LEVELS),
        creative_count=num(campaigns, "creative_count"),
        breadth=num(campaigns, "targeting_breadth"),
        disapproved=num(campaigns, "disapproved_share"),
        done=np.zeros((len(campaigns), len(ACTION_TYPES)), dtype=bool),
        payment_issue=num(advertisers, "payment_errors_7d") > 0,
        feed_errors=num(advertisers, "feed_errors_7d") > 0,
    )


def in_season(day: dt.date) -> bool:
    """The holiday window in which seasonal budget boosts apply (as the world's rules)."""
    return dt.date(day.year, 10, 1) <= day <= dt.date(day.year, 12, 20)


def generic(obs: ObservedCampaigns, has_catalog: np.ndarray, day: dt.date
            ) -> tuple[np.ndarray, np.ndarray]:
    """(campaign row, generic item id) of every generic item that applies to each row."""
    n, g = len(obs), len(GENERIC_ITEMS)
    rows = np.repeat(np.arange(n), g)
    action = np.tile(GENERIC_ACTION, n)
    ok = applicable(obs.take(rows), obs.take(rows), has_catalog[rows], action, in_season(day))
    return rows[ok], np.tile(np.arange(g), n)[ok]


def entity_ok(obs: ObservedCampaigns, rows: np.ndarray, action: np.ndarray,
              has_catalog: np.ndarray) -> np.ndarray:
    """Which retrieved entity items (keyword, interest, product) apply to their campaign rows:
    the channel rules of `applicable`, and products only for active sales campaigns."""
    sub = obs.take(rows)
    ok = applicable(sub, sub, has_catalog, action, in_season=False)
    product = action == ACTION_INDEX["product_promote"]
    return ok & (~product | (sub.objective == OBJECTIVES.index("sales")))
