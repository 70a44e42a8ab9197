"""`guidance world generate`: the world loop, sharded over advertisers on Ray.

Advertisers are cut into fixed blocks of BLOCK_SIZE; each block is one Ray task that rebuilds the
market from the seed, simulates its advertisers under the logging policy and writes one part file
per table. At most `shards` blocks run at once. Because every draw is keyed by the seed and an
entity's id and the blocks never change, the files are byte-for-byte the same for any number of
shards. Everything is written to a staging folder and published at the end.
"""

from __future__ import annotations

import json
import time

import numpy as np
import ray
from tqdm import tqdm

from pipelines.errors import StorageError
from pipelines.runtime import ensure_ray
from pipelines.storage.root import Root
from pipelines.world.catalog import global_catalog
from pipelines.world.config import BLOCK_SIZE, WorldConfig
from pipelines.world.market import market_table
from pipelines.world.policies import LoggingPolicy
from pipelines.world.schema import TABLES, TRUTH
from pipelines.world.shocks import describe
from pipelines.world.simulate import WorldSpec, simulate_block, world_spec

OUTPUTS = ["raw", "truth"]
MANIFEST = "raw/_world.json"


def _part(block: int) -> str:
    return f"part-{block:05d}.parquet"


def spec_of(cfg: WorldConfig) -> WorldSpec:
    """The world `cfg` describes, as every block rebuilds it."""
    return world_spec(cfg.seed, cfg.start_date, cfg.n_days, cfg.signup_share, cfg.shocks)


def shock_entries(spec: WorldSpec) -> list[dict]:
    """The manifest's record of the shocks applied: each one's fields, its day and its date."""
    return [{**s.model_dump(mode="json"), "from_date": spec.market.date(s.from_day).isoformat()}
            for s in spec.shocks]


def _write_block(config: dict, block: int, staged: str) -> dict:
    """Simulate one block and write its part files; returns its row counts and totals."""
    cfg = WorldConfig(**config)
    root = Root(cfg.root)
    spec = spec_of(cfg)
    ids = np.arange(block * BLOCK_SIZE, min((block + 1) * BLOCK_SIZE, cfg.n_advertisers))
    out = simulate_block(spec, ids, LoggingPolicy())
    rows = {}
    for kind, tables in (("raw", out.tables), ("truth", out.truth)):
        for name, table in tables.items():
            root.write_parquet(table, f"{staged}/{kind}/{name}/{_part(block)}")
            rows[name] = table.num_rows
    return {"rows": rows, "totals": {k: float(v) for k, v in out.totals.items()}}


_write_block_task = ray.remote(num_cpus=1)(_write_block)




def generate(cfg: WorldConfig, show_progress: bool = True) -> dict:
    """Generate the world described by `cfg` under its root; returns the manifest."""
    root = Root(cfg.root)
    root.check_writable()
    taken = [o for o in OUTPUTS if root.is_published(o)]
    if taken and not cfg.overwrite:  # checked before the work too, not only at publish time
        raise StorageError(f"{root.join(taken[0])} already exists; pass --overwrite to "
                           "replace the world")
    started = time.time()
    ensure_ray()
    with root.staging("world") as staged:
        spec = spec_of(cfg)
        root.write_parquet(market_table(spec.market), f"{staged}/raw/market/{_part(0)}")
        catalog = global_catalog(spec.keywords, spec.interests)
        root.write_parquet(catalog, f"{staged}/raw/catalog/part-global.parquet")
        config = cfg.model_dump(mode="json")
        pending = list(range(cfg.n_blocks))
        running, results = {}, {}
        with tqdm(total=cfg.n_advertisers, unit="adv", desc="world", disable=not show_progress) as bar:
            while pending or running:
                while pending and len(running) < cfg.shards:
                    b = pending.pop(0)
                    running[_write_block_task.remote(config, b, staged)] = b
                done, _ = ray.wait(list(running), num_returns=1)
                b = running.pop(done[0])
                results[b] = ray.get(done[0])
                bar.update(min(BLOCK_SIZE, cfg.n_advertisers - b * BLOCK_SIZE))
        rows = {name: sum(r["rows"].get(name, 0) for r in results.values())
                for name in [*TABLES, *TRUTH]}
        rows["market"] = spec.market.demand.size
        rows["catalog"] += catalog.num_rows
        manifest = {
            "seed": cfg.seed, "scale": cfg.scale, "advertisers": cfg.n_advertisers,
            "days": cfg.n_days, "start_date": cfg.start_date.isoformat(),
            "block_size": BLOCK_SIZE, "blocks": cfg.n_blocks, "rows": rows,
            "logging_policy": LoggingPolicy().name,
            "signup_share": cfg.signup_share, "shocks": shock_entries(spec),
        }
        with root.fs.open_output_stream(f"{staged}/{MANIFEST}") as f:
            f.write(json.dumps(manifest, indent=2, sort_keys=True).encode())
        root.publish(staged, OUTPUTS, overwrite=cfg.overwrite)
    manifest["seconds"] = round(time.time() - started, 1)
    return manifest


def read_manifest(root: Root) -> dict:
    """The manifest of the world under `root` (StorageError if there is none)."""
    root.require("raw", f"no world under root {root.uri!r}: run `guidance world generate`")
    return json.loads(root.read_text(MANIFEST))


def render(manifest: dict) -> str:
    """`guidance world generate`'s line for people: how long it took and the main row counts."""
    rows = ", ".join(f"{k} {v:,}" for k, v in manifest["rows"].items()
                     if k in ("advertisers", "campaigns", "daily_performance", "impressions"))
    shocks = "".join(f"\nshock: {describe(s)}" for s in manifest.get("shocks", []))
    return f"world written in {manifest['seconds']} s: {rows}{shocks}"
