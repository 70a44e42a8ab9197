"""The typed configuration of `guidance monitor drift`: which window of the service's log, against
which model's training reference, and the statistical tests that decide drift per kind of column."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.storage.root import default_root

# Evidently's registered statistical tests, by the kind of column they take
NUMERIC_METHODS = ("wasserstein", "ks", "psi", "kl_div", "jensenshannon", "hellinger", "ed",
                   "es", "t_test", "mannw", "anderson", "cramer_von_mises", "empirical_mmd")
CATEGORICAL_METHODS = ("jensenshannon", "psi", "kl_div", "hellinger", "chisquare", "z", "TVD",
                       "g_test", "fisher_exact")
# tests whose score is a p-value (a column drifts when it is below the threshold); the others
# score a distance (a column drifts when it reaches the threshold)
P_VALUE_METHODS = ("ks", "t_test", "mannw", "anderson", "cramer_von_mises", "chisquare", "z",
                   "g_test", "fisher_exact", "empirical_mmd")
KINDS = ("features", "predictions", "outcomes", "shown")
_DURATION = re.compile(r"^(\d+)\s*([dh])$")


class ColumnTest(BaseModel):
    """One Evidently statistical test and its threshold: for distance measures (wasserstein,
    jensenshannon, psi, ...) a column drifts when the distance is at least the threshold; for
    hypothesis tests (ks, chisquare, ...) when the p-value is below it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    threshold: float = Field(gt=0)


class KindConfig(BaseModel):
    """The tests of one kind of column, and the share of its drifted columns that makes the
    dataset of that kind drifted (Evidently's DriftedColumnsCount share test)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numeric: ColumnTest = ColumnTest(method="wasserstein", threshold=0.1)
    categorical: ColumnTest = ColumnTest(method="jensenshannon", threshold=0.1)
    drift_share: float = Field(0.3, gt=0, le=1, description="Dataset drifted at this share.")
    gate: bool = Field(True, description="Whether this kind's drift fails the job (exit 1).")

    @model_validator(mode="after")
    def _known_methods(self) -> "KindConfig":
        for name, test, known in (("numeric", self.numeric, NUMERIC_METHODS),
                                  ("categorical", self.categorical, CATEGORICAL_METHODS)):
            if test.method not in known:
                raise ValueError(f"{name} method {test.method!r} is not one of "
                                 f"{', '.join(known)}")
        return self


def severity(method: str, score: float, threshold: float) -> float:
    """How far a column's score is past its threshold, comparable across tests: 1 at the
    threshold, above 1 when the column drifted."""
    if method in P_VALUE_METHODS:
        return threshold / max(score, 1e-300)
    return score / threshold


def parse_duration(text: str) -> dt.timedelta:
    """'7d' or '12h' as a timedelta."""
    m = _DURATION.match(text.strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"a window is a positive number of days or hours such as 7d or 12h, "
                         f"got {text!r}")
    n = int(m.group(1))
    return dt.timedelta(days=n) if m.group(2) == "d" else dt.timedelta(hours=n)


class DriftConfig(BaseModel):
    """What `guidance monitor drift` compares, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(default_factory=default_root, description="Root folder or URI.")
    log: str | None = Field(None, description="Feedback log URI (default <root>/logs/feedback.db).")
    window: str | None = Field(None, description="The last N days or hours of the log, e.g. 7d "
                                                 "(ending at its newest row: the service's clock).")
    since: dt.datetime | None = Field(None, description="Window start (UTC), with `until`.")
    until: dt.datetime | None = Field(None, description="Window end (UTC, excluded).")
    baseline_log: str | None = Field(None, description="Compare against this log's rows (the "
                                                       "service's own traffic) instead of the "
                                                       "training reference.")
    baseline_since: dt.datetime | None = Field(None, description="Baseline window start (UTC; "
                                                                 "with baseline_until), in "
                                                                 "baseline_log or the log.")
    baseline_until: dt.datetime | None = Field(None, description="Baseline window end (UTC).")
    model_version: str | None = Field(None, description="Compare the rows this version served "
                                                        "(default: the one that served most).")
    features: KindConfig = KindConfig()
    predictions: KindConfig = KindConfig(drift_share=0.5)
    outcomes: KindConfig = KindConfig(drift_share=0.5)
    shown: KindConfig = KindConfig(drift_share=0.5)
    sample_rows: int = Field(20_000, ge=100, description="Rows per side handed to Evidently; "
                                                          "larger windows are sampled (said so "
                                                          "in the report).")
    min_rows: int = Field(200, ge=1, description="Fewer served rows than this: too little data "
                                                 "to judge (its own outcome, not a pass).")
    outcome_wait_days: int = Field(7, ge=0, le=90, description="Outcomes count only impressions "
                                                               "at least this old at the window's "
                                                               "end (adoption is counted within 7 "
                                                               "days, as in training).")
    seed: int = Field(0, ge=0, description="Seed of the samples.")

    @model_validator(mode="after")
    def _one_window(self) -> "DriftConfig":
        if self.window is not None:
            if self.since is not None or self.until is not None:
                raise ValueError("give either a window (e.g. 7d) or since/until, not both")
            parse_duration(self.window)
        elif (self.since is None) != (self.until is None):
            raise ValueError("since and until go together")
        if (self.baseline_since is None) != (self.baseline_until is None):
            raise ValueError("baseline_since and baseline_until go together")
        for name in ("since", "until", "baseline_since", "baseline_until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=dt.timezone.utc))
        for a, b in (("since", "until"), ("baseline_since", "baseline_until")):
            if getattr(self, a) is not None and getattr(self, a) >= getattr(self, b):
                raise ValueError(f"{a} ({getattr(self, a)}) must come before {b} "
                                 f"({getattr(self, b)})")
        return self

    def kind(self, name: Literal["features", "predictions", "outcomes", "shown"]) -> KindConfig:
        return getattr(self, name)

    def baseline_uri(self) -> str | None:
        """The log holding the baseline, or None to compare against the training reference."""
        if self.baseline_log is None and self.baseline_since is None:
            return None
        return self.baseline_log or self.log_uri()

    def log_uri(self) -> str:
        from pipelines.feedback.log import default_log_uri
        from pipelines.storage.root import Root

        return self.log or default_log_uri(Root(self.root))
