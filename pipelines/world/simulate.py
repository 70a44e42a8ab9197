"""The world loop: advance a block of advertisers day by day under a guidance policy.

History generation is this loop run with the logging policy; experiments run it with others.
Each day: adoptions due today take effect (responses), advertisers visit surfaces (sessions),
accounts run into trouble and advertisers act on their own (workflow), the policy fills a slate
per visit (sessions), advertisers respond by the oracle (responses), and then every live
campaign delivers the day's ads (delivery). The recorder collects the tables (recording).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Callable

import numpy as np

from pipelines.world import delivery, responses, sessions, workflow
from pipelines.world.block import Block
from pipelines.world.entities import TrendEntities, interests, keywords
from pipelines.world.market import Market, build_market
from pipelines.world.platform_log import PlatformLog
from pipelines.world.policies import Policy
from pipelines.world.recording import BlockOutput, Recorder
from pipelines.world.shocks import MarketShock, Shock, resolve

if TYPE_CHECKING:
    from pipelines.world.responses import Responses
    from pipelines.world.sessions import Served

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
    signup_days: int | None = None  # days over which accounts open (default: all of them)

    def market_known_on(self, day: int) -> Market:
        """The market as advertisers know it on `day`, to judge guidance whose effect starts
        tomorrow: tomorrow's prices, but no market shock before its day."""
        return self.surprises.get(day, self.market)

    def timestamp(self, day: int, hours: np.ndarray) -> np.ndarray:
        """The UTC time `hours` into world day `day`, as datetime64[s]."""
        base = np.datetime64(self.start, "s") + np.timedelta64(day, "D")
        return base + (np.asarray(hours) * 3600).astype("timedelta64[s]")


def world_spec(seed: int, start: dt.date, days: int, signup_share: float = 0.0,
               shocks: tuple[Shock, ...] = (), signup_days: int | None = None) -> WorldSpec:
    """The world of `seed` over `days` days from `start`: its trending entities and market, the
    share of accounts that open during it (over its first `signup_days`, default all), and the
    shocks it goes through. A longer world keeps the days of a shorter one with the same
    seed and `signup_days`: the market and every draw are made day by day."""
    kw, it = keywords(seed), interests(seed)
    shocks = resolve(tuple(shocks), start)
    surprises = {s.from_day - 1: build_market(seed, start, days, kw, it, tuple(
                     o for o in shocks if o.from_day < s.from_day))
                 for s in shocks if isinstance(s, MarketShock) and s.from_day > 0}
    return WorldSpec(seed, start, days, kw, it, build_market(seed, start, days, kw, it, shocks),
                     signup_share, shocks, surprises, signup_days)


Observer = Callable[[int, "Served", "Responses"], None]


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
        self.day = -WARMUP_DAYS  # the next day to live

    def run(self, progress: Callable[[int], None] | None = None) -> BlockOutput:
        """Deliver the warm-up days unrecorded, then live the world's days phase by phase;
        returns the block's tables. `progress` is called with 1 after each day."""
        self.live_until(self.spec.days, progress)
        return self.recorder.output(self.block, self.spec)

    def live_until(self, end: int, progress: Callable[[int], None] | None = None,
                   observe: Observer | None = None) -> None:
        """Live the days from the next one up to `end` (excluded), the warm-up first if it is
        still ahead. `observe` sees every day's slates and their answers."""
        spec, block = self.spec, self.block
        while self.day < min(end, 0):
            delivery.deliver(block, spec, self.windows, self.day, record=False)
            self.day += 1
        while self.day < end:
            self._live(self.day, observe)
            self.day += 1
            if progress:
                progress(1)

    def _live(self, day: int, observe: Observer | None) -> None:
        spec, block, rec = self.spec, self.block, self.recorder
        self.adoptions.apply_due(block, day)
        visits = sessions.visits(block.adv, spec, day)
        rec.add("workflow_events",
                workflow.account_activity(block, spec, day, visits["ads_manager"]))
        truth = partial(responses.truth, block, spec, self.shown_items, day)  # the oracle
        tables = partial(rec.platform_tables, block, spec, day)  # the platform's data
        served = sessions.serve(block, spec, self.policy, self.platform_log, visits, day,
                                truth, tables)
        if served is not None:
            answers = responses.respond(block, spec, served, day, self.shown_items,
                                        self.platform_log, self.adoptions)
            rec.add("impressions", answers.impressions)
            rec.add("impression_oracle", answers.oracle)
            rec.add_totals(answers.totals)
            if observe:
                observe(day, served, answers)
        rec.add("daily_performance", delivery.deliver(block, spec, self.windows, day, record=True))
        responses.recover_patience(block.adv)

    def fork(self, policy: Policy) -> "BlockSimulation":
        """A copy of this block as it stands, to live on under `policy`: the same advertisers,
        state, memory and recorded history, with the platform's log rebuilt from the recorded
        impressions under the new policy's business rules."""
        other = copy.copy(self)
        for name in ("block", "windows", "adoptions", "shown_items", "recorder"):
            setattr(other, name, copy.deepcopy(getattr(self, name)))
        other.policy = policy
        other.platform_log = PlatformLog.replay(policy.config, self.recorder.rows("impressions"))
        return other


def simulate_block(spec: WorldSpec, advertiser_ids: np.ndarray, policy: Policy,
                   progress: Callable[[int], None] | None = None) -> BlockOutput:
    """Run the world for the advertisers `advertiser_ids` under `policy`."""
    return BlockSimulation(spec, np.asarray(advertiser_ids, dtype=np.int64), policy).run(progress)
