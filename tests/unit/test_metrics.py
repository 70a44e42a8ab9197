import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score, roc_auc_score

from pipelines.evaluation.metrics import auc, auc_difference, slate_ndcg


def _scores(rng, y, noise):
    return y + rng.normal(0, noise, y.size)


def test_auc_difference_separates_a_better_scorer_and_not_an_equal_one():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(400), 10)
    y = (rng.uniform(size=groups.size) < 0.2).astype(float)
    sharp, blurred, also_blurred = _scores(rng, y, 0.5), _scores(rng, y, 1.5), _scores(rng, y, 1.5)
    better = auc_difference(y, sharp, blurred, groups, resamples=200)
    assert better["difference"] > 0 and better["ci95_low"] > 0
    tie = auc_difference(y, blurred, also_blurred, groups, resamples=200)
    assert tie["ci95_low"] < 0 < tie["ci95_high"]
    assert tie["ci95_low"] <= tie["difference"] <= tie["ci95_high"]


def test_resampling_whole_groups_widens_the_interval_of_correlated_rows():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(100), 40)
    # each group's rows share one label and one score offset: 100 draws, not 4,000
    y = np.repeat((rng.uniform(size=100) < 0.3).astype(float), 40)
    a = y + np.repeat(rng.normal(0, 1.5, 100), 40) + rng.normal(0, 0.1, y.size)
    b = y + np.repeat(rng.normal(0, 1.5, 100), 40) + rng.normal(0, 0.1, y.size)
    clustered = auc_difference(y, a, b, groups, resamples=200)
    rowwise = auc_difference(y, a, b, np.arange(y.size), resamples=200)
    width = lambda d: d["ci95_high"] - d["ci95_low"]  # noqa: E731
    assert width(clustered) > 3 * width(rowwise)


def test_auc_is_sklearns_roc_auc_ties_included():
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=3000) < 0.15).astype(float)
    p = np.round(y * 0.2 + rng.uniform(size=y.size), 1)  # coarse scores: many ties
    value = auc(y, p)
    assert type(value) is float and np.isclose(value, roc_auc_score(y, p), rtol=0, atol=1e-12)
    assert auc(y, y) == 1.0 and auc(y, -y) == 0.0
    with pytest.raises(ValueError, match="NaN"):
        auc(y, np.where(y > 0, np.nan, p))


def test_one_class_gives_none():
    y = np.zeros(50)
    assert auc_difference(y, np.arange(50.0), np.arange(50.0), np.arange(50)) is None


def test_slate_ndcg_is_the_mean_of_each_slates_own_ndcg():
    rng = np.random.default_rng(2)
    sizes = rng.integers(1, 8, 300)
    slate = rng.permutation(np.repeat(np.arange(300), sizes))  # rows in no particular order
    relevance = np.where(rng.uniform(size=slate.size) < 0.3, 0.0, rng.uniform(size=slate.size))
    relevance[slate < 20] = 0.0  # slates with nothing relevant are skipped
    score = np.round(relevance + rng.normal(0, 0.3, slate.size), 1)  # with ties
    one_by_one = [ndcg_score(g.rel.to_numpy()[None], g.score.to_numpy()[None])
                  for _, g in pd.DataFrame({"s": slate, "rel": relevance, "score": score})
                  .groupby("s") if len(g) >= 2 and g.rel.max() > 0]
    value = slate_ndcg(slate, relevance, score)
    assert type(value) is float and np.isclose(value, np.mean(one_by_one))
    assert slate_ndcg(slate, relevance, relevance) == 1.0
    assert slate_ndcg(np.arange(5), np.ones(5), np.ones(5)) is None  # one-item slates only
