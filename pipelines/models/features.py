"""Model inputs from snapshot examples: the same encoding for training, evaluation and serving.

Numeric signals are squashed with sign(x)·log(1 + |x|) (spend and counts span six orders of
magnitude), standardised with train-split statistics, and missing values become 0 with a
missing flag. Categorical signals and item facts become vocabulary indices (0 = unknown).
Position is kept apart: it feeds only the ranker's position tower, which serving sets to
position 1 of the request's surface.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow.dataset as pads

import pipelines.context.signals  # noqa: F401  (registers every signal)
from pipelines.candidates import features as candidates
from pipelines.context.registry import SIGNALS_BY_NAME
from pipelines.domain.vocabulary import SURFACE_INDEX, SURFACES

# The candidate's own columns beside the context signals (pipelines.candidates.features).
EXTRA_NUMERIC, EXTRA_CATEGORICAL = candidates.NUMERIC, candidates.CATEGORICAL
MAX_POSITION = 5


@dataclass(frozen=True)
class FeatureSpec:
    numeric: list[str]
    mean: list[float]
    std: list[float]
    with_missing_flag: list[str]
    categorical: list[str]
    vocab: dict[str, list[str]]

    @property
    def n_numeric(self) -> int:
        return len(self.numeric) + len(self.with_missing_flag)

    @property
    def cardinalities(self) -> list[int]:
        return [len(self.vocab[c]) + 1 for c in self.categorical]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "FeatureSpec":
        return cls(**json.loads(text))


def numeric_columns() -> list[str]:
    return [s.name for s in SIGNALS_BY_NAME.values() if s.kind != "category"] + list(EXTRA_NUMERIC)


def categorical_columns() -> list[str]:
    return [s.name for s in SIGNALS_BY_NAME.values() if s.kind == "category"] + list(EXTRA_CATEGORICAL)


def context_columns() -> tuple[list[str], list[str]]:
    """(numeric, categorical) columns that describe the context alone, not the candidate:
    the inputs of the two-tower model's context tower."""
    return ([s.name for s in SIGNALS_BY_NAME.values() if s.kind != "category"],
            [s.name for s in SIGNALS_BY_NAME.values() if s.kind == "category"] + ["surface"])


def fit(train: pads.Dataset, min_count: int = 5, numeric: list[str] | None = None,
        categorical: list[str] | None = None) -> FeatureSpec:
    """Statistics and vocabularies of the train split (one DuckDB pass per kind), for the given
    columns (default: every ranker input)."""
    con = duckdb.connect()
    con.register("train", train)
    nums = numeric if numeric is not None else numeric_columns()
    cats = categorical if categorical is not None else categorical_columns()
    exprs = []
    for c in nums:
        x = f"CAST({c} AS DOUBLE)"
        t = f"sign({x}) * ln(1 + abs({x}))"
        exprs += [f"avg({t})", f"stddev_pop({t})", f"avg(({c} IS NULL)::INT)"]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM train").fetchall()[0]
    mean, std, missing = row[0::3], row[1::3], row[2::3]
    vocab = {}
    for c in cats:
        values = con.execute(f"SELECT {c} FROM train WHERE {c} IS NOT NULL GROUP BY 1 "
                             f"HAVING count(*) >= {min_count} ORDER BY 1").fetchall()
        vocab[c] = [str(v[0]) for v in values]
    return FeatureSpec(
        numeric=nums,
        mean=[float(m or 0.0) for m in mean],
        std=[float(s) if s and s > 1e-9 else 1.0 for s in std],
        with_missing_flag=[c for c, m in zip(nums, missing) if m and m > 0],
        categorical=list(cats),
        vocab=vocab,
    )


def _squash(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """sign(x)·log(1 + |x|), standardised; NaN stays NaN (missing)."""
    return (np.sign(x) * np.log1p(np.abs(x)) - mean) / std


def _codes(values, lookup: dict[str, int]) -> list[int]:
    """Vocabulary indices of categorical values (0: unknown or missing)."""
    return [lookup.get(str(v), 0) if v is not None else 0 for v in values]


def encode(df: pd.DataFrame, spec: FeatureSpec, serving: bool = False) -> dict[str, np.ndarray]:
    """{"numeric": float32 [n, F], "categorical": int64 [n, C], "position": int64 [n],
    "surface": int64 [n]}. With `serving`, every row sits at position 1."""
    cols = []
    for c, m, s in zip(spec.numeric, spec.mean, spec.std):
        x = pd.to_numeric(df[c], errors="coerce").astype(float).to_numpy()
        cols.append(_squash(x, m, s))
    num = np.stack(cols, axis=1) if cols else np.zeros((len(df), 0))
    index = {c: i for i, c in enumerate(spec.numeric)}
    flags = np.stack([np.isnan(num[:, index[c]]) for c in spec.with_missing_flag], axis=1) \
        if spec.with_missing_flag else np.zeros((len(df), 0), dtype=bool)
    num = np.concatenate([np.nan_to_num(num, nan=0.0), flags.astype(float)], axis=1)
    cats = []
    for c in spec.categorical:
        lookup = {v: i + 1 for i, v in enumerate(spec.vocab[c])}
        cats.append(np.array(_codes(df[c], lookup), np.int64))
    cat = np.stack(cats, axis=1) if cats else np.zeros((len(df), 0), dtype=np.int64)
    position = np.ones(len(df), np.int64) if serving else np.clip(
        df["position"].to_numpy(np.int64), 1, MAX_POSITION)
    surface = df["surface"].map(SURFACE_INDEX).to_numpy(np.int64)
    return {"numeric": np.clip(num, -8, 8).astype(np.float32), "categorical": cat,
            "position": position - 1, "surface": surface}


def targets(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Labels: adopted, dismissed (0/1) and the measured conversions change (NaN: unmeasured)."""
    return {"adopted": df["label_adopted"].to_numpy(np.float32),
            "dismissed": df["label_dismissed"].to_numpy(np.float32),
            "impact": pd.to_numeric(df["impact_conversions"]).to_numpy(np.float32)}


class SplitEncoder:
    """`encode` in two steps for serving: the context columns of every campaign once, when a
    model is loaded, and the few candidate columns per request. Gives the same numbers as
    `encode(..., serving=True)` on the joined rows."""

    def __init__(self, spec: FeatureSpec, candidate_columns: tuple[str, ...] = EXTRA_NUMERIC
                 + EXTRA_CATEGORICAL):
        self.spec = spec
        num_at = {c: i for i, c in enumerate(spec.numeric)}
        flag_at = {c: len(spec.numeric) + i for i, c in enumerate(spec.with_missing_flag)}
        self.numeric = [(c, num_at[c], flag_at.get(c), spec.mean[num_at[c]], spec.std[num_at[c]])
                        for c in candidate_columns if c in num_at]
        self.categorical = [(c, spec.categorical.index(c),
                             {v: i + 1 for i, v in enumerate(spec.vocab[c])})
                            for c in candidate_columns if c in spec.categorical]

    def context(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(numeric, categorical) of context rows; candidate columns are filled per request."""
        df = df.copy()
        for c, *_ in self.numeric:
            df[c] = np.nan
        for c, *_ in self.categorical:
            df[c] = None
        # encode needs a valid surface; `rows` replaces it with each candidate's
        df["surface"] = SURFACES[0]
        enc = encode(df, self.spec, serving=True)
        return enc["numeric"], enc["categorical"]

    def rows(self, context_numeric: np.ndarray, context_categorical: np.ndarray,
             context_row: np.ndarray, candidates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Model inputs for candidates on context rows `context_row`; `candidates` maps each
        candidate column to an array (numbers, or strings for categorical columns)."""
        num = context_numeric[context_row].copy()
        cat = context_categorical[context_row].copy()
        for c, j, flag, m, s in self.numeric:
            v = _squash(np.asarray(candidates[c], dtype=float), m, s)
            missing = np.isnan(v)
            num[:, j] = np.clip(np.where(missing, 0.0, v), -8, 8)
            if flag is not None:
                num[:, flag] = missing
        for c, j, lookup in self.categorical:
            cat[:, j] = _codes(candidates[c], lookup)
        return {"numeric": num, "categorical": cat,
                "position": np.zeros(len(num), np.int64),
                "surface": np.array([SURFACE_INDEX[s] for s in candidates["surface"]], np.int64)}
