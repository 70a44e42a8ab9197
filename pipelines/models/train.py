"""`guidance train`: the multi-task ranker with Ray Train, fed from the snapshot by Ray Data.

Each worker reads its shard of the encoded train split, reports validation metrics every epoch
with a checkpoint, and on a rerun with the same run name continues from the last checkpoint
(Ray 2.60: same RunConfig(storage_path, name), then `ray.train.get_checkpoint()`).
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import ray
import ray.train
import torch
from ray.train.torch import TorchTrainer
from sklearn.metrics import log_loss, roc_auc_score
from torch.optim.swa_utils import AveragedModel

from pipelines.errors import ConfigError
from pipelines.storage.snapshots import latest_version, snapshot_path
from pipelines.models import checkpoints, features, progress, ranker, trainer
from pipelines.models.config import TrainConfig
from pipelines.models.loop_config import RankerLoopConfig
from pipelines.runtime import ensure_ray, require
from pipelines.storage.root import Root
from pipelines.storage.version import code_version


def _encode_batch(batch: pd.DataFrame, spec: features.FeatureSpec) -> dict[str, np.ndarray]:
    return {**features.encode(batch, spec), **features.targets(batch)}


def encoded_dataset(root: Root, snapshot: str, split: str, spec: features.FeatureSpec,
                    shuffle_blocks: bool = False):
    path = snapshot_path(root, snapshot, "examples", f"split={split}")
    ds = ray.data.read_parquet(path, filesystem=root.fs)
    if shuffle_blocks:
        ds = ds.randomize_block_order()
    return ds.map_batches(_encode_batch, batch_format="pandas", fn_kwargs={"spec": spec})


def build_model(spec: features.FeatureSpec, cfg: TrainConfig) -> ranker.MultiTaskRanker:
    """The ranker `cfg` describes, with its seeded initial weights, on the CPU."""
    torch.manual_seed(cfg.seed)
    return ranker.MultiTaskRanker(spec.n_numeric, spec.cardinalities, hidden=cfg.hidden,
                                  n_experts=cfg.experts, members=cfg.members)


def _forward(model, batch, device):
    return model(batch["numeric"].to(device), batch["categorical"].to(device),
                 batch["position"].to(device), batch["surface"].to(device))


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer,
               batch: dict[str, torch.Tensor], device: torch.device | str,
               generator: torch.Generator) -> dict[str, float]:
    """One optimiser step of the ensemble on `batch`, every tensor of it moved to `device`
    (where `model` lives); each member weights the rows by its own Poisson draws from
    `generator`, which lives on the CPU so that a run draws the same on any device. Returns
    the loss and its parts, each the members' mean."""
    total, parts = ranker.bagged_loss(model, batch, device, generator)
    opt.zero_grad()
    total.backward()
    opt.step()
    return parts


def eval_step(model: torch.nn.Module, batch: dict[str, torch.Tensor],
              device: torch.device | str) -> dict[str, torch.Tensor]:
    """P(adopt) and P(dismiss) of every row of `batch` at its logged position, on `device`."""
    out = _forward(model, batch, device)
    return {"adopt": torch.sigmoid(out["adopt"]), "dismiss": torch.sigmoid(out["dismiss"])}


def train_loop_per_worker(config: dict) -> None:
    """One worker's training: epochs over its shard, validation, a checkpoint per epoch.
    `config` is a `RankerLoopConfig.model_dump()`, validated again here. From the config's
    `average_start` on, each epoch's weights join a running mean (stochastic weight averaging,
    Izmailov et al. 2018), which the checkpoint keeps and the run publishes. On the small world
    the mean of the last epochs ranked at least as well as the epoch a small validation split
    picks as best, and varied less with the seed; it needs no choice, so every worker agrees."""
    loop = RankerLoopConfig.model_validate(config)
    cfg, spec = loop.job, loop.spec
    device = ray.train.torch.get_device()  # where prepare_model puts the model and Ray the batches
    model = ray.train.torch.prepare_model(build_model(spec, cfg))
    net = getattr(model, "module", model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    first_epoch, kept = checkpoints.restore(model, opt, device)
    start = cfg.average_start
    average = AveragedModel(net, device=device)
    # A run resumed with more epochs than it started with may average from a later epoch
    # (the default start depends on the epochs); a mean begun elsewhere is dropped (the epochs
    # it needs are all still to come).
    if kept.get("average_from") != start:
        kept = {}
    if kept:
        average.module.load_state_dict(kept["average"])
        average.n_averaged.fill_(kept["averaged_epochs"])
    train_shard = ray.train.get_dataset_shard("train")
    val_shard = ray.train.get_dataset_shard("validation")
    rank = ray.train.get_context().get_world_rank()
    for epoch in range(first_epoch, cfg.epochs):
        model.train()
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch * 1009 + rank)
        started, seen, parts = time.perf_counter(), 0, []
        # The snapshot's files are in time order: without a shuffle every batch would hold one
        # stretch of days of one block of advertisers, and SGD would chase the drift.
        for batch in train_shard.iter_torch_batches(
                batch_size=cfg.batch_size, prefetch_batches=4,
                local_shuffle_buffer_size=cfg.shuffle_buffer,
                local_shuffle_seed=cfg.seed * 1009 + epoch * 101 + rank):
            parts.append(train_step(model, opt, batch, device, gen))
            seen += len(batch["adopted"])
        elapsed = time.perf_counter() - started
        metrics = {"epoch": epoch, "resumed_from_epoch": first_epoch,
                   "examples_per_s": seen / max(elapsed, 1e-9),
                   **{k: float(np.mean([p[k] for p in parts])) for k in parts[0]}}
        metrics.update(_validate(model, val_shard, device))
        if epoch >= start:
            average.update_parameters(net)
            metrics.update({f"averaged_{k}": v for k, v in
                            _validate(average.module, val_shard, device).items()})
            kept = {"average_from": start, "averaged_epochs": int(average.n_averaged),
                    "average": {k: v.detach().cpu().clone()
                                for k, v in average.module.state_dict().items()}}
        metrics.update(average_from_epoch=start,
                       averaged_epochs=int(kept.get("averaged_epochs", 0)))
        checkpoints.report(metrics, model, opt, epoch, extra=kept)


def _validate(model, shard, device) -> dict[str, float]:
    model.eval()
    p_a, p_d, y_a, y_d = [], [], [], []
    with torch.no_grad():
        for batch in shard.iter_torch_batches(batch_size=8192):
            p = eval_step(model, batch, device)
            p_a.append(p["adopt"].cpu().numpy())
            p_d.append(p["dismiss"].cpu().numpy())
            # under Ray Train the batches arrive on the worker's device too
            y_a.append(batch["adopted"].cpu().numpy())
            y_d.append(batch["dismissed"].cpu().numpy())
    p_a, p_d, y_a, y_d = map(np.concatenate, (p_a, p_d, y_a, y_d))
    return {"val_adoption_auc": float(roc_auc_score(y_a, p_a)),
            "val_adoption_logloss": float(log_loss(y_a, p_a, labels=[0, 1])),
            "val_dismissal_auc": float(roc_auc_score(y_d, p_d))}


# Settings that may change between a run and its resumption (a pydantic `exclude`); every
# other one shapes a model: the ranker's, or the two towers' (run `<name>-two-tower`).
RESUMABLE = {"root": True, "snapshot": True, "run_name": True, "epochs": True,
             "workers": True, "gpu": True, "spread": True, "retrieval": {"epochs"}}


def claim_run(root: Root, cfg: TrainConfig, snapshot: str) -> str:
    """The Ray Train run to write: `--run-name`, or one named after the snapshot and the settings
    that shape the model (its config and the pipelines' source), so a rerun resumes only a run
    of the same data and model. Naming a run that was started on another snapshot (or a rebuilt
    one) or another model is refused: resuming it would load weights of a different shape, or
    silently keep a stale model."""
    with root.fs.open_input_stream(snapshot_path(root, snapshot, "manifest.json")) as f:
        created = json.loads(f.read())["created_at"]
    shape = cfg.model_dump(mode="json", exclude=RESUMABLE)
    code = code_version()["source_sha256"]  # the pipelines' source: the model's architecture
    identity = hashlib.sha256(json.dumps({"snapshot": snapshot, "created_at": created,
                                          "code": code, **shape},
                                         sort_keys=True).encode()).hexdigest()[:12]
    name = cfg.run_name or f"ranker-{snapshot}-{identity}"
    marker = f"models/run-identity/{name}.json"
    if root.exists(marker):
        with root.fs.open_input_stream(root.join(marker)) as f:
            if json.loads(f.read())["identity"] != identity:
                raise ConfigError(f"run {name!r} was started on another snapshot or model "
                                  f"configuration; pass a new --run-name")
    else:
        root.write_atomic(marker, json.dumps({"identity": identity, "snapshot": snapshot,
                                              "snapshot_created_at": created, "code": code,
                                              **shape}).encode())
    return name


def train(cfg: TrainConfig, show_progress: bool = True) -> dict:
    """Fit the ranker; returns the snapshot, the run name, the last epoch's metrics, the
    published weights (on the CPU), the feature spec and `cfg`. With `show_progress`, a line
    per epoch on stderr."""
    root = Root(cfg.root)
    snapshot = cfg.snapshot or latest_version(root)
    run_name = claim_run(root, cfg, snapshot)
    spec = features.fit(pads.dataset(snapshot_path(root, snapshot, "examples", "split=train"),
                                     filesystem=root.fs, format="parquet"))
    local = ensure_ray()
    scaling = trainer.scaling(cfg)
    # Ray Data's reading tasks need a CPU beside the workers' own: with --workers 2 on a
    # 2-CPU local Ray, training never started (killed after 500 s)
    needed = dict(scaling.total_resources)
    needed["CPU"] = needed.get("CPU", 0) + 1
    require(needed, "training", local)
    with progress.epoch_lines("ranker", cfg.epochs, show_progress) as callbacks:
        fit = TorchTrainer(
            train_loop_per_worker,
            train_loop_config=RankerLoopConfig(job=cfg, spec=spec).model_dump(),
            scaling_config=scaling,
            run_config=trainer.run_config(root, run_name, callbacks),
            datasets={"train": encoded_dataset(root, snapshot, "train", spec,
                                               shuffle_blocks=True),
                      "validation": encoded_dataset(root, snapshot, "validation", spec)},
        )
        result = fit.fit()
    return {"snapshot": snapshot, "run_name": run_name, "metrics": result.metrics,
            "state": checkpoints.final_state(result), "spec": spec, "config": cfg}


def predict(model: ranker.MultiTaskRanker, df: pd.DataFrame, spec: features.FeatureSpec,
            at_top: bool = False, batch_size: int = 16384) -> dict[str, np.ndarray]:
    """Adoption and dismissal probabilities and impact quantiles (conversions) per row: at the
    logged position, or with `at_top` at position 1 of the row's surface, as serving scores."""
    model.eval()
    outs = {"adopt": [], "dismiss": [], "impact": []}
    with torch.no_grad():
        for i in range(0, len(df), batch_size):
            enc = features.encode(df.iloc[i:i + batch_size], spec, serving=at_top)
            t = {k: torch.from_numpy(v) for k, v in enc.items()}
            out = model(t["numeric"], t["categorical"], t["position"], t["surface"])
            outs["adopt"].append(torch.sigmoid(out["adopt"]).numpy())
            outs["dismiss"].append(torch.sigmoid(out["dismiss"]).numpy())
            outs["impact"].append(ranker.unsquash(out["impact"].numpy()))
    return {k: np.concatenate(v) for k, v in outs.items()}
