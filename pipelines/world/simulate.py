"""The world loop: advance a block of advertisers day by day under a guidance policy.

History generation is this loop run with the logging policy; experiments run it with others.
Each day: adoptions due today take effect (responses), advertisers visit surfaces (sessions),
accounts run into trouble and advertisers act on their own (workflow), the policy fills a slate
per visit (sessions), advertisers respond by the oracle (responses), and then every live
campaign delivers the day's ads (delivery). The recorder collects the tables (recording).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

from pipelines.world import delivery, responses, sessions, workflow
from pipelines.world.block import Block
from pipelines.world.entities import TrendEntities, interests, keywords
from pipelines.world.market import Market, build_market
from pipelines.world.platform_log import PlatformLog
from pipelines.world.policies import Policy
from pipelines.world.recording import BlockOutput, Recorder
from pipelines.world.shocks import MarketShock, Shock, resolve

WARMUP_DAYS = 30  # days run before the world's start so rolling windows are full on day 0


@dataclass(frozen=True)
class WorldSpec:
    """The read-only part of a world every shard rebuilds from the seed."""

    seed: int
    start: dt.date
    days: int
    keywords: TrendEntities
    interests: TrendEntities
    market: Market
    signup_share: float = 0.0  # share of advertisers whose account opens during the history
    shocks: tuple[Shock, ...] = ()  # from_day resolved to day indices
    # the market as known the day before each market shock, by that day: a shock is a surprise
    surprises: dict[int, Market] = field(default_factory=dict)

    def market_known_on(self, day: int) -> Market:
        """The market as advertisers know it on `day`, to judge guidance whose effect starts
        tomorrow: tomorrow's prices, but no market shock before its day."""
        return self.surprises.get(day, self.market)

    def timestamp(self, day: int, hours: np.ndarray) -> np.ndarray:
        """The UTC time `hours` into world day `day`, as datetime64[s]."""
        base = np.datetime64(self.start, "s") + np.timedelta64(day, "D")
        return base + (np.asarray(hours) * 3600).astype("timedelta64[s]")


def world_spec(seed: int, start: dt.date, days: int, signup_share: float = 0.0,
               shocks: tuple[Shock, ...] = ()) -> WorldSpec:
    """The world of `seed` over `days` days from `start`: its trending entities and market, the
    share of accounts that open during it, and the shocks it goes through."""
    kw, it = keywords(seed), interests(seed)
    shocks = resolve(tuple(shocks), start)
    surprises = {s.from_day - 1: build_market(seed, start, days, kw, it, tuple(
                     o for o in shocks if o.from_day < s.from_day))
                 for s in shocks if isinstance(s, MarketShock) and s.from_day > 0}
    return WorldSpec(seed, start, days, kw, it, build_market(seed, start, days, kw, it, shocks),
                     signup_share, shocks, surprises)


class BlockSimulation:
    """One block of advertisers living through the world's days under `policy`."""

    def __init__(self, spec: WorldSpec, advertiser_ids: np.ndarray, policy: Policy):
        self.spec, self.policy = spec, policy
        self.block = Block.populate(spec, advertiser_ids)
        self.windows = delivery.RollingWindows(len(self.block.cs))
        self.adoptions = responses.PendingAdoptions()
        self.shown_items = responses.ShownItems()  # the advertisers' memory
        self.platform_log = PlatformLog(policy.config)  # the platform's memory
        self.recorder = Recorder()

    def run(self, progress: Callable[[int], None] | None = None) -> BlockOutput:
        """Deliver the warm-up days unrecorded, then live the world's days phase by phase;
        returns the block's tables. `progress` is called with 1 after each day."""
        spec, block, rec = self.spec, self.block, self.recorder
        for day in range(-WARMUP_DAYS, 0):
            delivery.deliver(block, spec, self.windows, day, record=False)
        for day in range(spec.days):
            self.adoptions.apply_due(block, day)
            visits = sessions.visits(block.adv, spec, day)
            rec.add("workflow_events",
                    workflow.account_activity(block, spec, day, visits["ads_manager"]))
            truth = partial(responses.truth, block, spec, self.shown_items, day)  # the oracle
            served = sessions.serve(block, spec, self.policy, self.platform_log, visits, day,
                                    truth)
            if served is not None:
                answers = responses.respond(block, spec, served, day, self.shown_items,
                                            self.platform_log, self.adoptions)
                rec.add("impressions", answers.impressions)
                rec.add("impression_oracle", answers.oracle)
                rec.add_totals(answers.totals)
            rec.add("daily_performance",
                    delivery.deliver(block, spec, self.windows, day, record=True))
            responses.recover_patience(block.adv)
            if progress:
                progress(1)
        return rec.output(block, spec)


def simulate_block(spec: WorldSpec, advertiser_ids: np.ndarray, policy: Policy,
                   progress: Callable[[int], None] | None = None) -> BlockOutput:
    """Run the world for the advertisers `advertiser_ids` under `policy`."""
    return BlockSimulation(spec, np.asarray(advertiser_ids, dtype=np.int64), policy).run(progress)
