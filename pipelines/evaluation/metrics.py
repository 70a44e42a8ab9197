"""Offline metrics as pure functions of labels, scores and slices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import ndcg_score, roc_auc_score


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC; None when only one class is present."""
    y = np.asarray(y)
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


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
