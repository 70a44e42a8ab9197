"""Small worlds written to disk for tests, without Ray (the job's per-block function, inline)."""

from __future__ import annotations

import json

from pipelines.storage.root import Root
from pipelines.world.catalog import global_catalog
from pipelines.world.config import WorldConfig
from pipelines.world.job import MANIFEST, OUTPUTS, _write_block
from pipelines.world.market import market_table
from pipelines.world.simulate import world_spec


def write_world(root: str, advertisers: int = 120, days: int = 30, seed: int = 3) -> Root:
    """Write every raw and truth table of a small world under `root`, block by block."""
    cfg = WorldConfig(scale="tiny", advertisers=advertisers, days=days, seed=seed, root=root)
    r = Root(root)
    spec = world_spec(cfg.seed, cfg.start_date, cfg.n_days)
    with r.staging("world") as staged:
        r.write_parquet(market_table(spec.market), f"{staged}/raw/market/part-00000.parquet")
        r.write_parquet(global_catalog(spec.keywords, spec.interests),
                        f"{staged}/raw/catalog/part-global.parquet")
        for b in range(cfg.n_blocks):
            _write_block(cfg.model_dump(mode="json"), b, staged)
        with r.fs.open_output_stream(f"{staged}/{MANIFEST}") as f:
            f.write(json.dumps({"seed": seed, "advertisers": advertisers, "days": days,
                                "start_date": cfg.start_date.isoformat()}).encode())
        r.publish(staged, OUTPUTS, overwrite=True)
    return r
