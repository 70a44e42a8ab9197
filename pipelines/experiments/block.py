"""One block of advertisers through an experiment: its history lived again under the logging
policy (the world is a pure function of its seed, so it comes out as it was generated), then
each arm living the experiment's days from that same state.

Paired: every arm forks the block at the end of the history, so all arms see the same
advertisers and the world's common random numbers (every draw is keyed by the seed, an entity's
id and the day). A/B: each advertiser lives only its assigned arm, as production runs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.domain.vocabulary import SURFACES, TIERS, VERTICALS
from pipelines.experiments import observe
from pipelines.experiments.config import ExperimentConfig
from pipelines.experiments.learned import LearnedPredictor
from pipelines.policy.config import PolicyConfig, SurfacePolicy
from pipelines.world.oracle import HORIZON_DAYS
from pipelines.world.policies import (
    LoggingPolicy, OraclePolicy, Policy, RandomPolicy, ScoredPolicy
)
from pipelines.world.simulate import BlockSimulation, WorldSpec, world_spec

# the world lives on past the experiment's last day only as far as the realised effect of its
# last adoptions needs (adopted up to 7 days after being shown, then 14 days of effect)
MEASURE_DAYS = 7 + 1 + HORIZON_DAYS


@dataclass(frozen=True)
class WorldFacts:
    """The generated world an experiment continues (from its manifest)."""

    seed: int
    start: dt.date
    days: int
    advertisers: int
    signup_share: float
    shocks: tuple

    def spec(self, experiment_days: int) -> WorldSpec:
        """The world's spec over its history and the experiment's days (and the days the
        last effects need to be measured): the history's days come out unchanged."""
        return world_spec(self.seed, self.start, self.days + experiment_days + MEASURE_DAYS,
                          self.signup_share, self.shocks, signup_days=self.days)


def assign(name: str, advertiser_id: np.ndarray, n_arms: int) -> np.ndarray:
    """The A/B arm of each advertiser: a hash of (experiment, advertiser), as a production
    assignment service does (stable, independent of the order and of other experiments)."""
    out = np.empty(len(advertiser_id), np.int64)
    for i, a in enumerate(np.asarray(advertiser_id).tolist()):
        h = hashlib.blake2b(f"{name}:{a}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(h, "little") % n_arms
    return out


def explore_config(floor: float) -> PolicyConfig:
    """The service's policy with an exploration floor on every surface."""
    base = PolicyConfig()
    surfaces = {s: base.surface(s).model_copy(update={"exploration_floor": floor})
                for s in SURFACES}
    for s in surfaces.values():
        SurfacePolicy.model_validate(s.model_dump())  # the floor must suit every surface
    return base.model_copy(update={"surfaces": base.surfaces.model_copy(update=surfaces)})


def arm_policy(arm: str, predictor: LearnedPredictor, floor: float) -> Policy:
    if arm == "logging":
        return LoggingPolicy()
    if arm == "learned":
        return ScoredPolicy(predictor, name="learned")
    if arm == "learned_explore":
        return ScoredPolicy(predictor, config=explore_config(floor), name="learned_explore")
    if arm == "random":
        return RandomPolicy()
    return OraclePolicy()


class BlockRun:
    """Runs one block's arms and collects what the experiment reads."""

    def __init__(self, cfg: ExperimentConfig, facts: WorldFacts, ids: np.ndarray,
                 predictor: LearnedPredictor):
        self.cfg, self.facts, self.ids, self.predictor = cfg, facts, ids, predictor
        self.spec = facts.spec(cfg.days)
        self.start_day, self.end_day = facts.days, facts.days + cfg.days
        self.rows: dict[str, list[pd.DataFrame]] = defaultdict(list)

    def history(self, ids: np.ndarray) -> BlockSimulation:
        """`ids` lived through the world's history under the logging policy, the learned
        policy scoring the same candidates in its shadow for the last `ope_days` days. Those
        days are also lived by the learned policy from the same state (a fork, kept apart):
        the truth of the off-policy estimates' own period."""
        window = max(self.start_day - self.cfg.ope_days, 0)
        shadow = observe.Shadowed(LoggingPolicy(), ScoredPolicy(self.predictor, name="learned"),
                                  from_day=window)
        sim = BlockSimulation(self.spec, ids, shadow)
        sim.live_until(window)
        if "learned" in self.cfg.arms:
            fork = sim.fork(ScoredPolicy(self.predictor, name="learned"))
            since = _recorded(fork)
            fork.live_until(self.start_day)
            self.rows["ope_window"].append(_outcomes(fork, since, window, "learned",
                                                     "ope_window"))

        def record(day, served, answers):
            if shadow.last is not None:
                rows = observe.bandit_rows(day, served, answers, shadow, self.cfg.ope_samples,
                                           self.cfg.seed)
                if rows:
                    self.rows["bandit"].append(_ragged_frame(rows))

        sim.live_until(self.start_day, observe=record)
        return sim

    def arm(self, base: BlockSimulation, arm: str, design: str) -> None:
        """Fork `base` under `arm` and live the experiment's days."""
        policy = arm_policy(arm, self.predictor, self.cfg.exploration_floor)
        learned = arm in ("learned", "learned_explore")
        shadow = observe.Shadowed(policy, LoggingPolicy())  # how its logs evaluate the rules
        sim = base.fork(shadow)
        since = _recorded(sim)

        def record(day, served, answers):
            interval = self.predictor.last["impact"][served.slates.index] if learned else None
            self.rows["adopted"].append(_frame(observe.adopted_rows(day, served, answers,
                                                                    interval), arm, design))
            self.rows["first_slot"].append(_frame(observe.first_slot_rows(
                day, served, answers, shadow), arm, design))

        sim.live_until(self.end_day, observe=record)
        self.rows["outcomes"].append(_outcomes(sim, since, self.start_day, arm, design))

    def run(self) -> dict[str, pd.DataFrame]:
        cfg = self.cfg
        if cfg.design in ("paired", "both"):
            base = self.history(self.ids)
            for arm in cfg.arms:
                self.arm(base, arm, "paired")
        if cfg.design in ("ab", "both"):
            which = assign(cfg.name, self.ids, len(cfg.arms))
            for i, arm in enumerate(cfg.arms):
                ids = self.ids[which == i]
                if len(ids) == 0:
                    continue
                if cfg.design == "ab":
                    base = self.history(ids)
                else:  # the paired run logged the history already
                    base = BlockSimulation(self.spec, ids, LoggingPolicy())
                    base.live_until(self.start_day)
                self.arm(base, arm, "ab")
        return {k: pd.concat(v, ignore_index=True) for k, v in self.rows.items() if v}


def _frame(rows: dict[str, np.ndarray], arm: str, design: str) -> pd.DataFrame:
    f = pd.DataFrame(rows)
    f.insert(0, "design", design)
    f.insert(0, "arm", arm)
    return f


def _ragged_frame(rows: dict[str, np.ndarray]) -> pd.DataFrame:
    """The bandit rows with each row's evaluated distribution and reward model as lists."""
    dist, q, n = rows.pop("dist"), rows.pop("q_hat"), rows.pop("dist_len")
    cuts = np.cumsum(n)[:-1]
    f = pd.DataFrame(rows)
    f["action_dist"] = np.split(dist, cuts)
    f["estimated_rewards"] = np.split(q, cuts)
    return f


def _recorded(sim: BlockSimulation) -> int:
    """Impressions recorded so far."""
    return sum(len(v) for v in sim.recorder.cols["impressions"]["impression_id"])


def _outcomes(sim: BlockSimulation, since: int, first_day: int, arm: str,
              design: str) -> pd.DataFrame:
    """Per advertiser, surface and action type over the experiment's days (the impressions
    recorded after the first `since`): impressions, adoptions, dismissals, snoozes and the true
    incremental conversions and profit of what was adopted (the world's expected effects of
    the adopted actions); one row per advertiser (surface and action type ''): its platform
    spend over the days from `first_day` and its trust (patience with guidance) at the end."""
    rec, adv = sim.recorder, sim.block.adv
    imp = {k: v[since:] for k, v in (rec.rows("impressions") or {}).items()}
    ora = {k: v[since:] for k, v in (rec.rows("impression_oracle") or {}).items()}
    outcome = imp.get("outcome", np.zeros(0, object))
    adopted = outcome == "adopted"
    f = pd.DataFrame({
        "advertiser_id": imp.get("advertiser_id", np.zeros(0, np.int64)),
        "surface": imp.get("surface", np.zeros(0, object)),
        "action_type": imp.get("action_type", np.zeros(0, object)),
        "impressions": np.ones(len(outcome), np.int64), "adoptions": adopted.astype(np.int64),
        "dismissals": (outcome == "dismissed").astype(np.int64),
        "snoozes": (outcome == "snoozed").astype(np.int64),
        "conversions": np.where(adopted, ora.get("expected_conversions_delta", 0.0), 0.0),
        "profit": np.where(adopted, ora.get("expected_profit_delta", 0.0), 0.0),
    })
    per = f.groupby(["advertiser_id", "surface", "action_type"], as_index=False).sum()
    perf = rec.rows("daily_performance")
    day = (np.asarray(perf["date"]).astype("datetime64[D]")
           - np.datetime64(sim.spec.start, "D")).astype(np.int64)
    live = day >= first_day
    spend = pd.Series(np.asarray(perf["spend"], float)[live]).groupby(
        np.asarray(perf["advertiser_id"])[live]).sum()
    acct = pd.DataFrame({"advertiser_id": adv.advertiser_id, "surface": "", "action_type": "",
                         "spend": spend.reindex(adv.advertiser_id, fill_value=0.0).to_numpy(),
                         "trust": adv.patience.astype(float)})
    out = pd.concat([per, acct], ignore_index=True)
    for c in ("impressions", "adoptions", "dismissals", "snoozes"):
        out[c] = out[c].fillna(0).astype(np.int64)
    for c in ("conversions", "profit", "spend"):
        out[c] = out[c].fillna(0.0)
    vertical = dict(zip(adv.advertiser_id, np.asarray(VERTICALS, dtype=object)[adv.vertical]))
    tier = dict(zip(adv.advertiser_id, np.asarray(TIERS, dtype=object)[adv.tier]))
    out.insert(1, "vertical", out.advertiser_id.map(vertical))
    out.insert(2, "size_tier", out.advertiser_id.map(tier))
    out.insert(0, "design", design)
    out.insert(0, "arm", arm)
    return out
