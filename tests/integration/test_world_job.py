"""`guidance world generate` on the shared local Ray cluster."""

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.errors import StorageError
from pipelines.storage.root import Root
from pipelines.world import schema
from pipelines.world.config import WorldConfig
from pipelines.world.job import generate

SMALL = dict(scale="tiny", seed=5, advertisers=600, days=20)  # three blocks


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world1")
    generate(WorldConfig(**SMALL, shards=1, root=str(root)), show_progress=False)
    return root


def test_same_seed_same_bytes_for_1_and_4_shards(world, tmp_path):
    generate(WorldConfig(**SMALL, shards=4, root=str(tmp_path)), show_progress=False)
    one, four = digests(world), digests(tmp_path)
    assert len(one) > 20 and one == four


def test_another_seed_gives_another_world(world, tmp_path):
    generate(WorldConfig(**{**SMALL, "seed": 6}, shards=2, root=str(tmp_path)),
             show_progress=False)
    assert digests(world)["raw/impressions/part-00000.parquet"] != \
        digests(tmp_path)["raw/impressions/part-00000.parquet"]


def test_every_table_matches_its_documented_schema(world):
    for kind, tables in (("raw", schema.TABLES), ("truth", schema.TRUTH)):
        for name in tables:
            table = pq.read_table(world / kind / name)
            assert table.num_rows > 0, name
            expected = schema.arrow_schema(name)
            assert table.schema.remove_metadata().equals(expected.remove_metadata()), name


def test_keys_are_unique_and_consistent(world):
    root = Root(str(world))
    for name, key in (("advertisers", "advertiser_id"), ("campaigns", "campaign_id"),
                      ("catalog", "item_id"), ("impressions", "impression_id"),
                      ("workflow_events", "event_id")):
        col = root.read_table(f"raw/{name}").column(key).to_pandas()
        assert col.is_unique, name
    imp = root.read_table("raw/impressions").to_pandas()
    items = set(root.read_table("raw/catalog").column("item_id").to_pylist())
    assert set(imp.item_id) <= items
    campaigns = set(root.read_table("raw/campaigns").column("campaign_id").to_pylist())
    assert set(imp.campaign_id) <= campaigns
    assert imp.propensity.gt(0).all() and imp.propensity.le(1).all()
    manifest = json.loads((world / "raw" / "_world.json").read_text())
    assert manifest["rows"]["impressions"] == len(imp)
    assert manifest["rows"]["catalog"] == len(items)


def test_existing_world_is_kept_without_overwrite(world):
    before = digests(world)
    with pytest.raises(StorageError, match="--overwrite"):
        generate(WorldConfig(**SMALL, root=str(world)), show_progress=False)
    assert digests(world) == before
    assert not any((world / "_staging").iterdir())


def test_cli_generate_and_summary(tmp_path):
    runner = CliRunner()
    gen = runner.invoke(app, ["world", "generate", "--scale", "tiny", "--days", "30",
                              "--root", str(tmp_path), "--json"])
    assert gen.exit_code == 0, gen.output
    assert json.loads(gen.stdout)["advertisers"] == 300
    out = runner.invoke(app, ["world", "summary", "--root", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    names = {m["name"] for m in summary["metrics"]}
    assert {"search_ctr_us", "budget_limited_share_smb", "guidance_adoption_rate"} <= names
    rate = next(m for m in summary["metrics"] if m["name"] == "guidance_adoption_rate")
    assert 0 < rate["value"] < 1
    text = runner.invoke(app, ["world", "summary", "--root", str(tmp_path)])
    assert text.exit_code == 0 and "guidance_adoption_rate" in text.stdout
