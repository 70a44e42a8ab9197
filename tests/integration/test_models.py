"""Training on the shared Ray cluster: a tiny end-to-end run, resume, registry, evaluation."""

import glob
import json

import numpy as np
import pyarrow.dataset as pads
import pytest
import torch
from typer.testing import CliRunner

from cli.main import app
from pipelines.evaluation.baselines import GBDT_SEEDS
from pipelines.evaluation.evaluate import evaluate
from pipelines.evaluation.gates import GATES
from pipelines.evaluation.report import read_result, write_report
from pipelines.evaluation.slices import SLICE_MIN_ROWS
from pipelines.context.online import campaign_context
from pipelines.errors import ConfigError
from pipelines.labels.config import PrepareConfig
from pipelines.labels.prepare import prepare
from pipelines.models.config import TrainConfig
from pipelines.models.artifacts import context_embeddings, load_two_tower
from pipelines.models.job import fit_and_register
from pipelines.models.retrieval import context_embeddings as context_embeddings_of
from pipelines.models.train import claim_run, train
from pipelines.promotion.promote import PromoteConfig, PromotionError, promote
from pipelines.registry import store
from pipelines.storage.root import Root
from pipelines.world.config import WorldConfig
from pipelines.world.job import generate
from pipelines.domain.vocabulary import SURFACES

TINY = dict(epochs=2, batch_size=512, hidden=32, experts=2, members=2, retrieval={"epochs": 2})


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("models"))
    generate(WorldConfig(scale="tiny", advertisers=400, days=75, seed=4, root=path),
             show_progress=False)
    prepare(PrepareConfig(root=path, version="s1"), show_progress=False)
    return Root(path)


def test_train_register_and_evaluate(root, capsys):
    out = fit_and_register(TrainConfig(root=root.uri, run_name="e2e", **TINY))
    progress = [line.split()[:3] for line in capsys.readouterr().err.splitlines()
                if line.startswith(("ranker ", "two-tower "))]
    assert progress == [["ranker", "epoch", "1/2"], ["ranker", "epoch", "2/2"],
                        ["two-tower", "epoch", "1/2"], ["two-tower", "epoch", "2/2"]]
    assert store.latest(root) == out["version"] and store.current_or_none(root) is None
    assert out["metrics"]["epoch"] == 1 and out["metrics"]["val_adoption_auc"] > 0.6
    meta, files = store.load(root, out["version"])
    assert json.loads(files["model.json"])["members"] == TINY["members"]
    emb = context_embeddings(files)
    context = campaign_context(root, meta["snapshot"])
    assert len(emb) == len(context) * len(SURFACES)
    assert set(emb.surface) == set(SURFACES) and emb.campaign_id.isin(context.campaign_id).all()
    vectors = np.stack(emb.embedding.to_numpy())
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    catalog = pads.dataset(root.join("raw", "catalog"), filesystem=root.fs).to_table().to_pandas()
    tower, spec, _ = load_two_tower(files, catalog)
    first = emb[emb.surface == SURFACES[1]].head(5)
    again = context_embeddings_of(tower, context.set_index("campaign_id").loc[
        first.campaign_id].reset_index().assign(surface=SURFACES[1]), spec)
    assert np.allclose(np.stack(first.embedding.to_numpy()), again, atol=1e-5)
    result = evaluate(root)
    r = result["ranking"]
    assert r["adoption_auc"] > r["popularity_adoption_auc"] - 0.02
    assert r["oracle_adoption_auc"] > r["adoption_auc"]
    versus = r["adoption_auc_minus_gbdt"]
    assert versus["difference"] == pytest.approx(r["adoption_auc"] - r["gbdt_adoption_auc"])
    assert versus["ci95_low"] < versus["ci95_high"]
    seeds = r["gbdt_seeds"]
    assert seeds["seeds"] == GBDT_SEEDS and seeds["adoption_auc"][0] == r["gbdt_adoption_auc"]
    assert seeds["min"] <= seeds["mean"] <= seeds["max"]
    assert seeds["max"] > seeds["min"]  # the seed draws the subsamples: the models differ
    assert result["calibration"]["ece_after"] <= result["calibration"]["ece_before"] + 0.01
    assert result["index"]["recall_at_100"] >= 0.95
    if result["retrieval"]["rows"]:
        assert 0 <= result["retrieval"]["two_tower"]["recall_at_k"]["100"] <= 1
    keys = {"ranking", "calibration", "impact", "ordering", "retrieval", "index"}
    assert keys <= set(result)
    assert set(result["slices"]) == {"vertical", "size_tier", "surface", "action_type"}
    for name, values in result["slices"].items():
        assert sum(m["rows"] for m in values.values()) == result["rows"]["test"], name
        full = [m for m in values.values() if m["rows"] >= SLICE_MIN_ROWS]
        assert full, name
        for m in full:
            assert keys <= set(m)
            assert set(m["ranking"]) == set(r) - {"adoption_auc_minus_gbdt", "gbdt_seeds",
                                                  "adoption_auc_minus_current"}
            assert set(m["ordering"]["ndcg_vs_oracle"]) == {
                "ranker", "logging_rules", "popularity"}
            assert 0 <= m["index"]["recall_at_100"] <= 1
            floor = m["calibration"]["ece_if_calibrated"]
            assert 0 < floor["mean"] <= floor["p95"]
    by_surface = result["slices"]["surface"].values()
    assert sum(m.get("impact", {}).get("rows", 0) for m in by_surface) <= result["impact"]["rows"]
    path = write_report(root, result)
    html = open(f"{path}/report.html").read()
    assert "Reliability of P(adopt)" in html and "plotly" in html
    assert "by action_type" in html and "NDCG rules" in html
    assert f"LightGBM's {GBDT_SEEDS} seeds" in html
    assert json.load(open(f"{path}/evaluation.json"))["model_version"] == out["version"]
    assert read_result(root, out["version"]) == json.loads(json.dumps(result))
    # the gates, judged in the report; nothing was served yet to compare with
    verdicts = {v["name"]: v for v in result["gates"]["verdicts"]}
    assert list(verdicts) == [g.name for g in GATES] and result["current_version"] is None
    assert verdicts["adoption_auc_vs_current"]["status"] == "skipped"
    assert result["skipped"] == {"current_adoption_auc": "no version has been promoted yet"}
    assert html.index("Gates") < html.index("Headline figures") < html.index("plotly") \
        < html.index("Slices, worst first")
    # promoted: by its gates, or forced where this tiny world fails one
    if result["gates"]["passed"]:
        record = promote(PromoteConfig(root=root.uri))
    else:
        with pytest.raises(PromotionError, match=f"version {out['version']} not promoted"):
            promote(PromoteConfig(root=root.uri))
        record = promote(PromoteConfig(root=root.uri, force=True, reason="a tiny test world"))
        assert record["forced"] and record["failed_gates"]
    assert store.current(root) == out["version"] == record["version"]


def _last_checkpoint(root, run_name) -> dict:
    states = [torch.load(p, weights_only=False) for p in
              glob.glob(root.join("models", "runs", run_name, "**", "state.pt"), recursive=True)]
    return max(states, key=lambda s: s["epoch"])


def test_rerun_resumes_from_the_last_checkpoint_and_its_weight_average(root):
    cfg = {**TINY, "average_from_epoch": 0}
    first = train(TrainConfig(root=root.uri, run_name="resume", **{**cfg, "epochs": 1}))
    assert first["metrics"]["resumed_from_epoch"] == 0
    assert first["metrics"]["averaged_epochs"] == 1
    second = train(TrainConfig(root=root.uri, run_name="resume", **{**cfg, "epochs": 2}))
    m = second["metrics"]
    assert m["epoch"] == 1 and m["resumed_from_epoch"] == 1 and m["averaged_epochs"] == 2
    # the published weights: the mean of epoch 0's (the first run's) and epoch 1's
    last = _last_checkpoint(root, "resume")["model"]
    for k, v in second["state"].items():
        assert torch.allclose(v, (first["state"][k] + last[k]) / 2, atol=1e-6), k


def test_a_longer_rerun_averages_from_its_own_start(root):
    # without --average-from-epoch the mean starts at epoch min(4, epochs - 1)
    train(TrainConfig(root=root.uri, run_name="longer", **{**TINY, "epochs": 1}))  # averages 0
    again = train(TrainConfig(root=root.uri, run_name="longer", **{**TINY, "epochs": 3}))
    assert again["metrics"]["average_from_epoch"] == 2 and again["metrics"]["averaged_epochs"] == 1
    last = _last_checkpoint(root, "longer")["model"]
    assert all(torch.equal(v, last[k]) for k, v in again["state"].items())


def test_a_run_resumes_only_the_same_snapshot_and_model(root):
    cfg = TrainConfig(root=root.uri, **TINY)
    name = claim_run(root, cfg, "s1")
    assert name.startswith("ranker-s1-")
    assert claim_run(root, cfg.model_copy(update={"epochs": 9}), "s1") == name  # more epochs
    assert claim_run(root, cfg.model_copy(update={"hidden": 16}), "s1") != name
    with pytest.raises(ConfigError, match="new --run-name"):
        claim_run(root, cfg.model_copy(update={"run_name": name, "members": 3}), "s1")


def test_cli_evaluate(root):
    out = CliRunner().invoke(app, ["evaluate", "--root", root.uri])
    assert out.exit_code == 0, out.output
    assert "adoption AUC" in out.stdout and "report.html" in out.stdout
    assert f"LightGBM over {GBDT_SEEDS} seeds" in out.stdout and "gates:" in out.stdout
