"""World generation throughput: the sharded Ray job against a plain single-process loop over the
same blocks, at two sizes, plus the projected time of the `large` scale (1M advertisers).

    .venv/bin/python benchmarks/world.py [--sizes 1000 4000] [--days 90]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.world.config import BLOCK_SIZE, SCALES, WorldConfig  # noqa: E402
from pipelines.runtime import ensure_ray  # noqa: E402
from pipelines.world.job import _write_block, generate  # noqa: E402


def plain_loop(cfg: WorldConfig, staged: str) -> int:
    """The same per-block work, one block after another in this process."""
    rows = 0
    for b in range(cfg.n_blocks):
        out = _write_block(cfg.model_dump(mode="json"), b, staged)
        rows += sum(out["rows"].values())
    return rows  # the market and global catalog, written once by the Ray job, are not counted


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs=2, default=[1000, 4000])
    ap.add_argument("--days", type=int, default=90)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    ensure_ray()
    print(f"{'advertisers':>12}{'rows':>12}{'plain s':>9}{'ray s':>8}{'rows/s ray':>12}"
          f"{'adv/s ray':>10}{'ray/plain':>10}")
    last = None
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = WorldConfig(scale="small", advertisers=n, days=args.days, seed=7,
                              shards=cores, root=f"{tmp}/ray")
            t0 = time.perf_counter()
            manifest = generate(cfg, show_progress=False)
            ray_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            plain_loop(cfg.model_copy(update={"root": f"{tmp}/plain"}), f"{tmp}/plain")
            plain_s = time.perf_counter() - t0
        total = sum(v for k, v in manifest["rows"].items())
        print(f"{n:>12,}{total:>12,}{plain_s:>9.1f}{ray_s:>8.1f}{total / ray_s:>12,.0f}"
              f"{n / ray_s:>10.0f}{plain_s / ray_s:>10.2f}")
        last = (n, ray_s, plain_s)
    n, ray_s, plain_s = last
    large = SCALES["large"][0]
    per_core = n / plain_s  # advertisers per second on one core
    efficiency = (plain_s / ray_s) / min(cores, -(-n // BLOCK_SIZE))
    print(f"\nper core: {per_core:.0f} advertisers/s; Ray parallel efficiency on {cores} cores: "
          f"{efficiency:.0%}")
    print(f"projected `large` ({large:,} advertisers, {args.days} days): "
          f"{large / (per_core * cores * efficiency) / 3600:.2f} h on this machine, "
          f"{large / (per_core * 64 * efficiency) / 60:.1f} min on a 64-core cluster")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
