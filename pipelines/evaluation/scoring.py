"""Row-level scores of a registered version on its snapshot's splits: the ranker, its baselines,
the version currently served, and the oracle where the root has truth tables. The metrics are
computed from these rows (slices.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow.dataset as pads

from pipelines.evaluation import baselines, truth
from pipelines.index import ann
from pipelines.models import retrieval, train
from pipelines.models.artifacts import LoadedRanker, load_two_tower
from pipelines.models.calibration import widen
from pipelines.models.job import impact_halves, read_split
from pipelines.storage.root import Root

# the columns rows are sliced by, in the test split, the impact rows and the retrieval ranks
SLICE_COLUMNS = ("vertical", "size_tier", "surface", "action_type")


@dataclass
class Scored:
    """Every row-level score the metrics are computed from: test impressions, the later half of
    the validation split's measured adoptions (impact), the test split's adopted entity items
    ranked by retrieval, and each test context's index recall."""

    test: pd.DataFrame
    raw: dict[str, np.ndarray]  # the ranker's outputs with position, before calibration
    calibrated: dict[str, np.ndarray]  # P(adopt), P(dismiss) after isotonic calibration
    scores: dict[str, np.ndarray]  # adoption scores: ranker, gbdt, popularity[, oracle, current]
    # the oracle's worth of each test item, true P(adopt if shown first) × expected conversion
    # gain; None without truth tables
    relevance: np.ndarray | None
    orderings: dict[str, np.ndarray]  # slate orderings: ranker, logging_rules, popularity
    impact_rows: pd.DataFrame  # realised, raw and widened 10/50/90 % per judged adoption
    ranked: pd.DataFrame  # test entity adoptions with each retrieval scorer's rank
    index_recall: np.ndarray  # recall@100 against exact search, per test impression
    gbdt_by_seed: list[np.ndarray]  # LightGBM's test P(adopt), one model per seed
    rows: dict[str, int]  # rows of each split


def score(root: Root, meta: dict, files: dict[str, bytes], current: LoadedRanker | None = None,
          step: Callable[[str], None] = lambda stage: None) -> Scored:
    """Score the version (`meta`, `files`) on its snapshot's test split beside its baselines;
    `current`, if given, is the served version's ranker, scored on the same rows. `step` is told
    each stage as it starts (progress)."""
    step("reading the splits")
    ranker = LoadedRanker(files)
    snapshot = meta["snapshot"]
    train_df, val, test = (read_split(root, snapshot, s) for s in ("train", "validation", "test"))
    step("scoring the ranker")
    pred = train.predict(ranker.model, test, ranker.spec)
    serve = train.predict(ranker.model, test, ranker.spec, at_top=True)
    popularity = baselines.popularity(train_df, test)
    scores = {"ranker": pred["adopt"], "popularity": popularity}
    oracle = truth.impression_truth(root, test.impression_id.to_numpy())
    relevance = None
    if oracle is not None:
        scores["oracle"] = oracle.p_adopt.to_numpy()
        # the oracle orders by what each item is worth, not by where the logging policy put it
        relevance = (oracle.p_adopt_if_shown_first.to_numpy()
                     * np.maximum(oracle.expected_conversions_delta.to_numpy(), 0))

    # Impact is measured 14 days after an adoption takes effect, so the last days of the history
    # (the test split) have none yet: the interval is judged on the later half of the validation
    # split's measured adoptions (the earlier half set its conformal margin).
    step("judging impact intervals")
    _, measured = impact_halves(val)
    raw_q = train.predict(ranker.model, val[measured], ranker.spec)["impact"]
    q = widen(raw_q, ranker.impact_margin)
    impact_rows = val.loc[measured, list(SLICE_COLUMNS)].assign(
        realised=val.impact_conversions.to_numpy(float)[measured], raw_low=raw_q[:, 0],
        raw_high=raw_q[:, 2], low=q[:, 0], median=q[:, 1], high=q[:, 2])

    step("ranking retrieval candidates")
    catalog = pads.dataset(root.join("raw", "catalog"), filesystem=root.fs,
                           format="parquet").to_table().to_pandas()
    tower, ctx_spec, items = load_two_tower(files, catalog)
    npz = np.load(io.BytesIO(files["items.npz"]))
    info = meta["index"]
    index = ann.from_bytes(files["index.faiss"], npz["item_id"], info["kind"], info["nprobe"],
                           info["recall_at_100"])
    queries = retrieval.context_embeddings(tower, test, ctx_spec)
    ranked = retrieval.ranks(tower, ctx_spec, items, train_df, test)
    index_recall = ann.query_recall(index, npz["embedding"], queries)

    gbdt = baselines.gbdt(train_df, val, test, ranker.spec, on_seed=lambda seed: step(
        f"LightGBM seed {seed + 1} of {baselines.GBDT_SEEDS}"))
    scores["gbdt"] = gbdt[0]
    if current is not None:
        step("scoring the version currently served")
        scores["current"] = train.predict(current.model, test, current.spec)["adopt"]
    return Scored(
        test=test, raw=pred,
        calibrated={k: ranker.calibrators[k](pred[k]) for k in ("adopt", "dismiss")},
        scores=scores, relevance=relevance,
        orderings={"ranker": serve["adopt"] * np.maximum(serve["impact"][:, 1], 0),
                   "logging_rules": test.policy_score.to_numpy(), "popularity": popularity},
        impact_rows=impact_rows, ranked=ranked, index_recall=index_recall, gbdt_by_seed=gbdt,
        rows={"train": len(train_df), "validation": len(val), "test": len(test),
              "validation_measured_impact_judged": int(measured.sum())})
