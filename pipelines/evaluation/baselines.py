"""The baselines the ranker is judged against, fitted on the same splits: popularity (each item's
smoothed adoption rate in the train split) and LightGBM on the ranker's own encoded features."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from pipelines.evaluation import metrics as M
from pipelines.models import features

# LightGBM refitted with this many seeds: the headline baseline is seed 0's, the others show how
# far a seed alone moves it (on the small world, about as far as the ranker is from it).
GBDT_SEEDS = 5


def popularity(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Each test row's P(adopt) as its item's adoption rate in `train`, shrunk towards its action
    type's rate (and that towards the overall rate) where the item was rarely shown."""
    prior = train.label_adopted.mean()
    by_type = train.groupby("action_type").label_adopted.agg(["sum", "count"])
    type_rate = M.smoothed_rate(by_type["sum"], by_type["count"], prior)
    by_item = train.groupby("item_id").label_adopted.agg(["sum", "count"])
    item_prior = test.action_type.map(type_rate).fillna(prior)
    hits = test.item_id.map(by_item["sum"]).fillna(0)
    shows = test.item_id.map(by_item["count"]).fillna(0)
    return M.smoothed_rate(hits, shows, item_prior).to_numpy()


def _lgb_matrix(df: pd.DataFrame, spec: features.FeatureSpec) -> pd.DataFrame:
    enc = features.encode(df, spec)
    cols = {f"n{i}": enc["numeric"][:, i] for i in range(enc["numeric"].shape[1])}
    cols.update({f"c{i}": pd.Categorical(enc["categorical"][:, i])
                 for i in range(enc["categorical"].shape[1])})
    cols["position"] = enc["position"]
    cols["surface"] = pd.Categorical(enc["surface"])
    return pd.DataFrame(cols)


def gbdt(train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame,
         spec: features.FeatureSpec, seeds: int = GBDT_SEEDS, on_seed=None) -> list[np.ndarray]:
    """LightGBM on the ranker's features, early-stopped on the validation split: the test split's
    P(adopt) of one model per seed (row and column subsampling draw from it). `on_seed`, if
    given, is told each seed before its model is fitted (progress)."""
    x_train, x_val, x_test = (_lgb_matrix(df, spec) for df in (train, val, test))
    out = []
    for seed in range(seeds):
        if on_seed is not None:
            on_seed(seed)
        model = lgb.LGBMClassifier(n_estimators=600, learning_rate=0.05, num_leaves=63,
                                   min_child_samples=40, subsample=0.8, subsample_freq=1,
                                   colsample_bytree=0.8, random_state=seed, verbose=-1,
                                   # one thread: with OpenMP's threads competing with Ray's
                                   # processes for 2 cores, one fit took 20–100 s, not 2 s
                                   # (a tiny world); the trees came out the same
                                   n_jobs=1)
        model.fit(x_train, train.label_adopted, eval_X=x_val, eval_y=val.label_adopted,
                  callbacks=[lgb.early_stopping(30, verbose=False)])
        out.append(model.predict_proba(x_test)[:, 1])
    return out


def seed_spread(y: np.ndarray, by_seed: list[np.ndarray]) -> dict:
    """LightGBM's test AUC per seed, and that of the seeds' averaged predictions (an ensemble,
    as the ranker is)."""
    aucs = [M.auc(y, p) for p in by_seed]
    if None in aucs:  # one class only: no AUC at all
        return {"seeds": len(aucs), "adoption_auc": aucs}
    return {"seeds": len(aucs), "adoption_auc": aucs, "min": min(aucs), "mean": float(np.mean(aucs)),
            "max": max(aucs), "averaged_adoption_auc": M.auc(y, np.mean(by_seed, axis=0))}
