"""How unusual a signal value is against the population: a rank-based peer reference.

The reference of a signal is a grid of quantiles of its values over every account (or every
campaign, for a campaign-level signal) of a snapshot, as of the snapshot's day. A value's peer
score is its mid-rank share of the population (the share below it plus half the share equal to
it, interpolated between grid points) turned into a normal score, Φ⁻¹(share). Ranks make it robust
to the heavy tails of spend and counts (a $1M account is as unusual as the top percentile, no
more) and to signals that are mostly zero (a value of 0 shared by 95 % of accounts sits at the
47.5th percentile, not at an extreme); the score is bounded by ±Φ⁻¹(1 − 1/(2·points)).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import norm

from pipelines.context.compute import signals
from pipelines.context.registry import Signal
from pipelines.errors import DataError

NUMERIC_KINDS = ("float", "int")


def numeric_signals(level: str) -> list[Signal]:
    """The registered numeric (float or int) signals of `level`, in registry order."""
    return [s for s in signals(level) if s.kind in NUMERIC_KINDS]


def as_float(values) -> np.ndarray:
    """A column of signal values as float64, missing (None, NA, NaN) as NaN."""
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class Reference:
    """Per signal: the distinct values of the population's quantile grid (ascending) and the
    population's mid-rank share at each; `points` is the size of the grid. A signal with fewer
    known values than the builder's `min_peers` has no entry (its peer score is unknown)."""

    values: Mapping[str, np.ndarray]
    shares: Mapping[str, np.ndarray]
    points: int

    def scores(self, signal: str, x) -> tuple[np.ndarray, np.ndarray]:
        """(peer share in (0, 1), normal score) of each value of `signal`; NaN where the value
        is missing or the signal has no reference."""
        x = as_float(x)
        if signal not in self.values:
            nan = np.full(len(x), np.nan)
            return nan, nan.copy()
        share = np.interp(x, self.values[signal], self.shares[signal])
        share = np.where(np.isfinite(x), share, np.nan)
        return share, norm.ppf(share)


def build(advertisers: pd.DataFrame, campaigns: pd.DataFrame, points: int = 201,
          min_peers: int = 20) -> Reference:
    """The reference of every numeric signal found among the columns of `advertisers` (one row
    per account) and `campaigns` (one row per campaign): `points` quantiles of the known values
    (inverted CDF, so each grid point is a value some account has and ties stay exact)."""
    if points < 3:
        raise DataError(f"reference points must be at least 3, got {points}")
    values, shares = {}, {}
    probs = np.linspace(0.0, 1.0, points)
    for level, frame in (("advertiser", advertisers), ("campaign", campaigns)):
        for s in numeric_signals(level):
            if s.name not in frame.columns:
                continue
            x = as_float(frame[s.name])
            x = x[np.isfinite(x)]
            if len(x) < min_peers:
                continue
            grid = np.quantile(x, probs, method="inverted_cdf")
            v, first, count = np.unique(grid, return_index=True, return_counts=True)
            values[s.name], shares[s.name] = v, (first + count / 2) / points
    return Reference(MappingProxyType(values), MappingProxyType(shares), points)


def to_table(ref: Reference) -> pa.Table:
    """The reference as a long table (signal, value, share), to store beside the briefs."""
    names = list(ref.values)
    return pa.table({
        "signal": pa.array([n for n in names for _ in ref.values[n]], pa.string()),
        "value": pa.array(np.concatenate([ref.values[n] for n in names]) if names else [],
                          pa.float64()),
        "share": pa.array(np.concatenate([ref.shares[n] for n in names]) if names else [],
                          pa.float64()),
    }).replace_schema_metadata({"points": str(ref.points)})


def from_table(table: pa.Table) -> Reference:
    """The reference stored by `to_table`."""
    meta = table.schema.metadata or {}
    if b"points" not in meta:
        raise DataError("reference table: schema metadata 'points' is missing")
    df = table.to_pandas()
    values, shares = {}, {}
    for name, rows in df.groupby("signal", sort=False):
        values[name], shares[name] = rows.value.to_numpy(float), rows.share.to_numpy(float)
    return Reference(MappingProxyType(values), MappingProxyType(shares), int(meta[b"points"]))
