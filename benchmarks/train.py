"""Ray Train overhead: the ranker's training loop under Ray Train (1 worker, data streamed from
Ray Data) against a plain PyTorch loop over the same examples in memory, same model, same batch
size, in the same process. Steady state: the first epoch of each is left out.

    .venv/bin/python benchmarks/train.py [--examples 200000] [--epochs 3] [--batch-size 1024]
        [--members 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ray  # noqa: E402
from ray.train import RunConfig, ScalingConfig  # noqa: E402
from ray.train.torch import TorchTrainer  # noqa: E402

from pipelines.models.config import TrainConfig  # noqa: E402
from pipelines.models.features import FeatureSpec  # noqa: E402
from pipelines.models.loop_config import RankerLoopConfig  # noqa: E402
from pipelines.models.train import build_model, train_loop_per_worker, train_step  # noqa: E402
from pipelines.runtime import ensure_ray  # noqa: E402

N_NUMERIC, CARDS = 134, [13, 9, 4, 4, 5, 4, 6, 33, 10, 4, 5]


def spec() -> FeatureSpec:
    names = [f"x{i}" for i in range(N_NUMERIC)]
    cats = [f"c{i}" for i in range(len(CARDS))]
    return FeatureSpec(names, [0.0] * N_NUMERIC, [1.0] * N_NUMERIC, [], cats,
                       {c: [str(j) for j in range(k - 1)] for c, k in zip(cats, CARDS)})


def synthetic(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, N_NUMERIC)).astype(np.float32)
    logit = num[:, :8].sum(axis=1) / 3 - 2
    impact = np.where(rng.uniform(size=n) < 0.1, rng.normal(5, 3, n), np.nan).astype(np.float32)
    return {"numeric": num,
            "categorical": np.stack([rng.integers(0, k, n) for k in CARDS], 1).astype(np.int64),
            "position": rng.integers(0, 5, n).astype(np.int64),
            "surface": rng.integers(0, 4, n).astype(np.int64),
            "adopted": (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32),
            "dismissed": (rng.uniform(size=n) < 0.08).astype(np.float32),
            "impact": impact}


def plain(data: dict[str, np.ndarray], cfg: TrainConfig) -> list[float]:
    """examples/s of each epoch of a plain loop over in-memory tensors."""
    model = build_model(spec(), cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    t = {k: torch.from_numpy(v) for k, v in data.items()}
    n, rates = len(data["adopted"]), []
    gen = torch.Generator().manual_seed(0)
    for _ in range(cfg.epochs):
        model.train()
        started = time.perf_counter()
        order = torch.randperm(n, generator=gen)  # the Ray Train loop shuffles too
        shuffled = {k: v[order] for k, v in t.items()}
        for i in range(0, n, cfg.batch_size):
            b = {k: v[i:i + cfg.batch_size] for k, v in shuffled.items()}
            train_step(model, opt, b, "cpu", gen)
        rates.append(n / (time.perf_counter() - started))
    return rates


def with_ray_train(data: dict[str, np.ndarray], cfg: TrainConfig) -> list[float]:
    """examples/s of each epoch as reported by the project's own Ray Train loop."""
    n = len(data["adopted"])
    ds = ray.data.from_items([{"i": i} for i in range(0, n, 8192)]).map_batches(
        lambda b: {k: v[int(b["i"][0]):int(b["i"][0]) + 8192] for k, v in data.items()},
        batch_size=1).materialize()
    val = ray.data.from_items([{"i": 0}]).map_batches(
        lambda b: {k: v[:4096] for k, v in data.items()}, batch_size=1).materialize()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = TorchTrainer(
            train_loop_per_worker,
            train_loop_config=RankerLoopConfig(job=cfg, spec=spec()).model_dump(),
            scaling_config=ScalingConfig(num_workers=1),
            run_config=RunConfig(name="bench", storage_path=tmp),
            datasets={"train": ds, "validation": val})
        result = trainer.fit()
        history = result.metrics_dataframe
    return history["examples_per_s"].tolist()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=200_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--members", type=int, default=TrainConfig().members)
    args = ap.parse_args()
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, members=args.members)
    data = synthetic(args.examples)
    ensure_ray()
    ray.data.DataContext.get_current().enable_progress_bars = False
    torch.set_num_threads(1)  # the Ray Train worker gets one CPU; give the plain loop the same
    base = plain(data, cfg)
    rt = with_ray_train(data, cfg)
    b, r = float(np.mean(base[1:])), float(np.mean(rt[1:]))
    print(f"plain PyTorch loop: {', '.join(f'{x:,.0f}' for x in base)} examples/s by epoch")
    print(f"Ray Train (1 worker): {', '.join(f'{x:,.0f}' for x in rt)} examples/s by epoch")
    print(f"steady state: plain {b:,.0f}/s, Ray Train {r:,.0f}/s, overhead {1 - r / b:.1%} "
          f"(ratio {r / b:.2f})")


if __name__ == "__main__":
    main()
