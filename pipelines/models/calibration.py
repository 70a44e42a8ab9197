"""Calibration of predicted probabilities (isotonic, fitted on held-out data) and its measure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression


@dataclass(frozen=True)
class Isotonic:
    """A monotone map from raw to calibrated probability, stored as its breakpoints."""

    x: list[float]
    y: list[float]

    @classmethod
    def fit(cls, p: np.ndarray, y: np.ndarray) -> "Isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return cls(iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist())

    def __call__(self, p: np.ndarray) -> np.ndarray:
        return np.interp(p, self.x, self.y)


def _bin(p: np.ndarray, bins: int) -> np.ndarray:
    """Each probability's equal-width bin, 0 to bins − 1."""
    return np.clip(np.digitize(p, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Σ_bins (n_bin / n) · |mean prediction − observed rate|, over equal-width bins."""
    which = _bin(p, bins)
    err = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            err += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(err)


def ece_if_calibrated(p: np.ndarray, bins: int = 15, draws: int = 200, seed: int = 0
                      ) -> dict[str, float]:
    """The ECE that sampling noise alone gives these predictions: labels drawn from `p` itself
    (a perfectly calibrated model on this many rows), over `draws` draws, its mean and 95th
    percentile. A measured ECE below the 95th percentile is no evidence of miscalibration;
    on a few hundred rows that floor alone can exceed 0.02."""
    p = np.asarray(p, float)
    if len(p) == 0:
        return {"mean": float("nan"), "p95": float("nan")}
    which = _bin(p, bins)
    predicted = np.bincount(which, weights=p, minlength=bins)
    labels = np.random.default_rng(seed).random((draws, len(p))) < p
    observed = np.stack([np.bincount(which, weights=row, minlength=bins) for row in labels])
    ece = np.abs(predicted - observed).sum(axis=1) / len(p)
    return {"mean": float(ece.mean()), "p95": float(np.quantile(ece, 0.95))}


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 15) -> list[dict]:
    """Per bin: mean prediction, observed rate and count (for the reliability diagram)."""
    which = _bin(p, bins)
    return [{"predicted": float(p[which == b].mean()), "observed": float(y[which == b].mean()),
             "count": int((which == b).sum())} for b in range(bins) if (which == b).any()]


def _squash(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def conformal_margin(quantiles: np.ndarray, realised: np.ndarray, coverage: float = 0.8) -> float:
    """Split-conformal widening of the 10-90 % interval (conformalised quantile regression): the
    margin, in squashed units, that makes `coverage` of held-out outcomes fall inside."""
    if len(realised) == 0:
        return 0.0
    q, y = _squash(quantiles), _squash(realised)
    scores = np.maximum(q[:, 0] - y, y - q[:, 2])
    level = min(1.0, np.ceil((len(y) + 1) * coverage) / len(y))
    return float(np.quantile(scores, level))


def widen(quantiles: np.ndarray, margin: float) -> np.ndarray:
    """The interval ends moved out by `margin` squashed units (the median stays)."""
    q = _squash(quantiles)
    q[:, 0] -= margin
    q[:, 2] += margin
    return np.sign(q) * np.expm1(np.abs(q))
