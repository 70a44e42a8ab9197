"""The feedback log interface, shared by the SQLite store (one host) and the Delta Lake store
(cluster), and the machinery both use: group commit and the Parquet export.

Every append returns only once its rows are committed durably: what a call acknowledged survives
a SIGKILL of the process that made it. Appends are idempotent by primary key (recommendation_id,
event_id): a retry of the same rows is a no-op, the same id with other content is a
`FeedbackConflict`.
"""

from __future__ import annotations

import abc
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa

from pipelines.errors import ConfigError, DataError, GuidanceError, StorageError
from pipelines.feedback.records import FeedbackEvent, Impression, Record, day_strings
from pipelines.storage.root import Root


TABLES = {Impression: "impressions", FeedbackEvent: "events"}  # store table of each record


class FeedbackConflict(GuidanceError):
    """A primary key is already logged with different content."""


class FeedbackLog(abc.ABC):
    """Durable, idempotent log of served slates and feedback events."""

    @abc.abstractmethod
    def append_slate(self, impressions: list[Impression]) -> None:
        """Log every item of one served slate in one transaction; returns once committed.
        Replaying rows already logged is a no-op; raises FeedbackConflict (and logs nothing of
        the slate) if a recommendation_id is logged with different content."""

    @abc.abstractmethod
    def append_feedback(self, event: FeedbackEvent) -> bool:
        """Log one event; returns once committed. True if it is new, False if the same event was
        already logged; raises FeedbackConflict if its id is logged with different content."""

    @abc.abstractmethod
    def impression(self, recommendation_id: str) -> Impression | None:
        """The logged impression with this id, or None."""

    @abc.abstractmethod
    def history(self, advertiser_id: int, since_ms: int
                ) -> tuple[list[Impression], list[FeedbackEvent]]:
        """The advertiser's impressions served and events occurred at or after `since_ms` (UTC
        epoch ms), each list in time order."""

    @abc.abstractmethod
    def export(self, root: Root) -> dict:
        """Write the whole log as date-partitioned Parquet under `<root>/feedback/` (replacing a
        previous export in one publish); returns {"impressions": rows, "events": rows}."""

    @abc.abstractmethod
    def close(self) -> None:
        """Commit what is pending, stop the writer and release the store."""

    def __enter__(self) -> FeedbackLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_log(uri: str) -> FeedbackLog:
    """A feedback log for `uri`:

    - `sqlite:///relative/log.db`, `sqlite:////absolute/log.db` (the SQLAlchemy spelling) or a
      plain path ending in `.db`: SQLite on this host;
    - `delta://<folder or URI>` (`delta:///abs/dir`, `delta://s3://bucket/prefix`): Delta Lake.
    """
    # Imported here: the stores subclass FeedbackLog from this module, and a SQLite user should
    # not pay for importing deltalake.
    if uri.startswith("sqlite:///"):
        from pipelines.feedback.sqlite_log import SqliteFeedbackLog
        return SqliteFeedbackLog(uri[len("sqlite:///"):])
    if "://" not in uri and uri.endswith(".db"):
        from pipelines.feedback.sqlite_log import SqliteFeedbackLog
        return SqliteFeedbackLog(uri)
    if uri.startswith("delta://") and len(uri) > len("delta://"):
        from pipelines.feedback.delta_log import DeltaFeedbackLog
        return DeltaFeedbackLog(uri[len("delta://"):])
    raise ConfigError(f"feedback log URI {uri!r} is not supported; use sqlite:///<path>.db, "
                      f"<path>.db or delta://<folder or URI>")


def check_slate(impressions: Sequence[Impression]) -> None:
    """Raise DataError unless `impressions` is one non-empty slate: Impression rows sharing a
    slate_id and an advertiser, with distinct recommendation ids and positions."""
    if not isinstance(impressions, Sequence) or not impressions:
        raise DataError(f"a slate must be a non-empty list of Impression, got {impressions!r}")
    for row in impressions:
        if not isinstance(row, Impression):
            raise DataError(f"a slate holds Impression rows, got {type(row).__name__}")
    for name in ("slate_id", "advertiser_id"):
        seen = {getattr(r, name) for r in impressions}
        if len(seen) > 1:
            raise DataError(f"the rows of a slate must share one {name}, got {sorted(seen)}")
    for name in ("recommendation_id", "position"):
        counts = Counter(getattr(r, name) for r in impressions)
        twice = sorted(k for k, n in counts.items() if n > 1)
        if twice:
            raise DataError(f"the rows of a slate need distinct {name}s, repeated: {twice}")


def check_event(event: FeedbackEvent) -> None:
    if not isinstance(event, FeedbackEvent):
        raise DataError(f"append_feedback takes a FeedbackEvent, got {type(event).__name__}")


def conflict(record: Record) -> FeedbackConflict:
    key = type(record).KEY
    return FeedbackConflict(f"{key} {getattr(record, key)!r} is already logged with different "
                            f"content; a retry must resend the same {type(record).__name__}")


Batch = list[FeedbackEvent | list[Impression]]
"""What the group committer hands a store: events and slates, in arrival order."""


class _Request:
    __slots__ = ("item", "done", "outcome")

    def __init__(self, item: FeedbackEvent | list[Impression]):
        self.item = item
        self.done = threading.Event()
        self.outcome: object = StorageError("the feedback log writer stopped before committing")

    def result(self) -> object:
        self.done.wait()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class GroupCommit:
    """Commits appends from many threads together. One writer thread takes every pending append,
    hands them to `commit` as one batch (which the store writes in ONE transaction and returns one
    outcome per item: a value, or an exception for that item alone), then wakes each caller
    with its own outcome. Callers block until their batch committed, so an acknowledged append
    is durable, and one fsync serves the whole batch.

    With `group=False` each append is committed alone, in the caller's thread, one at a time:
    the baseline that the benchmark compares against.
    """

    def __init__(self, commit: Callable[[Batch], list[object]], name: str, group: bool = True,
                 max_batch: int = 4096):
        self._commit = commit
        self._group = group
        self._max_batch = max_batch
        self._cv = threading.Condition()
        self._queue: list[_Request] = []
        self._closed = False
        self._thread: threading.Thread | None = None
        if group:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def submit(self, item: FeedbackEvent | list[Impression]) -> object:
        """Commit `item`; returns its outcome once committed, or raises its error."""
        request = _Request(item)
        with self._cv:
            if self._closed:
                raise StorageError("the feedback log is closed")
            if self._group:
                self._queue.append(request)
                self._cv.notify()
            else:  # the lock is held across the commit: one transaction at a time
                self._settle([request])
        return request.result()

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if not self._queue:
                    return
                batch = self._queue[:self._max_batch]
                del self._queue[:self._max_batch]
            self._settle(batch)

    def _settle(self, batch: list[_Request]) -> None:
        try:
            outcomes = self._commit([r.item for r in batch])
            for request, outcome in zip(batch, outcomes, strict=True):
                request.outcome = outcome
        except Exception as e:  # the transaction failed as a whole: every caller gets the error
            for request in batch:
                request.outcome = e
        finally:
            for request in batch:
                request.done.set()


class GroupCommitLog(FeedbackLog):
    """A store whose appends are checked here and written by one GroupCommit writer
    (`self._committer`, set by the store) that calls the store's `_commit`."""

    _committer: GroupCommit

    def append_slate(self, impressions: list[Impression]) -> None:
        check_slate(impressions)
        self._committer.submit(list(impressions))

    def append_feedback(self, event: FeedbackEvent) -> bool:
        check_event(event)
        return self._committer.submit(event)


def write_export(root: Root, impressions: Iterable[pa.Table], events: Iterable[pa.Table],
                 rows_per_file: int = 1_000_000) -> dict:
    """Write time-ordered chunks of impressions and events as
    `<root>/feedback/{impressions,events}/date=YYYY-MM-DD/part-NNNNN.parquet` (UTC day of
    served_at_ms / occurred_at_ms). Both are staged and published together in one move, replacing
    a previous export: readers see the old export or the new one, never a part of either.
    Returns the row counts."""
    counts = {}
    with root.staging("feedback") as staged:
        for name, cls, chunks in (("impressions", Impression, impressions),
                                  ("events", FeedbackEvent, events)):
            base = f"{staged}/feedback/{name}"
            root.fs.create_dir(base, recursive=True)
            parts: Counter[str] = Counter()
            counts[name] = 0
            for chunk in chunks:
                chunk = chunk.select(cls.SCHEMA.names).cast(cls.SCHEMA)
                days = day_strings(chunk[cls.TIME].to_numpy())
                for day in np.unique(days):
                    rows = chunk.filter(pa.array(days == day))
                    for start in range(0, rows.num_rows, rows_per_file):
                        root.write_parquet(rows.slice(start, rows_per_file),
                                           f"{base}/date={day}/part-{parts[day]:05d}.parquet")
                        parts[day] += 1
                counts[name] += chunk.num_rows
        root.publish(staged, ["feedback"], overwrite=True)
    return counts
