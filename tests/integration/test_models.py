"""Training on the shared Ray cluster: a tiny end-to-end run, resume, registry, evaluation."""

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.evaluation.offline import evaluate, write_report
from pipelines.labels.config import PrepareConfig
from pipelines.labels.prepare import prepare
from pipelines.models.config import TrainConfig
from pipelines.models.job import fit_and_register
from pipelines.models.train import train
from pipelines.registry import store
from pipelines.storage.root import Root
from pipelines.world.config import WorldConfig
from pipelines.world.job import generate

TINY = dict(epochs=2, batch_size=512, hidden=32, experts=2, retrieval_epochs=2)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("models"))
    generate(WorldConfig(scale="tiny", advertisers=400, days=75, seed=4, root=path),
             show_progress=False)
    prepare(PrepareConfig(root=path, version="s1"), show_progress=False)
    return Root(path)


def test_train_register_and_evaluate(root):
    out = fit_and_register(TrainConfig(root=root.uri, run_name="e2e", **TINY))
    assert store.current(root) == out["version"]
    assert out["metrics"]["epoch"] == 1 and out["metrics"]["val_adoption_auc"] > 0.6
    result = evaluate(root)
    r = result["ranking"]
    assert r["adoption_auc"] > r["popularity_adoption_auc"] - 0.02
    assert r["oracle_adoption_auc"] > r["adoption_auc"]
    assert result["calibration"]["ece_after"] <= result["calibration"]["ece_before"] + 0.01
    assert result["index"]["recall_at_100"] >= 0.95
    if result["retrieval"]["rows"]:
        assert 0 <= result["retrieval"]["two_tower"]["recall_at_k"]["100"] <= 1
    path = write_report(root, result)
    html = open(f"{path}/report.html").read()
    assert "Reliability of P(adopt)" in html and "plotly" in html
    assert json.load(open(f"{path}/evaluation.json"))["model_version"] == out["version"]


def test_rerun_resumes_from_the_last_checkpoint(root):
    first = train(TrainConfig(root=root.uri, run_name="resume", **{**TINY, "epochs": 1}))
    assert first["metrics"]["resumed_from_epoch"] == 0
    second = train(TrainConfig(root=root.uri, run_name="resume", **{**TINY, "epochs": 2}))
    assert second["metrics"]["epoch"] == 1 and second["metrics"]["resumed_from_epoch"] == 1


def test_cli_evaluate(root):
    out = CliRunner().invoke(app, ["evaluate", "--root", root.uri])
    assert out.exit_code == 0, out.output
    assert "adoption AUC" in out.stdout and "report.html" in out.stdout
