"""Policies the world loop can run: the logging policy (rules + exploration), random, one that
follows the oracle, and one that scores predictions with the service's multi-objective score.

A policy scores candidates and names the PolicyConfig it runs under; the loop applies that
config's business rules (pipelines.policy.eligibility), and turns scores into slates with its
diversity cap and Plackett–Luce exploration (pipelines.policy.plackett_luce), logging the exact
propensities: the same code the service runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from pipelines.domain.actions import ACTION_CATEGORY
from pipelines.domain.vocabulary import CATEGORIES, DISMISS_REASONS, SURFACES
from pipelines.policy import scoring
from pipelines.policy.config import PolicyConfig
from pipelines.world.calibration import SLATE_SIZE
from pipelines.world.candidates import Candidates
from pipelines.world.rules import rule_scores
from pipelines.world.state import CampaignState

DISMISS_COOLDOWN = 30  # the rule engine never re-shows a dismissed item for 30 days
SNOOZE_DAYS = 14


def rule_engine_config(temperature: float) -> PolicyConfig:
    """The business rules of today's rule engine, which logged the world's history: a 30-day
    cool-down after any dismissal, 14-day snoozes, fixed slate sizes with one session per
    surface a day, no diversity cap, no re-show window, and adopted items offered again as long
    as they still apply (the rules drop one-shot actions once done)."""
    return PolicyConfig(
        surfaces={s: {"temperature": temperature, "default_items": n, "max_items": max(n, 2),
                      "daily_cap": n, "max_per_category": 20}
                  for s, n in SLATE_SIZE.items()},
        dismiss_cooldown_days=dict.fromkeys(DISMISS_REASONS, DISMISS_COOLDOWN),
        applied_cooldown_days=0, applied_repeatable_cooldown_days=0,
        default_snooze_days=SNOOZE_DAYS, reshow_after_days=0)


@dataclass(frozen=True)
class PolicyView:
    """What a policy may look at. `observed` holds the candidate rows' campaign state as the
    platform sees it; `truth` computes the oracle's view and is for the oracle policy only;
    `tables` gives the block's raw tables (the data contract's, as pandas frames) as the
    platform knows them at the start of the day, for a policy that computes its features."""

    candidates: Candidates
    observed: CampaignState
    surface: np.ndarray  # surface index of each candidate's session
    day: int
    truth: Callable[[], dict[str, np.ndarray]]
    tables: Callable[[], dict]


class Policy(Protocol):
    name: str
    config: PolicyConfig  # business rules, slate sizes, diversity and temperature per surface

    def scores(self, view: PolicyView) -> np.ndarray: ...


@dataclass(frozen=True)
class LoggingPolicy:
    """Today's rule engine, explored by Plackett–Luce sampling over its rule scores."""

    config: PolicyConfig = rule_engine_config(temperature=0.8)
    name: str = "logging_rules_v1"

    def scores(self, view: PolicyView) -> np.ndarray:
        return rule_scores(view.observed, view.candidates.action, view.candidates.param)


@dataclass(frozen=True)
class RandomPolicy:
    """Uniformly random slates among the eligible items."""

    config: PolicyConfig = rule_engine_config(temperature=1.0)
    name: str = "random"

    def scores(self, view: PolicyView) -> np.ndarray:
        return np.zeros(len(view.candidates))


@dataclass(frozen=True)
class OraclePolicy:
    """Greedy on the true expected value of showing an item first: P(adopt) × profit, plus a
    small weight on adoption itself so ties among zero-profit items go to what gets adopted."""

    config: PolicyConfig = rule_engine_config(temperature=0.0)
    name: str = "oracle"

    def scores(self, view: PolicyView) -> np.ndarray:
        t = view.truth()
        return t["p_adopt"] * (np.maximum(t["delta_profit"], 0.0) + 1.0)


Predictor = Callable[[PolicyView], dict[str, np.ndarray]]


def true_predictions(view: PolicyView) -> dict[str, np.ndarray]:
    """The world's own probabilities and expected impact: a ranker that makes no error."""
    t = view.truth()
    return {"p_adopt": t["p_adopt"], "p_dismiss": t["p_dismiss"],
            "impact": t["delta_conversions"]}


@dataclass(frozen=True)
class ScoredPolicy:
    """The service's policy: `predict` gives P(adopt), P(dismiss) and the expected impact if
    adopted (conversions over the 14-day horizon, the service's unit) for every candidate, and
    scoring.score weighs them per surface, each impact relative to its session's typical
    candidate as the service does per request."""

    predict: Predictor
    config: PolicyConfig = PolicyConfig()
    name: str = "scored"

    def scores(self, view: PolicyView) -> np.ndarray:
        p = self.predict(view)
        session = view.candidates.session
        scale = scoring.impact_scale(p["impact"], session)
        category = np.asarray(CATEGORIES)[ACTION_CATEGORY[view.candidates.action]]
        out = np.empty(len(session))
        for i, surface in enumerate(SURFACES):
            m = view.surface == i
            out[m] = scoring.score(p["p_adopt"][m], p["p_dismiss"][m], p["impact"][m],
                                   scale[m], category[m], surface, self.config)
        return out
