"""`guidance world generate --shock ...` on the shared local Ray cluster: the shocks are applied
and recorded (the effect of each is tested in tests/unit/test_world_shocks.py)."""

import json

from typer.testing import CliRunner

from cli.main import app
from pipelines.storage.root import Root


def test_cli_generates_a_shocked_world_and_records_its_shocks(tmp_path):
    runner = CliRunner()
    gen = runner.invoke(app, [
        "world", "generate", "--scale", "tiny", "--advertisers", "250", "--days", "20",
        "--root", str(tmp_path), "--signup-share", "0.2",
        "--shock", "market:vertical=legal,from_day=10,price_factor=2",
        "--shock", "tracking_outage:from_day=2025-10-02,share=0.5", "--json"])
    assert gen.exit_code == 0, gen.output
    manifest = json.loads(gen.stdout)
    assert manifest["signup_share"] == 0.2
    assert manifest["shocks"] == [
        {"kind": "market", "from_day": 10, "from_date": "2025-10-02", "vertical": "legal",
         "price_factor": 2.0},
        {"kind": "tracking_outage", "from_day": 10, "from_date": "2025-10-02", "share": 0.5}]
    market = Root(str(tmp_path)).read_table("raw/market").to_pandas()
    legal = market[(market.vertical == "legal") & (market.country == "US")].sort_values("date")
    assert legal.cpm_index.iloc[10] / legal.cpm_index.iloc[9] > 1.8
    summary = runner.invoke(app, ["world", "summary", "--root", str(tmp_path)])
    assert summary.exit_code == 0, summary.output
    assert "shock: market price_factor=2.0 vertical=legal from day 10 (2025-10-02)" \
        in summary.stdout.splitlines()
