"""One kind of drift judged by Evidently: a report of per-column drift tests and the share of
drifted columns, whose own test results decide. The reading of Evidently's output lives here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import DriftedColumnsCount, ValueDrift
from evidently.tests import lt

from monitoring.drift.config import KindConfig, severity

MIN_VALUES = 30  # a column with fewer non-missing values on either side is not judged
# A numeric column with this many distinct reference values or fewer (flags, day counts, a
# budget step) is compared as categories: a distance normed by the reference's spread is
# meaningless when nearly every reference value is the same (Evidently norms by max(std, 0.001)).
DISCRETE_VALUES = 12


@dataclass
class KindResult:
    """The verdict on one kind of column."""

    kind: str
    status: str  # "drift", "ok", "insufficient" (too little data) or "skipped" (nothing to judge)
    gate: bool
    rows: dict[str, int]  # rows handed to Evidently: reference, current
    share: float | None = None  # share of judged columns that drifted
    drift_share: float = 0.0  # the share that makes the dataset drifted
    drifted: list[str] = field(default_factory=list)  # most drifted first
    # column -> score, method, threshold, drifted, severity (1 at the threshold, config.severity)
    columns: dict[str, dict] = field(default_factory=dict)
    not_judged: list[str] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def is_numeric(s: pd.Series) -> bool:
    """Whether a reference column is compared as numbers (continuous, not a few values)."""
    return (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
            and s.nunique() > DISCRETE_VALUES)


def judged_columns(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(judged, not judged): a column is judged when both sides hold at least MIN_VALUES
    non-missing values."""
    judged, skipped = [], []
    for c in ref.columns:
        r, k = ref[c].dropna(), cur[c].dropna()
        enough = len(r) >= MIN_VALUES and len(k) >= MIN_VALUES
        (judged if enough else skipped).append(c)
    return judged, skipped


def compare(kind: str, ref: pd.DataFrame, cur: pd.DataFrame, cfg: KindConfig,
            per_column: bool = True) -> tuple[KindResult, object | None]:
    """Judge `cur` against `ref` (same columns); returns the result and Evidently's snapshot
    (None when nothing could be judged). Without `per_column` only the dataset is judged (its
    drifted share), about ten times faster: Evidently draws each column's plots as it computes
    its per-column metrics, and the drawing is most of the cost."""
    result = KindResult(kind, "skipped", cfg.gate, {"reference": len(ref), "current": len(cur)},
                        drift_share=cfg.drift_share)
    judged, result.not_judged = judged_columns(ref, cur)
    if not judged:
        result.note = f"no column has {MIN_VALUES} values on both sides"
        return result, None
    numeric = [c for c in judged if is_numeric(ref[c])]
    categorical = [c for c in judged if c not in numeric]
    ref, cur = _typed(ref[judged], categorical), _typed(cur[judged], categorical)
    tests = {c: cfg.numeric if c in numeric else cfg.categorical for c in judged}
    metrics = [DriftedColumnsCount(
        columns=judged, num_method=cfg.numeric.method, num_threshold=cfg.numeric.threshold,
        cat_method=cfg.categorical.method, cat_threshold=cfg.categorical.threshold,
        drift_share=cfg.drift_share, share_tests=[lt(cfg.drift_share)])]
    if per_column:
        metrics += [ValueDrift(column=c, method=t.method, threshold=t.threshold)
                    for c, t in tests.items()]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report(metrics, include_tests=True).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition))
    _read(snapshot.dict(), tests, result)
    return result, snapshot


def _typed(df: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categorical columns as strings (None stays missing), so Evidently sees one type."""
    df = df.copy()
    for c in categorical:
        df[c] = df[c].map(lambda v: None if v is None or v != v else str(v)).astype(object)
    return df


def _read(report: dict, tests: dict, result: KindResult) -> None:
    """Fill `result` from Evidently's report dict: its metrics give the scores and the share,
    its tests decide each column and the dataset."""
    share_metric = next(m for m in report["metrics"] if m["metric_name"].startswith(
        "DriftedColumnsCount"))
    result.share = float(share_metric["value"]["share"])
    scores = {m["config"]["column"]: float(m["value"]) for m in report["metrics"]
              if m["metric_name"].startswith("ValueDrift")}
    dataset_failed = False
    failed = set()
    for t in report["tests"]:
        status = str(getattr(t["status"], "value", t["status"]))
        params = t["metric_config"]["params"]
        if params.get("type", "").endswith("DriftedColumnsCount"):
            dataset_failed = status == "FAIL"
        elif status == "FAIL":
            failed.add(params["column"])
    for c, test in tests.items():
        score = _finite(scores.get(c))
        result.columns[c] = {"score": score, "method": test.method, "threshold": test.threshold,
                             "drifted": c in failed, "severity": None if score is None
                             else severity(test.method, score, test.threshold)}
    result.drifted = sorted(failed, key=lambda c: -(result.columns[c]["severity"] or 0))
    result.status = "drift" if dataset_failed else "ok"


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)
