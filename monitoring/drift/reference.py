"""The training reference of a model version: a sample of its snapshot's train split, encoded as
the service encodes a request (every row at position 1) and scored by the version itself, so
reference and served rows go through the same code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.dataset as pads

from pipelines.models import artifacts, features
from pipelines.storage.root import Root
from pipelines.storage.snapshots import snapshot_path
from monitoring.drift import frames

_LABELS = ("label_adopted", "label_dismissed", "label_snoozed")


def sample_rows(n: int, rows: int, seed: int) -> np.ndarray:
    """Sorted row indices of a uniform sample of `rows` out of `n` (all of them if n <= rows)."""
    if n <= rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, rows, replace=False))


def load_reference(root: Root, meta: dict, files: dict[str, bytes], rows: int, seed: int
                   ) -> tuple[dict[str, pd.DataFrame], dict]:
    """({kind: frame}, facts) of a registry version's train split (`meta`, `files`: the version
    as `store.load` gives it), sampled down to `rows`."""
    loaded = artifacts.LoadedRanker(files)
    spec = loaded.spec
    dataset = pads.dataset(snapshot_path(root, meta["snapshot"], "examples", "split=train"),
                           filesystem=root.fs, format="parquet")
    columns = list(dict.fromkeys([*spec.numeric, *spec.categorical, "surface", "action_type",
                                  *_LABELS]))
    total = dataset.count_rows()
    df = dataset.take(sample_rows(total, rows, seed), columns=columns).to_pandas()
    enc = features.encode(df, spec, serving=True)
    scored = loaded.predict(enc)
    out = {
        "features": frames.feature_frame(enc["numeric"], enc["categorical"], spec),
        "predictions": pd.DataFrame({"p_adopt": scored["p_adopt"],
                                     "p_dismiss": scored["p_dismiss"],
                                     "impact_expected": scored["impact"][:, 1]}),
        "outcomes": _outcomes(df),
        "shown": frames.shown_frame(df.action_type.to_numpy()),
    }
    return out, {"snapshot": meta["snapshot"], "split": "train", "rows": total,
                 "used": len(df), "spec": spec}


def _outcomes(df: pd.DataFrame) -> pd.DataFrame:
    o = frames.example_outcomes(df)
    return frames.outcome_frame(o.surface.to_numpy(), o.outcome.to_numpy())
