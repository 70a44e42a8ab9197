"""Nothing acknowledged is lost when the writer is killed: a subprocess appends slates (with the
ranker inputs of their items) and events from several threads and prints each id once its append
returned; the test SIGKILLs it mid-stream, reopens the log and looks for every printed id.

Run as a module, this file is the writer: `python -m tests.unit.test_feedback_durability URI`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from pipelines.feedback import FeedbackEvent, Impression, RankerInput, open_log
from pipelines.feedback.records import encode_row

REPO = Path(__file__).resolve().parents[2]
T0 = 1_717_200_000_000
WRITER_THREADS = 4


def _slate(tag: str, at_ms: int) -> list[Impression]:
    return [Impression(recommendation_id=f"{tag}-{k}", slate_id=tag, advertiser_id=1,
                       campaign_id=1, item_id=k, action_type="raise_budget", surface="dashboard",
                       position=k + 1, served_at_ms=at_ms, policy="plackett_luce",
                       model_version="m-1", score=1.0, propensity=0.5, slate_propensity=0.1,
                       p_adopt=0.2, p_dismiss=0.1, impact_expected=10.0, impact_low=5.0,
                       impact_high=20.0, degraded=False) for k in range(2)]


def _inputs(slate: list[Impression]) -> list[RankerInput]:
    numeric, categorical = encode_row(np.full(8, 0.5), np.arange(3))
    return [RankerInput(recommendation_id=r.recommendation_id, advertiser_id=1, campaign_id=1,
                        item_id=r.item_id, action_type=r.action_type, surface=r.surface,
                        served_at_ms=r.served_at_ms, model_version=r.model_version,
                        numeric=numeric, categorical=categorical, p_adopt=r.p_adopt,
                        p_dismiss=r.p_dismiss, impact_low=r.impact_low,
                        impact_expected=r.impact_expected, impact_high=r.impact_high)
            for r in slate]


def _event(tag: str, at_ms: int) -> FeedbackEvent:
    return FeedbackEvent(event_id=f"{tag}-e", recommendation_id=f"{tag}-0", advertiser_id=1,
                         campaign_id=1, item_id=0, action_type="raise_budget", type="clicked",
                         dismiss_reason=None, snooze_days=None, occurred_at_ms=at_ms)


def write_forever(uri: str) -> None:
    """Append a slate then an event per step from several threads; print `i <rec id>` and
    `e <event id>` after each append returned (= was acknowledged)."""
    log = open_log(uri)
    out = threading.Lock()

    def loop(t: int) -> None:
        for k in range(10**9):
            tag = f"t{t}-{k}"
            slate = _slate(tag, T0 + k)
            log.append_slate(slate, _inputs(slate))
            with out:
                sys.stdout.write(f"i {tag}-0\ni {tag}-1\n")
                sys.stdout.flush()
            log.append_feedback(_event(tag, T0 + k))
            with out:
                sys.stdout.write(f"e {tag}-e\n")
                sys.stdout.flush()

    threads = [threading.Thread(target=loop, args=(t,)) for t in range(WRITER_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def _kill_after_acks(uri: str, acks: int) -> list[tuple[str, str]]:
    """Run the writer, SIGKILL it once `acks` ids were printed; every complete line it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.unit.test_feedback_durability", uri],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    watchdog = threading.Timer(60, proc.kill)  # a hung writer fails the test, not the run
    watchdog.start()
    lines = []
    try:
        while len(lines) < acks:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        os.kill(proc.pid, signal.SIGKILL)
        lines += proc.stdout.readlines()  # what it printed before it died
        proc.wait()
    finally:
        watchdog.cancel()
    assert len(lines) >= acks, f"the writer stopped early: {proc.stderr.read()[-2000:]}"
    proc.stderr.close()
    proc.stdout.close()
    return [tuple(line.split()) for line in lines if line.endswith("\n")]


@pytest.mark.parametrize("store", ["sqlite", "delta"])
@pytest.mark.parametrize("trial", range(3))
def test_sigkill_loses_nothing_acknowledged(store, trial, tmp_path):
    uri = f"sqlite:///{tmp_path}/log.db" if store == "sqlite" else f"delta://{tmp_path}/delta"
    acked = _kill_after_acks(uri, acks=200 + 100 * trial)
    with open_log(uri) as log:
        impressions, events = log.history(1, 0)
        inputs = log.window(RankerInput, 0, T0 + 10**9)["recommendation_id"].to_pylist()
    logged_impressions = {r.recommendation_id for r in impressions}
    logged_events = {e.event_id for e in events}
    logged_inputs = set(inputs)
    missing = [(kind, key) for kind, key in acked
               if key not in (logged_impressions if kind == "i" else logged_events)]
    missing += [("input", key) for kind, key in acked if kind == "i" and key not in logged_inputs]
    assert not missing, f"{len(missing)} acknowledged ids lost, e.g. {missing[:5]}"
    assert len(impressions) == len(logged_impressions)  # and none twice
    assert len(inputs) == len(logged_inputs)
    if store == "sqlite":  # one transaction: an impression and its input stand or fall together
        assert logged_inputs == logged_impressions
    else:  # inputs commit first: a kill between the commits can leave inputs alone
        assert logged_impressions <= logged_inputs


if __name__ == "__main__":
    write_forever(sys.argv[1])
