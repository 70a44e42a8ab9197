import numpy as np

from pipelines.evaluation.metrics import auc_difference


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


def test_one_class_gives_none():
    y = np.zeros(50)
    assert auc_difference(y, np.arange(50.0), np.arange(50.0), np.arange(50)) is None
