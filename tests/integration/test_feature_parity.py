"""Train/serve parity: the service's own code, replayed at the moment a logged example was shown,
computes the same ranker input vector as `guidance prepare` wrote for it, column for column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest

from pipelines.feedback.log import open_log
from pipelines.models import features
from pipelines.models.artifacts import LoadedRanker
from pipelines.registry import store
from pipelines.storage.root import Root
from serving.data import ServingData
from serving.features import request_features
from serving.history import advertiser_history
from serving.ranker import RankerCore


def _examples(root: Root, split: str) -> pd.DataFrame:
    path = root.join("snapshots", "s1", "examples", f"split={split}")
    return pads.dataset(path, filesystem=root.fs, format="parquet").to_table().to_pandas()


def _columns(spec: features.FeatureSpec) -> list[str]:
    return spec.numeric + [f"{c} is missing" for c in spec.with_missing_flag]


@pytest.fixture(scope="module")
def replay(served_root, tmp_path_factory):
    """The examples of the validation and test splits, and for each of their days the service's
    data replayed as of that day."""
    root = Root(served_root)
    rows = pd.concat([_examples(root, s) for s in ("validation", "test")], ignore_index=True)
    rows = rows.sort_values(["shown_at", "impression_id"]).reset_index(drop=True)
    days = {day: ServingData(root, "s1", as_of=day) for day in rows.shown_at.dt.date.unique()}
    log = open_log(str(tmp_path_factory.mktemp("parity") / "empty-log.db"))
    meta, files = store.load(root, store.latest(root))
    return root, rows, days, log, meta, files


def _served(days: dict, log, rows: pd.DataFrame, meta: dict, files: dict) -> dict:
    """Each example's model inputs as the service computes them at its moment: the candidate
    columns by serving.features, encoded with the campaign's context by the ranker's core."""
    parts = []
    for day, rows_of_day in rows.groupby(rows.shown_at.dt.date, sort=True):
        data = days[day]
        cand = []
        for _, r in rows_of_day.iterrows():
            adv_row = data.advertiser_row(int(r.advertiser_id))
            now_ms = int(r.shown_at.value // 1_000_000)
            history, _ = advertiser_history(data, log, adv_row, now_ms)
            items = np.array([r.item_id], np.int64)
            cand.append(request_features(data, data.advertiser_signals(adv_row), history,
                                         np.array([r.campaign_id], np.int64), items,
                                         data.catalog.rows(items), r.surface, now_ms))
        core = RankerCore(meta["version"], files, data.context)
        parts.append(core.inputs(rows_of_day.campaign_id.to_numpy(np.int64),
                                 {k: np.concatenate([c[k] for c in cand]) for k in cand[0]}))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def test_the_service_computes_every_feature_of_the_logged_examples(replay):
    _, rows, days, log, meta, files = replay
    assert len(rows) > 200 and len(days) > 10
    spec = LoadedRanker(files).spec
    offline = features.encode(rows, spec, serving=True)
    served = _served(days, log, rows, meta, files)
    names = _columns(spec)
    differ = [f"{names[j]} ({int((offline['numeric'][:, j] != served['numeric'][:, j]).sum())} "
              f"of {len(rows)} rows)" for j in range(len(names))
              if not np.allclose(offline["numeric"][:, j], served["numeric"][:, j], rtol=0,
                                 atol=1e-6)]
    differ += [f"{c} ({int((offline['categorical'][:, j] != served['categorical'][:, j]).sum())}"
               f" rows)" for j, c in enumerate(spec.categorical)
               if not np.array_equal(offline["categorical"][:, j], served["categorical"][:, j])]
    assert differ == [], f"{len(differ)} of {len(names) + len(spec.categorical)} columns differ"
    assert np.array_equal(offline["surface"], served["surface"])
    assert np.array_equal(offline["position"], served["position"])


def test_the_candidate_history_is_not_constant(replay):
    """The parity above means something: the history columns vary across the examples."""
    _, rows, *_ = replay
    assert rows.times_shown_same_item_21d.nunique() > 1
    assert rows.dismissed_same_action_90d.nunique() > 1
    assert rows.entity_trending.notna().any()


def test_a_replay_knows_nothing_of_its_own_day_or_later(replay):
    _, _, days, *_ = replay
    data = days[min(days)]
    midnight = pd.Timestamp(data.as_of, tz="UTC").value // 1_000_000
    assert (data.hist["served_at_ms"] < midnight).all()
    answered = data.hist["outcome"] != "ignored"
    assert (data.hist["responded_at_ms"][answered] < midnight).all()
