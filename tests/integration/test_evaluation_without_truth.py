"""`guidance evaluate` on a root without truth tables, as on a real platform's logs: the report is
written, and the oracle comparisons are skipped and said to be."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from pipelines.evaluation.truth import NO_TRUTH
from pipelines.registry import store
from pipelines.storage.root import Root

ORACLE_COMPARISONS = {"oracle_adoption_auc", "ndcg_vs_oracle", "adoption_auc_share_of_gap"}


def test_evaluate_without_truth_skips_the_oracle_and_says_so(served_root, tmp_path):
    copy = tmp_path / "platform"
    # what a platform has: its logs' tables, the snapshot and the registry; no truth/
    shutil.copytree(served_root, copy, ignore=shutil.ignore_patterns(
        "truth", "feedback", "models", "reports", "_staging"))
    root = Root(str(copy))
    version = store.current(root)
    out = CliRunner().invoke(app, ["evaluate", "--root", str(copy), "--version", version])
    assert out.exit_code == 0, out.output

    result = json.loads((copy / "reports" / "evaluation" / version / "evaluation.json").read_text())
    assert result["skipped"] == {**{k: NO_TRUTH for k in ORACLE_COMPARISONS},
                                 "current_adoption_auc": "the version evaluated is the one "
                                                         "currently served"}
    r = result["ranking"]
    assert r["oracle_adoption_auc"] is None and result["ordering"]["ndcg_vs_oracle"] is None
    assert result["figures"]["adoption_auc_share_of_gap"] is None
    assert r["adoption_auc"] is not None and r["gbdt_adoption_auc"] is not None
    verdicts = {v["name"]: v for v in result["gates"]["verdicts"]}
    assert verdicts["slate_ndcg_beats_rules_and_popularity"]["status"] == "skipped"
    assert verdicts["slate_ndcg_beats_rules_and_popularity"]["detail"] == NO_TRUTH
    assert verdicts["index_recall_at_100"]["status"] in ("pass", "fail")  # judged without truth
    for values in result["slices"].values():
        for m in values.values():
            if "ranking" in m:
                assert m["ranking"]["oracle_adoption_auc"] is None
                assert m["ordering"]["ndcg_vs_oracle"] is None

    said = [line for line in out.stdout.splitlines() if line.startswith("not compared:")]
    assert any(all(k in line for k in ORACLE_COMPARISONS) and NO_TRUTH in line for line in said)
    html = (Path(copy) / "reports" / "evaluation" / version / "report.html").read_text()
    assert "Skipped comparisons" in html and "oracle AUC: no truth/impression_oracle" in html
    assert html.index("Gates") < html.index("Skipped comparisons") < html.index("Slices")
