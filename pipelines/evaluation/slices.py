"""Every metric of a scored version over a set of rows: all of them, and each slice's."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import log_loss

from pipelines.evaluation import metrics as M
from pipelines.evaluation.scoring import SLICE_COLUMNS, Scored
from pipelines.models import retrieval
from pipelines.models.calibration import ece_if_calibrated, expected_calibration_error

# A slice value with fewer test rows gets its row count only: its metrics would be noise.
SLICE_MIN_ROWS = 100


def metrics_over(sc: Scored, test: np.ndarray, impact: np.ndarray, ranked: np.ndarray,
                 index_kind: str) -> dict:
    """Every metric over a subset of rows, given as boolean masks of the test impressions, the
    judged impact rows and the ranked retrieval rows. Comparisons whose scores are missing (no
    oracle, no version currently served) read None."""
    y = sc.test.label_adopted.to_numpy(float)[test]
    y_dis = sc.test.label_dismissed.to_numpy(float)[test]
    p_raw, p_cal = sc.raw["adopt"][test], sc.calibrated["adopt"][test]
    s = {k: v[test] for k, v in sc.scores.items()}
    imp = sc.impact_rows[impact]
    real = imp.realised.to_numpy()

    def covered(lo, hi):
        return float(np.mean((real >= imp[lo]) & (real <= imp[hi]))) if len(imp) else None

    def auc_of(name):
        return M.auc(y, s[name]) if name in s else None

    slate = sc.test.slate_id.to_numpy()[test]
    return {
        "rows": int(test.sum()),
        "ranking": {
            "adoption_auc": M.auc(y, s["ranker"]),
            "adoption_logloss": float(log_loss(y, np.clip(p_cal, 1e-6, 1 - 1e-6), labels=[0, 1]))
            if len(y) else None,
            "dismissal_auc": M.auc(y_dis, sc.raw["dismiss"][test]),
            "popularity_adoption_auc": auc_of("popularity"),
            "gbdt_adoption_auc": auc_of("gbdt"),
            "oracle_adoption_auc": auc_of("oracle"),
            "current_adoption_auc": auc_of("current"),
        },
        "calibration": {
            "ece_before": expected_calibration_error(p_raw, y) if len(y) else None,
            "ece_after": expected_calibration_error(p_cal, y) if len(y) else None,
            # what ece_after would read from sampling noise alone, were the model calibrated
            "ece_if_calibrated": ece_if_calibrated(p_cal) if len(y) else None,
        },
        "impact": {
            "interval_coverage": covered("low", "high"),
            "interval_coverage_before_conformal": covered("raw_low", "raw_high"),
            "rows": int(len(imp)),
            "bias": float(np.mean(imp["median"] - real)) if len(imp) else None,
            "median_abs_error": float(np.median(np.abs(imp["median"] - real))) if len(imp) else None,
        },
        "ordering": {"ndcg_vs_oracle": None if sc.relevance is None else {
            name: M.slate_ndcg(slate, sc.relevance[test], score[test])
            for name, score in sc.orderings.items()}},
        "retrieval": retrieval.summarise(sc.ranked[ranked]),
        "index": {"recall_at_100": float(np.mean(sc.index_recall[test])) if test.any() else None,
                  "kind": index_kind},
    }


def by_slice(sc: Scored, index_kind: str, min_rows: int = SLICE_MIN_ROWS) -> dict:
    """{slice column: {value: metrics}}: every metric per value of each slice column. A value
    with fewer than `min_rows` test rows gets its row count only."""
    out = {}
    for col in SLICE_COLUMNS:
        out[col] = {}
        for value in sorted(sc.test[col].dropna().unique(), key=str):
            test = (sc.test[col] == value).to_numpy()
            if test.sum() < min_rows:
                out[col][str(value)] = {"rows": int(test.sum())}
                continue
            out[col][str(value)] = metrics_over(
                sc, test, (sc.impact_rows[col] == value).to_numpy(),
                (sc.ranked[col] == value).to_numpy(), index_kind)
    return out
