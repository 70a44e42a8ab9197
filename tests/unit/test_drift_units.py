"""The drift job's pure parts: its config, the frames it compares, and Evidently's verdicts read
back, on synthetic data with a known answer."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from monitoring.drift import frames
from monitoring.drift.compare import MIN_VALUES, compare
from monitoring.drift.config import DriftConfig, KindConfig, parse_duration
from pipelines.errors import DataError
from pipelines.models.features import FeatureSpec

DAY = 86_400_000


@pytest.mark.parametrize("settings, message", [
    ({"window": "7x"}, "such as 7d"),
    ({"window": "0d"}, "such as 7d"),
    ({"window": "7d", "since": dt.datetime(2025, 1, 1), "until": dt.datetime(2025, 1, 2)},
     "not both"),
    ({"since": dt.datetime(2025, 1, 1)}, "go together"),
    ({"since": dt.datetime(2025, 1, 2), "until": dt.datetime(2025, 1, 1)}, "must come before"),
    ({"features": {"numeric": {"method": "chisquare", "threshold": 0.1}}}, "numeric method"),
    ({"shown": {"categorical": {"method": "wasserstein", "threshold": 0.1}}},
     "categorical method"),
    ({"baseline_since": dt.datetime(2025, 1, 1)}, "baseline_since and baseline_until"),
    ({"baseline_since": dt.datetime(2025, 1, 2), "baseline_until": dt.datetime(2025, 1, 1)},
     "baseline_since .* must come before"),
    ({"features": {"drift_share": 0}}, "greater than 0"),
    ({"bogus": 1}, "Extra inputs"),
])
def test_bad_config_says_what_is_wrong(settings, message):
    with pytest.raises(ValidationError, match=message):
        DriftConfig(root="/tmp/x", **settings)


def test_the_reference_is_the_training_one_unless_a_baseline_is_named():
    assert DriftConfig(root="/tmp/x").baseline_uri() is None
    same = DriftConfig(root="/tmp/x", log="sqlite:///a.db", baseline_since="2025-01-01",
                       baseline_until="2025-01-02")
    assert same.baseline_uri() == "sqlite:///a.db"
    assert DriftConfig(root="/tmp/x", baseline_log="sqlite:///b.db").baseline_uri() == \
        "sqlite:///b.db"


def test_durations():
    assert parse_duration("7d") == dt.timedelta(days=7)
    assert parse_duration("12h") == dt.timedelta(hours=12)


def _spec() -> FeatureSpec:
    return FeatureSpec(numeric=["a", "b"], mean=[0, 0], std=[1, 1], with_missing_flag=["b"],
                       categorical=["c"], vocab={"c": ["x", "y"]})


def test_feature_frame_decodes_missing_values_and_vocabulary():
    numeric = np.array([[0.5, 0.0, 1.0], [1.5, 2.0, 0.0]], np.float32)  # b missing on row 0
    categorical = np.array([[2], [0]], np.int64)
    df = frames.feature_frame(numeric, categorical, _spec())
    assert list(df.columns) == ["a", "b", "c"]
    assert np.isnan(df.b[0]) and df.b[1] == 2.0 and df.a.tolist() == [0.5, 1.5]
    assert df.c.tolist() == ["y", frames.UNKNOWN]
    with pytest.raises(DataError, match="model's features have 3 and 1"):
        frames.feature_frame(numeric[:, :2], categorical, _spec())
    none = frames.feature_frame(np.zeros((0, 0), np.float32), np.zeros((0, 0)), _spec())
    assert list(none.columns) == ["a", "b", "c"] and len(none) == 0


def test_logged_outcomes_follow_the_training_label():
    until = 30 * DAY
    imp = pd.DataFrame({"recommendation_id": ["a", "b", "c", "d", "e"],
                        "surface": ["ads_manager"] * 4 + ["notification"],
                        "served_at_ms": [DAY, DAY, DAY, DAY, 29 * DAY]})  # e: too young
    ev = pd.DataFrame({"recommendation_id": ["a", "b", "c", "c", "d"],
                       "type": ["applied", "applied", "dismissed", "snoozed", "shown"],
                       "occurred_at_ms": [2 * DAY, 9 * DAY, 2 * DAY, 3 * DAY, 2 * DAY]})
    out = frames.logged_outcomes(imp, ev, until, wait_days=7)
    # b applied after 8 days is not an adoption (as in training); dismissal outranks a snooze
    assert out.outcome.tolist() == ["adopted", "ignored", "dismissed", "ignored"]
    wide = frames.outcome_frame(out.surface.to_numpy(), out.outcome.to_numpy())
    assert wide[frames.outcome_column("ads_manager")].notna().sum() == 4
    assert wide[frames.outcome_column("notification")].isna().all()


def _frame(rng, n, shift=0.0, p=(0.5, 0.3, 0.2), columns=10):
    df = pd.DataFrame({f"x{i}": rng.normal(shift if i == 0 else 0, 1, n) for i in range(columns)})
    df["kind"] = rng.choice(["a", "b", "c"], n, p=p)
    return df


def test_evidently_names_the_moved_columns_and_decides_the_dataset():
    rng = np.random.default_rng(1)
    ref = _frame(rng, 3000)
    result, snapshot = compare("features", ref, _frame(rng, 3000, shift=0.5, p=(0.2, 0.3, 0.5)),
                               KindConfig(drift_share=0.15))
    assert snapshot is not None
    assert set(result.drifted) == {"kind", "x0"}
    assert result.share == pytest.approx(2 / 11)
    assert result.status == "drift"
    calm, _ = compare("features", ref, _frame(rng, 3000), KindConfig(drift_share=0.15))
    assert calm.status == "ok" and calm.drifted == [] and calm.share == 0


def test_columns_with_too_few_values_are_not_judged():
    rng = np.random.default_rng(2)
    ref, cur = _frame(rng, 500), _frame(rng, 500)
    cur["x1"] = np.nan
    cur.loc[: MIN_VALUES - 2, "x1"] = 0.0
    result, _ = compare("features", ref, cur, KindConfig())
    assert result.not_judged == ["x1"] and "x1" not in result.columns


def test_a_nearly_constant_count_is_compared_as_categories():
    """98 % zeros on both sides: as numbers the normed distance would explode on noise (the
    reference's std is tiny); as categories the shares barely differ."""
    rng = np.random.default_rng(3)

    def days(n):
        return pd.DataFrame({"days": np.where(rng.random(n) < 0.02, rng.integers(1, 9, n), 0)
                             .astype(float), "x": rng.normal(0, 1, n)})

    result, _ = compare("features", days(3000), days(1500), KindConfig())
    assert result.columns["days"]["method"] == "jensenshannon"
    assert result.columns["x"]["method"] == "wasserstein"
    assert result.drifted == []


def test_a_p_value_test_ranks_and_drifts_the_other_way_round():
    """With KS (a p-value: drift below the threshold) the most moved column comes first too."""
    rng = np.random.default_rng(4)
    cfg = KindConfig(numeric={"method": "ks", "threshold": 0.05}, drift_share=0.5)
    ref, cur = _frame(rng, 2000, columns=3), _frame(rng, 2000, shift=0.4, columns=3)
    cur["x1"] = cur["x1"] + 0.15
    result, _ = compare("features", ref, cur, cfg)
    assert result.drifted[:2] == ["x0", "x1"]
    assert result.columns["x0"]["severity"] > result.columns["x1"]["severity"] > 1
    assert result.columns["x2"]["severity"] < 1
