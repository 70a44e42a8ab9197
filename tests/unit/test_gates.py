"""The promotion gates: one table, exact thresholds, skipped where a figure cannot be computed."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from pipelines.evaluation.gates import GATES, GateConfig, failed, judge


def passing() -> dict:
    """The parts of an evaluation.json that the gates read, every gate passing."""
    return {
        "model_version": "v2", "current_version": "v1", "skipped": {},
        "calibration": {"ece_after": 0.012},
        "impact": {"interval_coverage": 0.80, "rows": 480},
        "ordering": {"ndcg_vs_oracle": {"ranker": 0.94, "logging_rules": 0.80,
                                        "popularity": 0.86}},
        "index": {"recall_at_100": 1.0, "kind": "flat"},
        "ranking": {"adoption_auc": 0.785, "current_adoption_auc": 0.784,
                    "gbdt_adoption_auc": 0.788},
    }


def test_the_table_holds_exactly_the_six_gates_with_the_product_thresholds():
    assert [g.name for g in GATES] == [
        "ece_after_calibration", "impact_interval_coverage",
        "slate_ndcg_beats_rules_and_popularity", "index_recall_at_100",
        "adoption_auc_vs_current", "adoption_auc_vs_lightgbm"]
    cfg = GateConfig()
    assert (cfg.max_ece_after, cfg.min_interval_coverage, cfg.max_interval_coverage,
            cfg.min_index_recall_at_100, cfg.auc_margin_vs_current,
            cfg.auc_margin_vs_lightgbm, cfg.disabled) == (0.02, 0.75, 0.85, 0.95, 0.005, 0.01, ())
    verdicts = judge(passing())
    assert [v.status for v in verdicts] == ["pass"] * 6 and not failed(verdicts)
    assert [v.value for v in verdicts] == [0.012, 0.80, 0.94, 1.0, 0.785, 0.785]
    assert verdicts[0].description == "ECE of P(adopt) after calibration ≤ 0.02"


def _set(path: str, value):
    def change(result: dict) -> None:
        *parents, leaf = path.split(".")
        for key in parents:
            result = result[key]
        result[leaf] = value
    return change


@pytest.mark.parametrize("change, status", [
    (_set("calibration.ece_after", 0.02), "pass"),  # the bound is inclusive
    (_set("calibration.ece_after", 0.0201), "fail:ece_after_calibration"),
    (_set("impact.interval_coverage", 0.75), "pass"),
    (_set("impact.interval_coverage", 0.85), "pass"),
    (_set("impact.interval_coverage", 0.749), "fail:impact_interval_coverage"),
    (_set("impact.interval_coverage", 0.851), "fail:impact_interval_coverage"),
    # strictly above both: a tie with either baseline fails
    (_set("ordering.ndcg_vs_oracle.ranker", 0.86), "fail:slate_ndcg_beats_rules_and_popularity"),
    (_set("ordering.ndcg_vs_oracle.logging_rules", 0.95),
     "fail:slate_ndcg_beats_rules_and_popularity"),
    (_set("index.recall_at_100", 0.95), "pass"),
    (_set("index.recall_at_100", 0.949), "fail:index_recall_at_100"),
    (_set("ranking.current_adoption_auc", 0.785 + 0.005), "pass"),  # non-inferior: at the margin
    (_set("ranking.current_adoption_auc", 0.7901), "fail:adoption_auc_vs_current"),
    (_set("ranking.gbdt_adoption_auc", 0.785 + 0.01), "pass"),
    (_set("ranking.gbdt_adoption_auc", 0.7951), "fail:adoption_auc_vs_lightgbm"),
])
def test_each_threshold_exactly(change, status):
    result = passing()
    change(result)
    bad = failed(judge(result))
    assert (f"fail:{bad[0].name}" if bad else "pass") == status and len(bad) <= 1


NO_TRUTH = "no truth/impression_oracle under the root"


@pytest.mark.parametrize("change, gate, reason", [
    (lambda r: (_set("ordering.ndcg_vs_oracle", None)(r),
                _set("skipped", {"ndcg_vs_oracle": NO_TRUTH})(r)),
     "slate_ndcg_beats_rules_and_popularity", NO_TRUTH),
    (_set("ordering.ndcg_vs_oracle.logging_rules", None),
     "slate_ndcg_beats_rules_and_popularity", "no slate of two items or more"),
    (lambda r: (_set("ranking.current_adoption_auc", None)(r),
                _set("skipped", {"current_adoption_auc": "no version has been promoted yet"})(r)),
     "adoption_auc_vs_current", "no version has been promoted yet"),
    (_set("impact.interval_coverage", None), "impact_interval_coverage",
     "no validation adoption with a measured impact"),
    (_set("ranking.gbdt_adoption_auc", None), "adoption_auc_vs_lightgbm", "no AUC of LightGBM"),
])
def test_a_gate_that_cannot_be_computed_is_skipped_with_the_reason(change, gate, reason):
    result = passing()
    change(result)
    verdicts = {v.name: v for v in judge(result)}
    assert verdicts[gate].status == "skipped" and verdicts[gate].value is None
    assert verdicts[gate].detail.startswith(reason)
    assert [v.name for v in verdicts.values() if v.status != "pass"] == [gate]
    assert not failed(list(verdicts.values()))  # skipped does not block


def test_thresholds_and_disabled_gates_come_from_the_config():
    result = passing()
    result["calibration"]["ece_after"] = 0.04
    result["ranking"]["gbdt_adoption_auc"] = 0.9
    assert {v.name for v in failed(judge(result))} == {"ece_after_calibration",
                                                        "adoption_auc_vs_lightgbm"}
    cfg = GateConfig(max_ece_after=0.05, disabled=("adoption_auc_vs_lightgbm",))
    verdicts = {v.name: v for v in judge(result, cfg)}
    assert not failed(list(verdicts.values()))
    assert verdicts["ece_after_calibration"].description.endswith("≤ 0.05")
    assert verdicts["adoption_auc_vs_lightgbm"].status == "skipped"
    assert verdicts["adoption_auc_vs_lightgbm"].detail == "disabled by the gate configuration"


def test_judging_does_not_change_the_result():
    result = passing()
    before = copy.deepcopy(result)
    judge(result)
    assert result == before


@pytest.mark.parametrize("fields, message", [
    ({"max_ece_after": -0.1}, "greater than or equal to 0"),
    ({"max_ece_after": 1.5}, "less than or equal to 1"),
    ({"auc_margin_vs_current": -0.01}, "greater than or equal to 0"),
    ({"min_interval_coverage": 0.9, "max_interval_coverage": 0.8},
     "min_interval_coverage 0.9 is above max_interval_coverage 0.8"),
    ({"disabled": ["ece", "index_recall_at_100"]}, "unknown gate(s) in disabled: ece"),
    ({"max_auc": 0.9}, "Extra inputs are not permitted"),
])
def test_bad_gate_configs(fields, message):
    with pytest.raises(ValidationError) as e:
        GateConfig(**fields)
    assert message in str(e.value)
