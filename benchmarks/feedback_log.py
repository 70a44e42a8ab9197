"""Feedback log append throughput: events/s acknowledged (= durably committed) by N concurrent
threads, for SQLite with group commit, for Delta Lake with group commit, and for the baseline of
SQLite committing each event alone (same WAL + synchronous=FULL durability), in one run.

    .venv/bin/python benchmarks/feedback_log.py [--threads 1 8 32 64] [--seconds 3] [--dir DIR]

The log files are written under DIR (default: a temporary folder on the system's temp disk):
fsync cost, hence the figures, depend on that disk.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.feedback.delta_log import DeltaFeedbackLog  # noqa: E402
from pipelines.feedback.log import FeedbackLog  # noqa: E402
from pipelines.feedback.records import FeedbackEvent  # noqa: E402
from pipelines.feedback.sqlite_log import SqliteFeedbackLog  # noqa: E402

TARGET = 5_000  # events/s the service needs on one host
T0 = 1_717_200_000_000


def event(n: int) -> FeedbackEvent:
    return FeedbackEvent(event_id=f"e{n}", recommendation_id=f"r{n // 3}", advertiser_id=n % 997,
                         campaign_id=n % 4001, item_id=n % 50, action_type="raise_budget",
                         type="clicked", dismiss_reason=None, snooze_days=None,
                         occurred_at_ms=T0 + n)


def throughput(log: FeedbackLog, threads: int, seconds: float) -> tuple[float, int]:
    """(events/s, events) acknowledged by `threads` callers appending for `seconds`."""
    ids = itertools.count()  # next() on a count is atomic under the GIL
    done = [0] * threads
    stop = threading.Event()

    def work(t: int) -> None:
        while not stop.is_set():
            assert log.append_feedback(event(next(ids)))
            done[t] += 1

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for th in pool:
        th.start()
    time.sleep(seconds)
    stop.set()
    for th in pool:
        th.join()
    return sum(done) / (time.perf_counter() - started), sum(done)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 8, 32, 64])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    stores = {
        "sqlite, one commit per event (baseline)":
            lambda d: SqliteFeedbackLog(os.path.join(d, "log.db"), group_commit=False),
        "sqlite, group commit": lambda d: SqliteFeedbackLog(os.path.join(d, "log.db")),
        "delta, group commit": lambda d: DeltaFeedbackLog(os.path.join(d, "delta")),
    }
    print(f"cpus: {os.cpu_count()}, {args.seconds:g} s per cell, events/s acknowledged")
    print(f"{'store':<42}" + "".join(f"{f'{n} thr':>10}" for n in args.threads))
    rates: dict[str, list[float]] = {}
    for name, make in stores.items():
        rates[name] = []
        for n in args.threads:
            with tempfile.TemporaryDirectory(dir=args.dir) as d:
                log = make(d)
                try:
                    rates[name].append(throughput(log, n, args.seconds)[0])
                finally:
                    log.close()
        print(f"{name:<42}" + "".join(f"{r:>10,.0f}" for r in rates[name]), flush=True)
    base = rates["sqlite, one commit per event (baseline)"]
    for name in ("sqlite, group commit", "delta, group commit"):
        print(f"{name + ' / baseline':<42}"
              + "".join(f"{r / b:>9.1f}×" for r, b in zip(rates[name], base)))
    best = max(rates["sqlite, group commit"])
    verdict = "met" if best >= TARGET else "NOT met"
    print(f"target {TARGET:,} events/s (sqlite, group commit): {verdict}, best {best:,.0f}/s at "
          f"{args.threads[rates['sqlite, group commit'].index(best)]} threads")


if __name__ == "__main__":
    main()
