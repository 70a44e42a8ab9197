"""Drift the world injects is caught: the service's own traffic (a real gRPC server over the
promoted model) on worlds shocked after the model's training days, judged by
`guidance monitor drift` against the same service's traffic on the world without the shock (the
worlds are identical but for it); a second run of the unshocked traffic raises no alarm, nor do
windows drawn from the training reference's own distribution. Against the training reference
itself the served traffic differs anyway (the learned policy shows other items than the logging
rules did, and the season moved since training): the job says so."""

import os
import shutil
import subprocess
import sys
import uuid

import numpy as np
import pytest

from monitoring.drift.compare import compare
from monitoring.drift.config import DriftConfig
from monitoring.drift.job import history, monitor_drift
from monitoring.drift.reference import load_reference
from pipelines.registry import store
from pipelines.storage.root import Root
from serving import auth, plain
from serving.client import Client, free_port, recommend_all
from serving.config import ServeConfig
from serving.gen.guidance.v1 import guidance_pb2 as pb

pytestmark = pytest.mark.ray
SHOCK_DAY = 50  # after the fixture world's train split (days 0-48): the model never saw it
SHOCKS = {
    "market": {"kind": "market", "vertical": "apparel", "price_factor": 1.6},
    "signup_mix": {"kind": "signup_mix", "vertical": "legal", "share_factor": 100.0},
    "tracking_outage": {"kind": "tracking_outage", "share": 0.5},
}
# the columns each shock must move (the report may name more)
MOVED = {
    "market": {"market_cpc_index", "market_cpm_index"},
    "signup_mix": {"vertical"},
    "tracking_outage": {"conversions_7d"},
}
# a growing platform: most accounts open during the history, so the mix of those that open
# after the shock reaches the traffic
WORLD = {"signup_mix": {"signup_share": 0.8}}
SURFACES = ("ads_manager", "business_assistant")


def serve_traffic(root: str, log: str | None = None, dismiss: float = 0.0) -> int:
    """Every live advertiser asks for a slate on two surfaces, through the service's gRPC
    server (one process, the ranker in-process), logged to `log` (default: the root's), and
    dismisses a share `dismiss` of the Ads Manager's items; returns the items served."""
    r = Root(root)
    version = store.current(r)
    snapshot = store.load(r, version)[0]["snapshot"]
    online = r.read_table(f"snapshots/{snapshot}/online/advertisers").to_pandas()
    advertisers = online[online.live_campaigns > 0].advertiser_id.tolist()
    token = auth.create(r, "drift test", advertisers)
    port = free_port()
    proc = plain.start_process(ServeConfig(root=root, ranker="local", grpc_port=port,
                                           feedback_log=log), port)
    try:
        client = Client(f"localhost:{port}", token)
        slates = recommend_all(client, advertisers, SURFACES)
        ads_manager = [item.recommendation_id for slate in slates
                       if slate.surface == pb.SURFACE_ADS_MANAGER for item in slate.items]
        for rec in ads_manager[:int(dismiss * len(ads_manager))]:
            client.feedback(uuid.uuid4().hex, rec, "dismissed", "not_relevant")
        client.close()
    finally:
        proc.terminate()
        proc.join()
    return sum(len(slate.items) for slate in slates)


def shocked_world(served_root: str, path: str, shock: dict, world: dict) -> str:
    """The fixture's world (with `world`'s settings) and `shock` from SHOCK_DAY on, prepared the
    same way, serving the fixture's model; the reference is the train split of this world's
    snapshot, all before the shock."""
    from pipelines.labels.config import PrepareConfig
    from pipelines.labels.prepare import prepare
    from pipelines.world.config import WorldConfig
    from pipelines.world.job import generate

    generate(WorldConfig(scale="tiny", advertisers=300, days=70, seed=11, root=path, **world,
                         shocks=({**shock, "from_day": SHOCK_DAY},)), show_progress=False)
    prepare(PrepareConfig(root=path, version="s1"), show_progress=False)
    shutil.copytree(os.path.join(served_root, "registry"), os.path.join(path, "registry"))
    return path


@pytest.fixture(scope="module")
def calm(served_root, tmp_path_factory):
    """The fixture world without a shock, in its own copy: its traffic served twice, each run
    in its own log (a run's slates would otherwise cap the next one's), and the second judged
    against the first."""
    path = str(tmp_path_factory.mktemp("calm"))
    for part in ("raw", "snapshots", "registry"):
        shutil.copytree(os.path.join(served_root, part), os.path.join(path, part))
    first, second = f"sqlite:///{path}/logs/first.db", f"sqlite:///{path}/logs/second.db"
    served = serve_traffic(path, first)
    serve_traffic(path, second)
    again = monitor_drift(DriftConfig(root=path, log=second, baseline_log=first, window="1d"),
                          show_progress=False)
    return {"root": path, "log": first, "served": served, "again": again}


@pytest.fixture(scope="module", params=sorted(SHOCKS))
def shocked(request, served_root, calm, tmp_path_factory):
    path = shocked_world(served_root, str(tmp_path_factory.mktemp(request.param)),
                         SHOCKS[request.param], WORLD.get(request.param, {}))
    baseline = calm["log"]
    if request.param in WORLD:  # another world before the shock: its own unshocked baseline
        baseline = f"sqlite:///{path}/logs/unshocked.db"
        unshocked = shocked_world(served_root, str(tmp_path_factory.mktemp("unshocked")),
                                  {**SHOCKS[request.param], "share_factor": 1.0},
                                  WORLD[request.param])
        serve_traffic(unshocked, baseline)
    serve_traffic(path)
    return request.param, monitor_drift(
        DriftConfig(root=path, baseline_log=baseline, window="1d"), show_progress=False)


@pytest.fixture(scope="module")
def against_training(calm):
    return monitor_drift(DriftConfig(root=calm["root"], log=calm["log"], window="1d"),
                         show_progress=False)


def test_the_service_logged_what_its_ranker_saw(against_training, calm):
    assert calm["served"] > 500
    assert against_training["current"]["ranker_inputs"] == calm["served"]  # every item
    assert against_training["kinds"]["features"]["rows"]["current"] == calm["served"]


def test_without_a_shock_there_is_no_alarm(calm):
    summary = calm["again"]
    assert summary["reference"]["source"] == "log"
    assert summary["verdict"] == "ok", summary["drifted"]
    for kind in ("features", "predictions", "shown"):
        assert summary["kinds"][kind]["status"] == "ok"
    # served now, so no impression is old enough for its outcome: said, not passed
    assert summary["kinds"]["outcomes"]["status"] == "insufficient"


def test_each_shock_moves_the_columns_it_should(shocked):
    name, summary = shocked
    named = set(summary["kinds"]["features"]["drifted"])
    print(name, summary["verdict"], sorted(named))
    assert MOVED[name] <= named, f"{name}: drifted {sorted(named)}"


def test_outcome_drift_comes_from_the_feedback_events(calm, tmp_path):
    """A third run whose advertisers dismiss 40 % of the Ads Manager's items, judged against
    the first (no feedback) with outcomes counted at once: the Ads Manager's outcomes drift,
    the assistant's do not."""
    third = f"sqlite:///{tmp_path}/third.db"
    serve_traffic(calm["root"], third, dismiss=0.4)
    summary = monitor_drift(DriftConfig(root=calm["root"], log=third, baseline_log=calm["log"],
                                        window="1d", outcome_wait_days=0), show_progress=False)
    outcomes = summary["kinds"]["outcomes"]
    assert outcomes["drifted"] == ["outcome@ads_manager"], outcomes["columns"]
    assert outcomes["columns"]["outcome@business_assistant"]["drifted"] is False
    assert summary["current"]["events"] > 100


def test_against_the_training_reference_the_served_traffic_differs(against_training):
    """The learned policy shows other items than the logging rules that made the training
    examples, and the season moved since: the job says so rather than pass."""
    summary = against_training
    assert summary["reference"]["source"] == "training"
    assert summary["verdict"] == "drift"
    assert {"action_type", "surface"} <= set(summary["kinds"]["features"]["drifted"])


def test_the_run_is_published_whole_with_reports_for_people_and_machines(against_training,
                                                                          calm):
    path, summary = calm["root"], against_training
    files = set(os.listdir(summary["path"]))
    assert {"summary.json", "index.html", "features.html", "features.json",
            "predictions.html", "shown.html"} <= files
    assert "outcomes.html" not in files  # nothing to judge, nothing drawn
    runs = history(Root(path))
    assert summary["run"] in [r["run"] for r in runs]
    assert not os.listdir(os.path.join(path, "_staging"))


def test_same_distribution_windows_raise_no_alarm(served_root):
    """Windows drawn from the distribution of the reference (the other half of the training
    rows, shuffled) against the reference: at most 1 alarm in 20 (5 %) for features and
    predictions, with the default tests."""
    root = Root(served_root)
    frames, _ = load_reference(root, *store.load(root, store.current(root)), 1_000_000, 0)
    cfg = DriftConfig(root=served_root)
    rng = np.random.default_rng(0)
    for kind in ("features", "predictions"):
        df = frames[kind]
        half = rng.random(len(df)) < 0.5
        base, pool = df[half], df[~half]
        alarms = sum(compare(kind, base, pool.sample(1000, random_state=w), cfg.kind(kind),
                             per_column=False)[0].status == "drift" for w in range(20))
        assert alarms <= 1, f"{kind}: {alarms} alarms in 20 same-distribution windows"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", "monitor", "drift", *args],
                          capture_output=True, text=True, timeout=600)


def test_cli_exit_codes(calm, tmp_path):
    path, served, first = calm["root"], calm["served"], calm["log"]
    ok = _cli("--root", path, "--log", f"sqlite:///{path}/logs/second.db", "--baseline-log",
              first, "--window", "1d")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("OK: features ok")
    strict = tmp_path / "drift.yaml"
    strict.write_text(f"min_rows: {served + 1}\n")
    thin = _cli("--root", path, "--log", first, "--window", "1d", "--config", str(strict))
    assert thin.returncode == 3, thin.stderr
    assert thin.stdout.splitlines()[-1].startswith("INSUFFICIENT: features insufficient")
    empty = _cli("--root", path, "--log", first, "--from", "2020-01-01", "--to", "2020-01-02")
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1
    assert "holds nothing served" in empty.stderr
    bad = _cli("--root", path, "--log", first, "--window", "7x")
    assert bad.returncode == 2 and "such as 7d" in bad.stderr and bad.stderr.count("\n") == 1
