"""How Ray Train runs each model of this package (the ranker, the two towers): its workers and
where it keeps its runs, the same for both."""

from __future__ import annotations

from ray.train import CheckpointConfig, RunConfig, ScalingConfig

from pipelines.models.config import TrainConfig
from pipelines.storage.root import Root

RUNS = "models/runs"  # under the root: on a cluster, the shared store every worker reaches


def scaling(cfg: TrainConfig) -> ScalingConfig:
    """`cfg.workers` data-parallel workers, a GPU each with `cfg.gpu`, packed onto few nodes or
    with `cfg.spread` placed on as many as possible."""
    return ScalingConfig(num_workers=cfg.workers, use_gpu=cfg.gpu,
                         placement_strategy="SPREAD" if cfg.spread else "PACK")


def run_config(root: Root, name: str, callbacks: list) -> RunConfig:
    """Run `name` under `<root>/models/runs/`, through the root's filesystem; the last two
    checkpoints kept."""
    return RunConfig(name=name, **root.train_storage(RUNS),
                     checkpoint_config=CheckpointConfig(num_to_keep=2), callbacks=callbacks)
