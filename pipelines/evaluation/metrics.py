"""Offline metrics as pure functions of labels, scores and slices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import ndcg_score, roc_auc_score


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC; None when only one class is present."""
    y = np.asarray(y)
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def auc_difference(y: np.ndarray, a: np.ndarray, b: np.ndarray, groups: np.ndarray,
                   resamples: int = 500, seed: int = 0) -> dict[str, float] | None:
    """AUC(a) − AUC(b) on the same rows, with a 95 % interval from a paired bootstrap that
    resamples whole groups (advertisers: one advertiser's rows are not independent draws).
    None when only one class is present, in the rows or in every resample."""
    y, a, b = np.asarray(y), np.asarray(a), np.asarray(b)
    point_a, point_b = auc(y, a), auc(y, b)
    if point_a is None or point_b is None:
        return None
    codes, uniques = pd.factorize(np.asarray(groups))
    rows_of = np.split(np.argsort(codes, kind="stable"),
                       np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1])
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        rows = np.concatenate([rows_of[g] for g in rng.integers(0, len(uniques), len(uniques))])
        da, db = auc(y[rows], a[rows]), auc(y[rows], b[rows])
        if da is not None and db is not None:
            diffs.append(da - db)
    if not diffs:
        return None
    low, high = np.quantile(diffs, [0.025, 0.975])
    return {"difference": point_a - point_b, "ci95_low": float(low), "ci95_high": float(high)}


def slate_ndcg(slate: np.ndarray, relevance: np.ndarray, score: np.ndarray) -> float | None:
    """Mean NDCG of ordering each slate's items by `score` against their true `relevance`
    (slates with fewer than two items or no relevant item are skipped; None when none is
    left, as for one-item notifications)."""
    df = pd.DataFrame({"slate": slate, "rel": relevance, "score": score})
    values = []
    for _, g in df.groupby("slate"):
        if len(g) < 2 or g.rel.max() <= 0:
            continue
        values.append(ndcg_score(g.rel.to_numpy()[None, :], g.score.to_numpy()[None, :]))
    return float(np.mean(values)) if values else None


def smoothed_rate(hits: pd.Series, shows: pd.Series, prior: float, strength: float = 20.0
                  ) -> pd.Series:
    """(hits + strength · prior) / (shows + strength): a rate that trusts large counts."""
    return (hits + strength * prior) / (shows + strength)
