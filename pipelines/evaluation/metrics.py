"""Offline metrics as pure functions of labels, scores and slices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu
from sklearn.metrics import ndcg_score


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC, as the Mann–Whitney U of the positives' scores against the negatives' over
    their number of pairs (ties count half, as in roc_auc_score, at a third of its cost: the
    bootstrap calls it a thousand times); None when only one class is present."""
    y, p = np.asarray(y).astype(bool), np.asarray(p, float)
    if np.isnan(p).any():
        raise ValueError("AUC of scores with NaN")
    positives = int(y.sum())
    if not 0 < positives < len(y):
        return None
    u = mannwhitneyu(p[y], p[~y], method="asymptotic").statistic
    return float(u / (positives * (len(y) - positives)))


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
    left, as for one-item notifications). Slates of one size go to sklearn together, as the
    rows of one matrix: one call per slate cost half of an evaluation's time."""
    slate = np.asarray(slate)
    order = np.argsort(slate, kind="stable")
    rel, score = np.asarray(relevance, float)[order], np.asarray(score, float)[order]
    _, start, size = np.unique(slate[order], return_index=True, return_counts=True)
    total, counted = 0.0, 0
    for k in np.unique(size[size >= 2]):
        rows = start[size == k][:, None] + np.arange(k)
        keep = rel[rows].max(axis=1) > 0
        if keep.any():
            total += ndcg_score(rel[rows][keep], score[rows][keep]) * keep.sum()
            counted += int(keep.sum())
    return float(total / counted) if counted else None


def smoothed_rate(hits: pd.Series, shows: pd.Series, prior: float, strength: float = 20.0
                  ) -> pd.Series:
    """(hits + strength · prior) / (shows + strength): a rate that trusts large counts."""
    return (hits + strength * prior) / (shows + strength)
