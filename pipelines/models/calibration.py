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


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Σ_bins (n_bin / n) · |mean prediction − observed rate|, over equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    err = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            err += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(err)


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 15) -> list[dict]:
    """Per bin: mean prediction, observed rate and count (for the reliability diagram)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [{"predicted": float(p[which == b].mean()), "observed": float(y[which == b].mean()),
             "count": int((which == b).sum())} for b in range(bins) if (which == b).any()]
