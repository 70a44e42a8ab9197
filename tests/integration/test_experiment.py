"""The learned policy in the world and `guidance experiment`, on the served fixture's world and
promoted model: the world computes the same features as the offline snapshot, and an
experiment writes its report whole, with A/B outcomes that agree with the paired truth."""

import json
import os

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.context import load
from pipelines.context.peers import read_peers
from pipelines.experiments.job import world_facts
from pipelines.experiments.learned import LearnedPredictor, extend_peers
from pipelines.models import features
from pipelines.registry import store
from pipelines.storage.root import Root
from pipelines.world.job import read_manifest
from pipelines.world.market import market_table
from pipelines.world.policies import LoggingPolicy
from pipelines.world.simulate import BlockSimulation

DAY = 40  # a day of the fixture's 70-day history with complete labels


class _Spy:
    """The logging policy, computing the learned policy's feature rows on one day."""

    name, config = LoggingPolicy().name, LoggingPolicy().config

    def __init__(self, predictor):
        self.predictor, self.frame, self.view = predictor, None, None

    def scores(self, view):
        if view.day == DAY:
            self.frame, self.view = self.predictor.frame(view), view
        return LoggingPolicy().scores(view)


def test_the_world_computes_the_snapshots_features(served_root):
    root = Root(served_root)
    facts = world_facts(read_manifest(root))
    spec = facts.spec(7)
    meta, files = store.load(root)
    predictor = LearnedPredictor(files, extend_peers(read_peers(root, meta["snapshot"]),
                                                     spec.days),
                                 market_table(spec.market).to_pandas(),
                                 load.dataset(root, "catalog").to_table().to_pandas(),
                                 facts.start)
    spy = _Spy(predictor)
    BlockSimulation(spec, np.arange(250), spy).live_until(DAY + 1)
    frame, view = spy.frame, spy.view
    frame = frame.assign(advertiser_id=view.observed.advertiser_id,
                         campaign_id=view.observed.campaign_id, item_id=view.candidates.item_id)
    ex = pads.dataset(root.join("snapshots", meta["snapshot"], "examples"), filesystem=root.fs,
                      format="parquet", partitioning="hive").to_table().to_pandas()
    day = (ex.shown_at.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
           - pd.Timestamp(facts.start)).dt.days
    ex = ex[(day == DAY) & (ex.advertiser_id < 250)]
    keys = ["advertiser_id", "campaign_id", "item_id", "surface"]
    joined = ex.merge(frame.drop_duplicates(keys), on=keys, suffixes=("_offline", "_world"))
    assert len(ex) > 20 and len(joined) == len(ex)  # every shown item was a candidate
    spec_cols = [*features.FeatureSpec.from_json(files["features.json"].decode()).numeric,
                 *features.FeatureSpec.from_json(files["features.json"].decode()).categorical]
    compared = 0
    for col in [c for c in frame.columns if c not in keys]:
        a, b = joined[f"{col}_offline"], joined[f"{col}_world"]
        if a.dtype.kind in "fiub" or b.dtype.kind in "fiub":
            same = np.isclose(pd.to_numeric(a).astype(float), pd.to_numeric(b).astype(float),
                              rtol=1e-12, atol=0, equal_nan=True)
        else:
            same = (a.astype(str) == b.astype(str)).to_numpy()
        assert same.all(), f"{col}: {(~same).sum()} of {len(same)} rows differ"
        compared += 1
    assert compared >= 90 and set(spec_cols) <= set(frame.columns)
    print(f"{len(joined)} impressions × {compared} columns: world == snapshot")


@pytest.fixture(scope="module")
def experiment(served_root):
    result = CliRunner().invoke(app, [
        "experiment", "--root", served_root, "--name", "t1", "--days", "6",
        "--arms", "logging,learned,learned_explore", "--advertisers", "150",
        "--design", "both", "--bootstrap", "200", "--ope-days", "7", "--json"])
    assert result.exit_code == 0, result.output
    return served_root, json.loads(result.output[result.output.index("{"):])


def test_the_experiment_writes_its_report_whole(experiment):
    root, result = experiment
    folder = Root(root).join("reports/experiments/t1")
    assert result["report"] == folder
    names = set(os.listdir(folder))
    assert {"index.html", "results.json", "outcomes.parquet", "adopted.parquet",
            "bandit.parquet", "logged_bandit.parquet", "first_slot.parquet",
            "ope_window.parquet"} <= names
    assert json.loads(open(f"{folder}/results.json").read())["verdict"] == result["verdict"]
    html = open(f"{folder}/index.html").read()
    assert result["verdict"] in html.replace("&#x27;", "'")
    assert result["world"]["advertisers"] == 150
    assert set(result["paired"]["arms"]) == {"logging", "learned", "learned_explore"}
    sr = result["ab"]["sample_ratio"]
    assert sum(sr["counts"]) == 150 and 0 <= sr["p_value"] <= 1
    est = result["ope"]["estimates"]
    assert all(est[n]["available"] for n in ("ips", "snips", "dr", "cascade"))
    assert result["promised"]["rows"] > 0
    assert [t["met"] for t in result["targets"]] and "exploration" in result


def test_ab_outcomes_are_the_paired_ones_of_the_same_advertisers(experiment):
    """Every advertiser lives the same days in its A/B arm as in that arm of the paired run:
    the world's common random numbers, and advertisers that do not interact."""
    root, _ = experiment
    out = pd.read_parquet(Root(root).join("reports/experiments/t1/outcomes.parquet"))
    cols = ["arm", "advertiser_id", "surface", "action_type", "impressions", "adoptions",
            "dismissals", "profit", "spend", "trust"]
    ab = out[out.design == "ab"][cols].sort_values(cols[:4]).reset_index(drop=True)
    paired = out[out.design == "paired"].merge(ab[["arm", "advertiser_id"]].drop_duplicates(),
                                                on=["arm", "advertiser_id"])
    paired = paired[cols].sort_values(cols[:4]).reset_index(drop=True)
    assert len(ab) > 100
    pd.testing.assert_frame_equal(ab, paired)


@pytest.mark.parametrize("args, words", [
    (["--arms", "logging,bandit"], "unknown arm 'bandit'"),
    (["--arms", "logging"], "at least two"),
    (["--design", "sideways"], "design"),
    (["--days", "0"], "days"),
])
def test_bad_options_get_one_line(served_root, args, words):
    result = CliRunner().invoke(app, ["experiment", "--root", served_root, *args])
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_existing_report_is_kept_without_overwrite(experiment):
    root, _ = experiment
    result = CliRunner().invoke(app, ["experiment", "--root", root, "--name", "t1",
                                      "--advertisers", "10", "--days", "1"])
    assert result.exit_code == 2 and "already exists" in result.output


def test_a_root_without_a_world_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["experiment", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "no world" in result.output


def test_guidance_ope_reads_the_experiments_logged_bandit(experiment):
    """The history's logged rows in the general schema: the command's estimates are the
    experiment's own."""
    root, result = experiment
    path = Root(root).join("reports/experiments/t1/logged_bandit.parquet")
    out = CliRunner().invoke(app, ["ope", "--data", path, "--bootstrap", "200", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output[out.output.index("{"):])
    for name in ("ips", "snips", "dr", "cascade"):
        assert got["estimators"][name]["per_slot"] == pytest.approx(
            result["ope"]["estimates"][name]["estimate"])
