"""A day of ads for every campaign of a block: what it delivers (pipelines.world.performance),
the noisy counts the platform reports, the rolling windows the platform keeps of them, and the
day's daily_performance rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipelines.domain.vocabulary import TRACKING_LEVELS
from pipelines.world import performance
from pipelines.world import random as wr
from pipelines.world import shocks
from pipelines.world.block import Block
from pipelines.world.state import CampaignState

if TYPE_CHECKING:
    from pipelines.world.simulate import WorldSpec


class RollingWindows:
    """The last days behind each campaign's rolling fields (conv30, limited7, spend7, value7,
    conv7_reported): one ring of daily values per field, slot day % length."""

    def __init__(self, n_campaigns: int):
        self.conv = np.zeros((n_campaigns, 30))
        self.limited = np.zeros((n_campaigns, 7))
        self.spend = np.zeros((n_campaigns, 7))
        self.value = np.zeros((n_campaigns, 7))
        self.conv_reported = np.zeros((n_campaigns, 7))

    def update(self, cs: CampaignState, day: int, true_conv: np.ndarray, limited: np.ndarray,
               spend: np.ndarray, value: np.ndarray, reported: np.ndarray) -> None:
        """Put `day`'s values in the rings and the sums over the window into `cs`."""
        slot30, slot7 = day % 30, day % 7
        self.conv[:, slot30] = true_conv
        cs.conv30 = self.conv.sum(axis=1)
        self.limited[:, slot7] = limited
        self.spend[:, slot7] = spend
        self.value[:, slot7] = value
        self.conv_reported[:, slot7] = reported
        cs.limited7 = self.limited.sum(axis=1)
        cs.spend7 = self.spend.sum(axis=1)
        cs.value7 = self.value.sum(axis=1)
        cs.conv7_reported = self.conv_reported.sum(axis=1)


def deliver(block: Block, spec: WorldSpec, windows: RollingWindows, day: int,
            record: bool) -> dict[str, np.ndarray] | None:
    """Run `day` for every campaign: update the rolling windows and age the creatives; returns
    the daily_performance rows of the live campaigns when `record` (None otherwise)."""
    cs, acct, seed = block.cs, block.account_flags(), spec.seed
    # the market starts on day 0: the warm-up days before it trade on day 0's conditions
    demand, price = performance.campaign_conditions(cs, spec.market, max(day, 0))
    serving = performance.serving_share(cs, acct.payment_issue, acct.feed_errors)
    z = wr.normal(seed, "perf.demand", cs.campaign_id, day)
    out = performance.delivery(cs, demand, price, serving, z)
    key = (cs.campaign_id, day)
    impressions = wr.poisson(wr.uniform(seed, "perf.impr", *key), out["impressions"])
    clicks = np.minimum(wr.poisson(wr.uniform(seed, "perf.clicks", *key), out["clicks"]),
                        impressions)
    true_conv = out["conversions"]
    capture = np.where(cs.tracking == 2, 1.0, performance.PIXEL_CAPTURE)
    reported = np.minimum(wr.poisson(wr.uniform(seed, "perf.conv", *key), true_conv * capture),
                          clicks)
    reported = np.where(shocks.tracking_lost(spec.shocks, seed, cs.advertiser_id, day), 0,
                        reported)
    value = reported * block.adv.value_per_conversion[cs.adv] * np.exp(
        0.3 * wr.normal(seed, "perf.value", *key) - 0.045)
    tracked = cs.tracking > 0
    windows.update(cs, day, true_conv, out["limited"], out["spend"],
                   np.where(tracked, value, 0.0), np.where(tracked, reported, 0.0))
    rows = None
    if record:
        rows = _performance_rows(cs, spec, day, out, impressions, clicks, reported, value)
    cs.creative_age = cs.creative_age + cs.active
    return rows


def _performance_rows(cs: CampaignState, spec: WorldSpec, day: int, out: dict[str, np.ndarray],
                      impressions: np.ndarray, clicks: np.ndarray, reported: np.ndarray,
                      value: np.ndarray) -> dict[str, np.ndarray]:
    """The day's daily_performance rows: one per live campaign, conversions only where it
    tracks them."""
    live = np.flatnonzero(cs.active)
    tracked = cs.tracking[live] > 0
    return dict(
        date=np.full(len(live), np.datetime64(spec.market.date(day), "D")),
        campaign_id=cs.campaign_id[live],
        advertiser_id=cs.advertiser_id[live],
        spend=np.round(out["spend"][live], 2),
        impressions=impressions[live],
        clicks=clicks[live],
        conversions=np.where(tracked, reported[live], np.nan),
        conversion_value=np.where(tracked, np.round(value[live], 2), np.nan),
        daily_budget=cs.budget[live].copy(),
        budget_limited=out["limited"][live],
        budget_exhausted_hour=np.round(out["exhausted_hour"][live], 2),
        bid_strategy=np.where(cs.auto[live], "automatic", "manual").astype(object),
        conversion_tracking=np.array(TRACKING_LEVELS, dtype=object)[cs.tracking[live]],
        targeting_breadth=np.round(cs.breadth[live], 3),
        creative_count=cs.creative_count[live].astype(np.int64),
        creative_age_days=cs.creative_age[live].astype(np.int64),
        creative_fatigue=np.round(1 - performance.fatigue_multiplier(
            cs.creative_age[live], cs.creative_count[live]), 4),
        disapproved_share=np.round(cs.disapproved[live], 3),
    )
