"""`guidance experiment`: arms of guidance policies run on in the world after its history, read
as production reads an A/B test and against the paired truth, with the off-policy estimates made
before it judged against what happened.

Advertisers are cut into blocks of the world's BLOCK_SIZE; each block is one Ray task
(pipelines.experiments.block) that lives the history again, logs the bandit rows the off-policy
estimates read, and runs every arm. The driver reads the results (pipelines.experiments.analysis)
and publishes the report whole under `<root>/reports/experiments/<name>/`.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import ray
from pydantic import TypeAdapter
from tqdm import tqdm

from pipelines.context import load
from pipelines.context.peers import read_peers
from pipelines.errors import StorageError
from pipelines.experiments import analysis, report
from pipelines.experiments.block import BlockRun, WorldFacts
from pipelines.experiments.config import ExperimentConfig
from pipelines.experiments.learned import LearnedPredictor, extend_peers
from pipelines.ope.data import to_table as bandit_table
from pipelines.registry import store
from pipelines.runtime import ensure_ray
from pipelines.storage.root import Root
from pipelines.world.config import BLOCK_SIZE
from pipelines.world.job import read_manifest
from pipelines.world.market import market_table
from pipelines.world.shocks import Shock

TABLES = ("outcomes", "adopted", "first_slot", "bandit", "ope_window")


def report_path(name: str) -> str:
    return f"reports/experiments/{name}"


def world_facts(manifest: dict) -> WorldFacts:
    """The generated world's seed, dates, size, sign-ups and shocks, from its manifest."""
    shocks = TypeAdapter(tuple[Shock, ...]).validate_python(
        [{k: v for k, v in s.items() if k != "from_date"} for s in manifest.get("shocks", [])])
    return WorldFacts(manifest["seed"], dt.date.fromisoformat(manifest["start_date"]),
                      manifest["days"], manifest["advertisers"],
                      manifest.get("signup_share", 0.0), shocks)


def _run_block(config: dict, facts: WorldFacts, ids: np.ndarray, shared: dict) -> dict:
    cfg = ExperimentConfig(**config)
    predictor = LearnedPredictor(shared["files"], shared["peers"], shared["market"],
                                 shared["catalog"], facts.start)
    return BlockRun(cfg, facts, ids, predictor).run()


_run_block_task = ray.remote(num_cpus=1)(_run_block)


def run_experiment(cfg: ExperimentConfig, show_progress: bool = True) -> dict:
    """Run the experiment `cfg` describes on the world under its root; returns its results
    (what results.json holds) with the report's folder."""
    started = time.time()
    root = Root(cfg.root)
    root.check_writable()
    dest = report_path(cfg.name)
    if root.is_published(dest) and not cfg.overwrite:
        raise StorageError(f"{root.join(dest)} already exists; pass --overwrite or another "
                           "--name")
    facts = world_facts(read_manifest(root))
    meta, files = store.load(root, cfg.model_version)
    spec = facts.spec(cfg.days)
    ids = np.sort(load.dataset(root, "advertisers").to_table(columns=["advertiser_id"])
                  .column("advertiser_id").to_numpy())[:cfg.advertisers]
    ensure_ray()
    shared = ray.put({"files": files, "market": market_table(spec.market).to_pandas(),
                      "peers": extend_peers(read_peers(root, meta["snapshot"]), spec.days),
                      "catalog": load.dataset(root, "catalog").to_table().to_pandas()})
    config = cfg.model_dump(mode="json")
    blocks = [ids[i:i + BLOCK_SIZE] for i in range(0, len(ids), BLOCK_SIZE)]
    pending, running, parts = list(range(len(blocks))), {}, {}
    with tqdm(total=len(ids), unit="adv", desc="experiment", disable=not show_progress) as bar:
        while pending or running:
            while pending and len(running) < cfg.shards:
                b = pending.pop(0)
                running[_run_block_task.remote(config, facts, blocks[b], shared)] = b
            done, _ = ray.wait(list(running), num_returns=1)
            b = running.pop(done[0])
            parts[b] = ray.get(done[0])
            bar.update(len(blocks[b]))
    tables = {t: pd.concat([parts[b][t] for b in sorted(parts) if t in parts[b]],
                           ignore_index=True) for t in TABLES
              if any(t in p for p in parts.values())}
    result = analysis.analyse(cfg, tables, facts, meta)
    result["seconds"] = round(time.time() - started, 1)
    with root.staging("experiment") as staged:
        folder = f"{staged}/{dest}"
        root.fs.create_dir(folder, recursive=True)
        for name, table in tables.items():
            root.write_parquet(pa.Table.from_pandas(table, preserve_index=False),
                               f"{folder}/{name}.parquet")
        if "bandit" in tables:  # the same rows in the general schema: `guidance ope` reads it
            root.write_parquet(bandit_table(analysis.to_bandit(tables["bandit"])[0]),
                               f"{folder}/logged_bandit.parquet")
        with root.fs.open_output_stream(f"{folder}/results.json") as f:
            f.write(json.dumps(result, indent=2, default=_json).encode())
        with root.fs.open_output_stream(f"{folder}/index.html") as f:
            f.write(report.render_html(result, tables).encode())
        root.publish(staged, [dest], overwrite=cfg.overwrite)
    result["report"] = root.join(dest)
    return result


def _json(v):
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON")
