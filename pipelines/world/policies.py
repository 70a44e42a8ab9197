"""Policies the world loop can run: the logging policy (rules + exploration), random, and one
that follows the oracle. A later issue plugs the learned policy in through the same protocol.

A policy scores candidates; the loop turns scores into slates by Plackett–Luce sampling at the
policy's temperature and logs the exact propensities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from pipelines.world.candidates import Candidates
from pipelines.world.rules import rule_scores
from pipelines.world.state import CampaignState


@dataclass(frozen=True)
class PolicyView:
    """What a policy may look at. `observed` holds the candidate rows' campaign state as the
    platform sees it; `truth` computes the oracle's view and is for the oracle policy only."""

    candidates: Candidates
    observed: CampaignState
    surface: np.ndarray  # surface index of each candidate's session
    day: int
    truth: Callable[[], dict[str, np.ndarray]]


class Policy(Protocol):
    name: str
    temperature: float

    def scores(self, view: PolicyView) -> np.ndarray: ...


@dataclass(frozen=True)
class LoggingPolicy:
    """Today's rule engine, explored by Plackett–Luce sampling over its rule scores."""

    temperature: float = 0.8
    name: str = "logging_rules_v1"

    def scores(self, view: PolicyView) -> np.ndarray:
        return rule_scores(view.observed, view.candidates.action, view.candidates.param)


@dataclass(frozen=True)
class RandomPolicy:
    """Uniformly random slates among the eligible items."""

    temperature: float = 1.0
    name: str = "random"

    def scores(self, view: PolicyView) -> np.ndarray:
        return np.zeros(len(view.candidates))


@dataclass(frozen=True)
class OraclePolicy:
    """Greedy on the true expected value of showing an item first: P(adopt) × profit, plus a
    small weight on adoption itself so ties among zero-profit items go to what gets adopted."""

    temperature: float = 0.0
    name: str = "oracle"

    def scores(self, view: PolicyView) -> np.ndarray:
        t = view.truth()
        return t["p_adopt"] * (np.maximum(t["delta_profit"], 0.0) + 1.0)
