"""The ranker against LightGBM on several worlds: `make demo`'s pipeline (world generate, prepare,
train, evaluate) on one root per world seed, then a table of the adoption AUCs. One world's test
split cannot tell the two apart (its 95 % interval is about ±0.01), so this asks whether either
is ahead across worlds. About 8 minutes a small world on 2 cores.

    .venv/bin/python benchmarks/worlds.py [--seeds 7 11 12 13] [--scale small]
        [--base /tmp/guidance-worlds] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.evaluation.results import read_result  # noqa: E402
from pipelines.registry import store  # noqa: E402
from pipelines.storage.root import Root  # noqa: E402

STEPS = (["world", "generate", "--overwrite"], ["prepare", "--version", "bench", "--overwrite"],
         ["train"], ["evaluate"])


def run_world(seed: int, scale: str, root: Path) -> dict:
    """Every step of the pipeline on its own root; the evaluation's ranking metrics."""
    for step in STEPS:
        extra = ["--scale", scale, "--seed", str(seed)] if step[0] == "world" else []
        cmd = [sys.executable, "-m", "cli.main", *step, *extra, "--root", str(root)]
        print(f"world {seed}: {step[0]}", flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"world {seed}: `{' '.join(step)}` failed: "
                     f"{(done.stderr or done.stdout).strip().splitlines()[-1]}")
    r = Root(str(root))
    return read_result(r, store.latest(r))  # the version just trained and evaluated


def row(seed: int, result: dict) -> dict:
    r = result["ranking"]
    seeds, diff = r["gbdt_seeds"], r["adoption_auc_minus_gbdt"]
    return {"seed": seed, "ranker": r["adoption_auc"], "gbdt": r["gbdt_adoption_auc"],
            "gbdt_mean": seeds["mean"], "gbdt_averaged": seeds["averaged_adoption_auc"],
            "popularity": r["popularity_adoption_auc"], "oracle": r["oracle_adoption_auc"],
            "share_of_gap": result["figures"]["adoption_auc_share_of_gap"],
            "minus_gbdt": diff["difference"], "ci95": [diff["ci95_low"], diff["ci95_high"]]}


def pooled(rows: list[dict]) -> tuple[float, float, float]:
    """The worlds' differences pooled by inverse variance (fixed effect), each world's standard
    error read off its 95 % bootstrap interval as width / 3.92: (difference, low, high)."""
    se = np.array([(r["ci95"][1] - r["ci95"][0]) / (2 * 1.96) for r in rows])
    w = 1 / se ** 2
    mean = float(np.sum(w * [r["minus_gbdt"] for r in rows]) / w.sum())
    half = 1.96 / np.sqrt(w.sum())
    return mean, mean - half, mean + half


def table(rows: list[dict]) -> str:
    lines = ["| world seed | ranker | LightGBM seed 0 | LightGBM seeds: mean / averaged | "
             "ranker − LightGBM seed 0 (95 % interval) | share of the gap |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['seed']} | {r['ranker']:.4f} | {r['gbdt']:.4f} | {r['gbdt_mean']:.4f} / "
              f"{r['gbdt_averaged']:.4f} | {r['minus_gbdt']:+.4f} ({r['ci95'][0]:+.4f} to "
              f"{r['ci95'][1]:+.4f}) | {r['share_of_gap']:.0%} |" for r in rows]
    mean = {k: np.mean([r[k] for r in rows]) for k in
            ("ranker", "gbdt", "gbdt_mean", "gbdt_averaged", "minus_gbdt", "share_of_gap")}
    diff, low, high = pooled(rows)
    lines.append(f"| mean | {mean['ranker']:.4f} | {mean['gbdt']:.4f} | {mean['gbdt_mean']:.4f} / "
                 f"{mean['gbdt_averaged']:.4f} | {mean['minus_gbdt']:+.4f}; pooled {diff:+.4f} "
                 f"({low:+.4f} to {high:+.4f}) | {mean['share_of_gap']:.0%} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 12, 13])
    ap.add_argument("--scale", default="small", choices=["small", "medium", "large"],
                    help="A tiny world has too few days for a test split.")
    ap.add_argument("--base", type=Path, default=Path("/tmp/guidance-worlds"))
    ap.add_argument("--keep", action="store_true", help="Keep each world's root.")
    args = ap.parse_args()
    rows = []
    for seed in args.seeds:
        root = args.base / f"{args.scale}-{seed}"
        rows.append(row(seed, run_world(seed, args.scale, root)))
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(table(rows))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
