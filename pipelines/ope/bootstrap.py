"""The cluster bootstrap: resample whole clusters (advertisers, or rounds) with replacement and
recompute an estimate from the resample's column totals.

Resampling clusters rather than rows keeps the dependence within a cluster (one advertiser's
rounds share the advertiser), which a row bootstrap would ignore and so give intervals too
narrow. Each resample's totals are Σ_c m_c S_c, with S_c a cluster's column sums and m_c how
many times it was drawn: a matrix product, done in chunks to bound memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK_CELLS = 4_000_000  # resamples × clusters drawn at once (32 MB of int64 draws)


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval and the bootstrap standard deviation."""

    low: float
    high: float
    std: float


def cluster_sums(columns: np.ndarray, unit: np.ndarray, n_units: int) -> np.ndarray:
    """[n_units, m]: the column sums of each unit's rows (`unit`: codes in [0, n_units))."""
    return np.column_stack([np.bincount(unit, weights=columns[:, j], minlength=n_units)
                            for j in range(columns.shape[1])])


def resample_totals(sums: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """[n_resamples, m]: column totals of `n_resamples` draws of len(sums) units with
    replacement. The same seed and number of units give the same draws, so estimates
    bootstrapped separately share their resamples."""
    n_units = len(sums)
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // max(n_units, 1))
    out = np.empty((n_resamples, sums.shape[1]))
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        draws = rng.integers(0, n_units, size=(b, n_units))
        draws += (n_units * np.arange(b))[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * n_units).reshape(b, n_units)
        out[start:start + b] = counts @ sums
    return out


def percentile_interval(values: np.ndarray, alpha: float = 0.05) -> Interval:
    """The (alpha/2, 1 − alpha/2) quantiles of the bootstrap values and their std."""
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return Interval(float("nan"), float("nan"), float("nan"))
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high), float(values.std(ddof=1)))
