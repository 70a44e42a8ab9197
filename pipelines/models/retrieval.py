"""Training, embedding and evaluating the two-tower retrieval model, and its item index."""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import ray
import ray.train
import torch
from ray.train.torch import TorchTrainer

from pipelines.index import ann
from pipelines.models import checkpoints, features, progress, trainer
from pipelines.models.config import RetrievalConfig, TrainConfig
from pipelines.models.loop_config import ItemArrays, TwoTowerLoopConfig
from pipelines.models.two_tower import (
    ENTITY_ACTIONS, ITEM_FACT_SIZES, ItemTable, TwoTower, in_batch_loss, item_table,
    uniform_negatives,
)
from pipelines.storage.root import Root
from pipelines.storage.snapshots import snapshot_path
from pipelines.domain.vocabulary import SURFACES

KS = (10, 50, 100)


def _model(spec: features.FeatureSpec, n_items: int, seed: int) -> TwoTower:
    torch.manual_seed(seed)
    return TwoTower(spec.n_numeric, spec.cardinalities, n_items)


def positives(df: pd.DataFrame, items: ItemTable) -> pd.DataFrame:
    """Adopted entity items with a row in the item table."""
    pos = df[df.label_adopted & df.action_type.isin(ENTITY_ACTIONS)].copy()
    pos["item_row"] = items.row_of(pos.item_id.to_numpy())
    return pos[pos.item_row >= 0]


def _encode(df: pd.DataFrame, spec: features.FeatureSpec, log_q: np.ndarray) -> dict:
    enc = features.encode(df, spec, serving=True)
    rows = df.item_row.to_numpy(np.int64)
    return {"numeric": enc["numeric"], "categorical": enc["categorical"], "item_row": rows,
            "log_q": log_q[rows].astype(np.float32)}


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer,
               batch: dict[str, torch.Tensor], items: dict[str, torch.Tensor],
               cfg: RetrievalConfig, generator: torch.Generator,
               device: torch.device | str) -> float:
    """One optimiser step of the two towers on a batch of adoptions, every tensor on `device`
    (where `model` and `items` live): the batch's other adoptions are the negatives, each
    logit lowered by its log q, plus `cfg.random_negatives` items drawn uniformly by
    `generator`, which lives on the CPU (the same draws on any device); the draws are moved.
    Returns the loss."""
    b = {k: batch[k].to(device) for k in ("numeric", "categorical", "item_row", "log_q")}
    negatives, log_u = None, 0.0
    if cfg.random_negatives:
        rows, log_u = uniform_negatives(len(items["action"]), cfg.random_negatives, generator)
        negatives = rows.to(device)
    ctx, item, extra = model(b["numeric"], b["categorical"], b["item_row"], items, negatives)
    loss = in_batch_loss(ctx, item, b["log_q"], extra, log_u, temperature=cfg.temperature)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach().item()


def train_loop_per_worker(config: dict) -> None:
    """One worker's training of the two towers: epochs over its shard of the adoptions, a
    checkpoint per epoch; a rerun of the run resumes from the last one. `config` is a
    `TwoTowerLoopConfig.model_dump()`, validated again here."""
    loop = TwoTowerLoopConfig.model_validate(config)
    cfg = loop.job.retrieval
    device = ray.train.torch.get_device()  # where prepare_model puts the model and Ray the batches
    items = loop.items.tensors(device)
    model = ray.train.torch.prepare_model(_model(loop.spec, len(loop.items), loop.job.seed))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    first, _ = checkpoints.restore(model, opt, device)
    shard = ray.train.get_dataset_shard("train")
    gen = torch.Generator().manual_seed(loop.job.seed)
    for epoch in range(first, cfg.epochs):
        model.train()
        started, seen, losses = time.perf_counter(), 0, []
        for batch in shard.iter_torch_batches(batch_size=cfg.batch_size):
            losses.append(train_step(model, opt, batch, items, cfg, gen, device))
            seen += len(batch["item_row"])
        elapsed = time.perf_counter() - started
        checkpoints.report({"epoch": epoch, "resumed_from_epoch": first,
                            "loss": float(np.mean(losses)) if losses else 0.0,
                            "examples_per_s": seen / max(elapsed, 1e-9)},
                           model, opt, epoch)


def train(root: Root, snapshot: str, catalog: pd.DataFrame, cfg: TrainConfig, run_name: str,
          show_progress: bool = True) -> dict:
    """Fit the two towers (`cfg.retrieval`, on `cfg.workers` workers) on the train split's
    entity adoptions, as Ray Train run `<run_name>-two-tower`; returns the model (on the CPU),
    the context spec, the item table, the number of positives and the last epoch's metrics.
    With `show_progress`, a line per epoch on stderr."""
    path = snapshot_path(root, snapshot, "examples", "split=train")
    num, cat = features.context_columns()
    spec = features.fit(pads.dataset(path, filesystem=root.fs, format="parquet"),
                        numeric=num, categorical=cat)
    items = item_table(catalog)
    pos = positives(pads.dataset(path, filesystem=root.fs, format="parquet").to_table(
        filter=pc.field("label_adopted")).to_pandas(), items)
    counts = np.bincount(pos.item_row, minlength=len(items)) + 1.0
    log_q = np.log(counts / counts.sum())
    ds = ray.data.from_pandas(pos).map_batches(
        _encode, batch_format="pandas", fn_kwargs={"spec": spec, "log_q": log_q})
    loop = TwoTowerLoopConfig(job=cfg, spec=spec, items=ItemArrays(
        **{k: getattr(items, k) for k in ITEM_FACT_SIZES}))
    with progress.epoch_lines("two-tower", cfg.retrieval.epochs, show_progress) as callbacks:
        fit = TorchTrainer(
            train_loop_per_worker, train_loop_config=loop.model_dump(),
            scaling_config=trainer.scaling(cfg),
            run_config=trainer.run_config(root, f"{run_name}-two-tower", callbacks),
            datasets={"train": ds})
        result = fit.fit()
    model = _model(spec, len(items), cfg.seed)
    model.load_state_dict(checkpoints.final_state(result))
    return {"model": model, "spec": spec, "items": items, "positives": len(pos),
            "metrics": result.metrics}


def item_embeddings(model: TwoTower, items: ItemTable) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model.embed_items(torch.arange(len(items)), items.tensors()).numpy()


def context_embeddings(model: TwoTower, df: pd.DataFrame, spec: features.FeatureSpec
                       ) -> np.ndarray:
    enc = features.encode(df, spec, serving=True)
    model.eval()
    with torch.no_grad():
        return model.embed_context(torch.from_numpy(enc["numeric"]),
                                   torch.from_numpy(enc["categorical"])).numpy()


def context_embedding_table(model: TwoTower, spec: features.FeatureSpec, context: pd.DataFrame
                            ) -> pa.Table:
    """Every campaign's context embedding on every surface: the context tower's summary of an
    advertiser and campaign, kept with the model as a signal other models and tools can reuse
    (nearest similar accounts, notification targeting) without running the tower."""
    parts = []
    for surface in SURFACES:
        emb = context_embeddings(model, context.assign(surface=surface), spec)
        parts.append(pa.table({
            "advertiser_id": pa.array(context.advertiser_id.to_numpy(np.int64)),
            "campaign_id": pa.array(context.campaign_id.to_numpy(np.int64)),
            "surface": pa.array([surface] * len(context)),
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(emb.astype(np.float32).ravel()), emb.shape[1]),
        }))
    return pa.concat_tables(parts)


def _ranks(scores: np.ndarray, target: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target item among its allowed items."""
    s = np.where(allowed, scores, -np.inf)
    own = s[np.arange(len(s)), target]
    return 1 + (s > own[:, None]).sum(axis=1)


def ranks(model: TwoTower, spec: features.FeatureSpec, items: ItemTable,
          train_df: pd.DataFrame, test_df: pd.DataFrame) -> pd.DataFrame:
    """The test split's adopted entity items, each with the 1-based rank of its item among every
    item the advertiser could be shown (global items and its own products), by the two towers
    (`rank_two_tower`) and by popularity in the train split (`rank_popularity`)."""
    test = positives(test_df, items)
    if test.empty:
        return test.assign(rank_two_tower=np.zeros(0, np.int64),
                           rank_popularity=np.zeros(0, np.int64))
    allowed = (items.advertiser_id[None, :] < 0) | (
        items.advertiser_id[None, :] == test.advertiser_id.to_numpy()[:, None])
    target = test.item_row.to_numpy()
    pos_train = positives(train_df, items)
    popularity = np.bincount(pos_train.item_row, minlength=len(items)).astype(float)
    tower = context_embeddings(model, test, spec) @ item_embeddings(model, items).T
    return test.assign(rank_two_tower=_ranks(tower, target, allowed),
                       rank_popularity=_ranks(np.tile(popularity, (len(test), 1)), target,
                                              allowed))


def summarise(ranked: pd.DataFrame) -> dict:
    """recall@K and NDCG@K (one relevant item per row) of each scorer's ranks."""
    out = {"rows": int(len(ranked))}
    if ranked.empty:
        return out
    for name in ("two_tower", "popularity"):
        r = ranked[f"rank_{name}"].to_numpy()
        out[name] = {
            "recall_at_k": {str(k): float(np.mean(r <= k)) for k in KS},
            "ndcg_at_k": {str(k): float(np.mean(np.where(r <= k, 1 / np.log2(r + 1), 0)))
                          for k in KS},
        }
    return out


def build_index(model: TwoTower, items: ItemTable) -> ann.ItemIndex:
    return ann.build(item_embeddings(model, items), items.item_id)


def state_bytes(model: TwoTower) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()
