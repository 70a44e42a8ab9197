"""What the ranker ensemble costs a request: the forward pass at serving (every candidate at
position 1, one CPU thread, as a ranker replica runs it) for a request's candidates, with N
members against one member in the same process.

    .venv/bin/python benchmarks/ranker.py [--members 5] [--candidates 50 200 1000] [--repeats 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.train import CARDS, N_NUMERIC, synthetic  # noqa: E402
from pipelines.models.config import TrainConfig  # noqa: E402
from pipelines.models.ranker import MultiTaskRanker  # noqa: E402


def latency_ms(model: MultiTaskRanker, batch: dict[str, torch.Tensor], repeats: int
               ) -> tuple[float, float]:
    """(median, p99) milliseconds of one forward pass."""
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            started = time.perf_counter()
            model(batch["numeric"], batch["categorical"], batch["position"], batch["surface"])
            times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times)), float(np.percentile(times, 99))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=TrainConfig().members)
    ap.add_argument("--candidates", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = TrainConfig()
    models = {m: MultiTaskRanker(N_NUMERIC, CARDS, hidden=cfg.hidden,
                                 n_experts=cfg.experts, members=m).eval()
              for m in (1, args.members)}
    print(f"{'candidates':>10} {'1 member median/p99 ms':>24} "
          f"{f'{args.members} members median/p99 ms':>26} {'ratio':>6}")
    for n in args.candidates:
        batch = {k: torch.from_numpy(v) for k, v in synthetic(n).items()}
        for m in models.values():
            latency_ms(m, batch, 20)  # warm-up
        one = latency_ms(models[1], batch, args.repeats)
        many = latency_ms(models[args.members], batch, args.repeats)
        print(f"{n:>10} {one[0]:>14.2f} / {one[1]:>6.2f} {many[0]:>16.2f} / {many[1]:>6.2f} "
              f"{many[0] / one[0]:>6.2f}")


if __name__ == "__main__":
    main()
