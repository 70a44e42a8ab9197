"""FAISS item index: build time, queries per second and recall@100 against exact search, for a
100k and a 1M item catalog of clustered 64-d embeddings (the shape a two-tower model produces).

    .venv/bin/python benchmarks/index.py [--sizes 100000 1000000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.index import ann  # noqa: E402


def catalog(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(100, n // 500), d)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)]
    return x + 0.5 * rng.normal(size=(n, d)).astype(np.float32)


def qps(index: faiss.Index, q: np.ndarray, k: int = 100) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    _, rows = index.search(q, k)
    return len(q) / (time.perf_counter() - started), rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--queries", type=int, default=2000)
    args = ap.parse_args()
    print(f"faiss threads: {faiss.omp_get_max_threads()}")
    print(f"{'items':>10}{'kind':>10}{'nprobe':>8}{'build s':>9}{'exact qps':>11}"
          f"{'index qps':>11}{'speed-up':>10}{'recall@100':>12}")
    for n in args.sizes:
        x = catalog(n, args.dim, seed=n)
        rng = np.random.default_rng(1)
        q = ann.normalise(x[rng.choice(n, args.queries, replace=False)]
                          + 0.5 * rng.normal(size=(args.queries, args.dim)).astype(np.float32))
        idx = ann.build(x, np.arange(n), exact_max=50_000)
        exact = faiss.IndexFlatIP(args.dim)
        exact.add(ann.normalise(x))
        exact_qps, truth = qps(exact, q)
        index_qps, found = qps(idx.index, q)
        recall = ann.recall_at_k(found, truth)
        print(f"{n:>10,}{idx.kind:>10}{str(idx.nprobe):>8}{idx.build_seconds:>9.1f}"
              f"{exact_qps:>11,.0f}{index_qps:>11,.0f}{index_qps / exact_qps:>9.1f}×"
              f"{recall:>12.3f}")


if __name__ == "__main__":
    main()
