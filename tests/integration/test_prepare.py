"""`guidance prepare` (Ray Data) and the online context on the shared local Ray cluster."""

import json
import math

import pandas as pd
import pyarrow.dataset as pads
import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.context.online import context_for
from pipelines.context.registry import SIGNALS_BY_NAME
from pipelines.errors import StorageError
from pipelines.labels.config import PrepareConfig
from pipelines.labels.prepare import prepare
from pipelines.storage.snapshots import latest_version
from pipelines.storage.root import Root
from pipelines.world.config import WorldConfig
from pipelines.world.job import generate


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("prep"))
    generate(WorldConfig(scale="tiny", advertisers=300, days=60, seed=9, root=root),
             show_progress=False)
    manifest = prepare(PrepareConfig(root=root, version="v1", advertisers_per_block=120),
                       show_progress=False)
    return Root(root), manifest


def _split(root, name):
    return pads.dataset(root.join("snapshots/v1/examples", f"split={name}"), filesystem=root.fs,
                        format="parquet").to_table().to_pandas()


def test_snapshot_layout_counts_and_time_splits(snapshot):
    root, m = snapshot
    assert latest_version(root) == "v1"
    on_disk = json.loads(open(root.join("snapshots/v1/manifest.json")).read())
    assert on_disk["rows"] == m["rows"] and on_disk["splits"] == m["splits"]
    splits = {s: _split(root, s) for s in ("train", "validation", "test")}
    assert all(len(splits[s]) == m["rows"][s] > 0 for s in splits)
    assert splits["train"].shown_at.max() < splits["validation"].shown_at.min()
    assert splits["validation"].shown_at.max() < splits["test"].shown_at.min()
    raw = root.read_table("raw/impressions").num_rows
    assert sum(m["rows"][s] for s in ("train", "validation", "test", "incomplete")) == raw
    assert m["rows"]["online_advertisers"] == 300
    assert set(SIGNALS_BY_NAME) <= set(m["schema"]["examples"])
    assert m["statistics"]["spend_7d"]["mean"] > 0
    assert m["code_version"]["source_sha256"]


def test_labels_follow_the_log(snapshot):
    root, _ = snapshot
    ex = _split(root, "train")
    raw = root.read_table("raw/impressions").to_pandas().set_index("impression_id")
    raw = raw.loc[ex.impression_id]
    adopted_in_7d = (raw.outcome == "adopted") & (raw.responded_at - raw.shown_at
                                                  <= pd.Timedelta(days=7))
    assert (ex.label_adopted.to_numpy() == adopted_in_7d.to_numpy()).all()
    assert (ex.label_dismissed.to_numpy() == (raw.outcome == "dismissed").to_numpy()).all()
    assert (ex.propensity.to_numpy() == raw.propensity.to_numpy()).all()
    assert ex.label_adopted.mean() > 0.03
    assert ex.times_shown_same_item_21d.max() >= 1


def _same(a, b):
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float):
        return b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def test_online_context_equals_the_offline_row(snapshot):
    root, _ = snapshot
    ex = _split(root, "validation").sample(25, random_state=0)
    checked = 0
    for row in ex.itertuples(index=False):
        as_of = row.shown_at.tz_convert("UTC").date()
        ctx = context_for(root, int(row.advertiser_id), as_of=as_of)
        online = {s["name"]: s["value"] for g in ctx["signals"].values() for s in g}
        camp = next(c for c in ctx["campaigns"] if c["campaign_id"] == row.campaign_id)
        online.update({s["name"]: s["value"] for g in camp["signals"].values() for s in g})
        offline = row._asdict()
        for name in SIGNALS_BY_NAME:
            value = offline[name]
            value = None if value is pd.NA else value
            if hasattr(value, "item"):
                value = value.item()
            assert _same(online[name], value), (name, online[name], value)
        checked += 1
    assert checked == 25


def test_existing_version_is_kept(snapshot):
    root, _ = snapshot
    with pytest.raises(StorageError, match="already exists"):
        prepare(PrepareConfig(root=root.uri, version="v1"), show_progress=False)


def test_cli_prepare_and_context(snapshot, tmp_path):
    root, _ = snapshot
    runner = CliRunner()
    out = runner.invoke(app, ["prepare", "--root", root.uri, "--version", "v2", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["version"] == "v2"
    shown = runner.invoke(app, ["context", "show", "--advertiser", "7", "--root", root.uri])
    assert shown.exit_code == 0, shown.output
    assert "snapshot v2" in shown.stdout and "budget-limited on" in shown.stdout
    data = json.loads(runner.invoke(app, ["context", "show", "--advertiser", "7", "--root",
                                          root.uri, "--json"]).stdout)
    assert set(data["signals"]) >= {"account", "performance", "market", "workflow",
                                    "interaction"}
    assert {"campaign", "performance"} <= set(data["campaigns"][0]["signals"])
    missing = runner.invoke(app, ["context", "show", "--advertiser", "123456", "--root", root.uri])
    assert missing.exit_code == 2
    assert missing.stderr.strip() == f"error: advertiser 123456 not found under root {root.uri!r}"
