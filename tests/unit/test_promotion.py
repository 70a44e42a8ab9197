"""Promotion: only a version whose fresh evaluation passes the gates becomes current, unless
forced with a reason; every promotion is recorded."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from cli.main import app
from pipelines.errors import NotFoundError
from pipelines.evaluation.gates import GateConfig, failed, judge
from pipelines.evaluation.results import report_dir
from pipelines.promotion.promote import PromoteConfig, PromotionError, history, promote
from pipelines.registry import store
from pipelines.registry.store import RegistryError
from pipelines.storage.root import Root
from tests.unit.test_gates import passing

NOW = dt.datetime(2026, 11, 24, 12, 0, 5, tzinfo=dt.timezone.utc)


@pytest.fixture
def root(tmp_path) -> Root:
    """A registry with v1 promoted and a candidate v2 registered."""
    root = Root(str(tmp_path))
    store.publish(root, {"a.bin": b"one"}, {"kind": "t"}, version="v1")
    store.set_current(root, "v1")
    store.publish(root, {"a.bin": b"two"}, {"kind": "t"}, version="v2")
    return root


def evaluated(root: Root, version: str = "v2", **changes) -> dict:
    """Write `version`'s evaluation.json: passing() with `changes` (dotted paths)."""
    result = passing()
    result["model_version"] = version
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = result
        for key in parents:
            node = node[key]
        node[leaf] = value
    verdicts = judge(result)  # as evaluation writes them (promotion judges again)
    result["gates"] = {"passed": not failed(verdicts), "verdicts": [v.as_dict() for v in verdicts]}
    with root.staging("evaluation") as staged:  # published as report.write_report does
        folder = f"{staged}/{report_dir(version)}"
        root.fs.create_dir(folder, recursive=True)
        with root.fs.open_output_stream(f"{folder}/evaluation.json") as f:
            f.write(json.dumps(result).encode())
        root.publish(staged, [report_dir(version)], overwrite=True)
    return result


def _promote(root: Root, **kw) -> dict:
    return promote(PromoteConfig(root=root.uri, **kw), by="ana", now=NOW)


def test_a_candidate_is_not_served_until_promoted(root):
    assert store.current(root) == "v1" and store.latest(root) == "v2"


def test_a_passing_evaluation_moves_current_and_is_recorded(root):
    evaluated(root)
    record = _promote(root)  # default: the newest registered
    assert store.current(root) == "v2"
    assert record["version"] == "v2" and record["previous"] == "v1" and not record["forced"]
    assert record["by"] == "ana" and record["at"] == "2026-11-24T12:00:05+00:00"
    assert [g["status"] for g in record["gates"]] == ["pass"] * 6
    assert record["failed_gates"] == [] and record["evaluated_against"] == "v1"
    assert history(root) == [record]


def test_refused_without_an_evaluation_report(root):
    with pytest.raises(PromotionError, match=r"version v2 not promoted: it has no evaluation "
                                             r"report .*run `guidance evaluate --version v2`"):
        _promote(root)
    assert store.current(root) == "v1" and history(root) == []


def test_refused_on_a_failing_gate(root):
    evaluated(root, calibration__ece_after=0.031)
    with pytest.raises(PromotionError, match=r"it fails ece_after_calibration \(ECE 0.0310; "
                                             r"wants ECE of P\(adopt\) after calibration ≤ 0.02"):
        _promote(root, version="v2")
    assert store.current(root) == "v1" and history(root) == []


def test_refused_when_evaluated_against_another_served_version(root):
    evaluated(root, current_version="v0")
    with pytest.raises(PromotionError, match="evaluated while v0 was served, and v1 is served "
                                             "now: run `guidance evaluate --version v2` again"):
        _promote(root)
    assert store.current(root) == "v1"


def test_refused_with_an_evaluation_from_before_the_gates(root):
    result = evaluated(root)
    del result["gates"]
    with open(root.join(report_dir("v2"), "evaluation.json"), "w") as f:
        json.dump(result, f)
    with pytest.raises(PromotionError, match="its evaluation report predates the gates"):
        _promote(root)
    assert store.current(root) == "v1"


def test_a_forced_promotion_is_recorded_with_what_it_overrode(root):
    evaluated(root, calibration__ece_after=0.031, ranking__current_adoption_auc=0.8)
    record = _promote(root, force=True, reason="hotfix for the notification surface")
    assert store.current(root) == "v2"
    assert record["forced"] and record["reason"] == "hotfix for the notification surface"
    assert record["failed_gates"] == ["ece_after_calibration", "adoption_auc_vs_current"]
    assert len(record["overridden"]) == 1 and "it fails ece_after_calibration" in \
        record["overridden"][0]
    assert history(root) == [record]
    # forced without any evaluation: recorded as such
    store.publish(root, {"a.bin": b"three"}, {}, version="v3")
    later = promote(PromoteConfig(root=root.uri, force=True, reason="rollback drill"), by="bo",
                    now=NOW + dt.timedelta(minutes=1))
    assert later["forced"] and later["gates"] == [] and later["evaluation"] is None
    assert later["previous"] == "v2" and store.current(root) == "v3"
    assert [r["version"] for r in history(root)] == ["v2", "v3"]  # oldest first


def test_skipped_gates_do_not_block(root):
    evaluated(root, ordering__ndcg_vs_oracle=None, ranking__oracle_adoption_auc=None,
              skipped={"ndcg_vs_oracle": "no truth"})
    record = _promote(root)
    assert record["skipped_gates"] == ["slate_ndcg_beats_rules_and_popularity"]
    assert store.current(root) == "v2"


def test_the_first_promotion_is_judged_without_a_served_version(tmp_path):
    root = Root(str(tmp_path))
    store.publish(root, {"a.bin": b"one"}, {}, version="v1")
    evaluated(root, "v1", current_version=None, ranking__current_adoption_auc=None)
    record = _promote(root)
    assert record["previous"] is None and record["skipped_gates"] == ["adoption_auc_vs_current"]
    assert store.current(root) == "v1"


def test_thresholds_come_from_the_config_and_are_recorded(root):
    evaluated(root, calibration__ece_after=0.031)
    record = _promote(root, gates=GateConfig(max_ece_after=0.05))
    assert store.current(root) == "v2" and not record["forced"]
    assert record["gate_thresholds"]["max_ece_after"] == 0.05


def test_promoting_the_current_version_changes_nothing(root):
    record = _promote(root, version="v1")
    assert not record["promoted"] and history(root) == []


@pytest.mark.parametrize("fields, message", [
    ({"force": True}, "a forced promotion needs a reason"),
    ({"force": True, "reason": "  "}, "a forced promotion needs a reason"),
    ({"gates": {"max_ece_after": 2}}, "less than or equal to 1"),
    ({"versions": "v2"}, "Extra inputs are not permitted"),
])
def test_bad_promotion_configs(root, fields, message):
    with pytest.raises(ValidationError, match=message):
        PromoteConfig(root=root.uri, **fields)


def test_an_unknown_or_damaged_version_is_refused_even_forced(root, tmp_path):
    with pytest.raises(NotFoundError, match="no registry version 'v9'"):
        _promote(root, version="v9", force=True, reason="x")
    (tmp_path / "registry" / "v2" / "a.bin").write_bytes(b"tampered")
    with pytest.raises(RegistryError, match="is corrupt: a.bin"):
        _promote(root, version="v2", force=True, reason="x")
    assert store.current(root) == "v1"


runner = CliRunner()


def test_cli_refusal_is_one_line_and_exit_2(root):
    evaluated(root, index__recall_at_100=0.5)
    out = runner.invoke(app, ["promote", "--root", root.uri])
    assert out.exit_code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: version v2 not promoted: it fails "
                                                   "index_recall_at_100")
    bad = runner.invoke(app, ["promote", "--root", root.uri, "--force"])
    assert bad.exit_code == 2 and "a forced promotion needs a reason" in bad.stderr
    assert store.current(root) == "v1"


def test_cli_promotes_and_prints_the_record(root):
    evaluated(root)
    out = runner.invoke(app, ["promote", "--root", root.uri, "--version", "v2", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["version"] == "v2" and store.current(root) == "v2"
    forced = runner.invoke(app, ["promote", "--root", root.uri, "--version", "v1", "--force",
                                 "--reason", "roll back"])
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.startswith("version v1 promoted (replacing v2; not evaluated); FORCED")
    assert store.current(root) == "v1" and history(root)[-1]["reason"] == "roll back"
