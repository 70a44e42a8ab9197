"""One line per training epoch on the driver, while Ray Train runs.

Ray Train 2.60 (Train V2) calls a `ray.train.UserCallback`'s `after_report` on its controller,
an actor beside the driver, once every worker has reported an epoch; the driver starts Ray with
`log_to_driver=False`, so nothing printed there or on the workers reaches the terminal. The
callback sends rank 0's metrics to a small inbox actor, and a thread of the driver prints a line
for each while `trainer.fit()` holds the main thread (which keeps Ray Train's Ctrl-C handling).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ray
import ray.train

POLL_S = 0.5  # how often the driver asks the inbox for new epochs


def epoch_line(model: str, metrics: dict, epochs: int, elapsed_s: float) -> str:
    """`model  epoch i/N  loss …  val AUC …  … examples/s  elapsed m:ss`, from the metrics one
    epoch's `ray.train.report` carried (the validation AUC only where the loop measured one;
    with the weights' mean beside it once the mean has begun)."""
    parts = [f"{model:<9} epoch {metrics['epoch'] + 1}/{epochs}", f"loss {metrics['loss']:.4f}"]
    if "val_adoption_auc" in metrics:
        auc = f"val AUC {metrics['val_adoption_auc']:.4f}"
        if "averaged_val_adoption_auc" in metrics:
            auc += f" (mean of weights {metrics['averaged_val_adoption_auc']:.4f})"
        parts.append(auc)
    minutes, seconds = divmod(int(elapsed_s), 60)
    parts += [f"{metrics['examples_per_s']:,.0f} examples/s", f"elapsed {minutes}:{seconds:02d}"]
    return "  ".join(parts)


class _Inbox:
    """Metrics the controller sent and the driver has not taken yet."""

    def __init__(self):
        self.items: list[dict] = []

    def put(self, item: dict) -> None:
        self.items.append(item)

    def take(self) -> list[dict]:
        items, self.items = self.items, []
        return items


class ForwardEpochs(ray.train.UserCallback):
    """Sends rank 0's metrics of every report to the inbox and waits for the inbox to hold them
    (about a millisecond; Ray Train's controller makes such calls itself), so that the last
    epoch is there before `trainer.fit()` returns."""

    def __init__(self, inbox):
        self.inbox = inbox

    def after_report(self, run_context, metrics: list[dict], checkpoint) -> None:
        if metrics:
            ray.get(self.inbox.put.remote(metrics[0]))


class EpochPrinter:
    """Writes `epoch_line` for each batch of metrics it is given, timed from its creation."""

    def __init__(self, model: str, epochs: int, write: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.model, self.epochs, self.clock = model, epochs, clock
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self.started = clock()

    def show(self, reports: list[dict]) -> None:
        for metrics in reports:
            self.write(epoch_line(self.model, metrics, self.epochs, self.clock() - self.started))


@contextmanager
def epoch_lines(model: str, epochs: int, show: bool = True
                ) -> Iterator[list[ray.train.UserCallback]]:
    """The callbacks to give `RunConfig(callbacks=...)`; while the block runs, a line per
    epoch goes to stderr. With `show` off, no callbacks and no output."""
    if not show:
        yield []
        return
    inbox = ray.remote(num_cpus=0)(_Inbox).remote()  # no CPU: the workers and Ray Data need them
    printer, stop = EpochPrinter(model, epochs), threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_S):
            printer.show(ray.get(inbox.take.remote()))

    thread = threading.Thread(target=poll, name=f"{model}-progress", daemon=True)
    thread.start()
    try:
        yield [ForwardEpochs(inbox)]
    finally:
        stop.set()
        thread.join()
    # only after a run that ended well (on an error the inbox ends with its last handle)
    printer.show(ray.get(inbox.take.remote()))  # the last epoch, reported just before the end
    ray.kill(inbox)
