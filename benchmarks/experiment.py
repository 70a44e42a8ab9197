"""Experiment throughput: 2,000 advertisers × 28 days × 2 arms (logging rules and the learned
policy, paired) against the world loop alone over the same advertisers and days (the history and
the experiment's days under the logging policy) in the same process. Target: under 10 minutes.

Needs a world with a promoted model under --root (what `make demo` leaves in .guidance/); with
--build, makes one first in a temporary folder (the demo's steps: world, prepare, train,
evaluate, promote), which takes several minutes and is not timed.

    .venv/bin/python benchmarks/experiment.py [--root .guidance] [--advertisers 2000]
        [--days 28] [--build]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.experiments.config import ExperimentConfig  # noqa: E402
from pipelines.experiments.job import run_experiment, world_facts  # noqa: E402
from pipelines.runtime import ensure_ray  # noqa: E402
from pipelines.storage.root import Root  # noqa: E402
from pipelines.world.config import WorldConfig  # noqa: E402
from pipelines.world.job import generate, read_manifest  # noqa: E402

TARGET_S = 600


def build(root: str) -> None:
    """The demo's world and promoted model under `root`."""
    from pipelines.evaluation.evaluate import evaluate
    from pipelines.labels.config import PrepareConfig
    from pipelines.labels.prepare import prepare
    from pipelines.models.config import TrainConfig
    from pipelines.models.job import fit_and_register
    from pipelines.promotion.promote import PromoteConfig, promote

    generate(WorldConfig(scale="small", seed=7, root=root), show_progress=False)
    prepare(PrepareConfig(root=root, version="demo"), show_progress=False)
    fit_and_register(TrainConfig(root=root))
    evaluate(Root(root))
    promote(PromoteConfig(root=root, force=True, reason="benchmark world"))


def baseline(root: str, advertisers: int, days: int) -> float:
    """Seconds for the world loop alone: the same seed and advertisers over the history and the
    experiment's days under the logging policy, on the same Ray, written to a scratch root."""
    facts = world_facts(read_manifest(Root(root)))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = WorldConfig(scale="small", seed=facts.seed, advertisers=advertisers,
                          days=facts.days + days, start_date=facts.start, root=tmp,
                          overwrite=True)
        t0 = time.perf_counter()
        generate(cfg, show_progress=False)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".guidance")
    ap.add_argument("--advertisers", type=int, default=2000)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--build", action="store_true", help="Build a world and model first.")
    args = ap.parse_args()
    ensure_ray()
    scratch = tempfile.TemporaryDirectory() if args.build else None
    root = scratch.name if scratch else args.root
    if scratch:
        build(root)
    cfg = ExperimentConfig(root=root, name="benchmark", arms=("logging", "learned"),
                           days=args.days, design="paired", advertisers=args.advertisers,
                           overwrite=True)
    t0 = time.perf_counter()
    result = run_experiment(cfg, show_progress=False)
    seconds = time.perf_counter() - t0
    base = baseline(root, args.advertisers, args.days)
    n = result["world"]["advertisers"]
    print(f"experiment: {n:,} advertisers × {args.days} days × 2 arms (paired): "
          f"{seconds:.1f} s (target {TARGET_S} s: {'met' if seconds < TARGET_S else 'MISSED'})")
    print(f"baseline, the world loop alone over history + {args.days} days: {base:.1f} s; "
          f"experiment / baseline {seconds / base:.2f}×")
    print(result["verdict"])
    for t in result["targets"]:
        print(f"  {t['target']}: {t['figure']:.3f} ({'met' if t['met'] else 'MISSED'})")
    if scratch:
        scratch.cleanup()


if __name__ == "__main__":
    main()
