"""The feedback log interface, shared by the SQLite store (one host) and the Delta Lake store
(cluster), and the machinery both use: group commit and the Parquet export.

Every append returns only once its rows are committed durably: what a call acknowledged survives
a SIGKILL of the process that made it. Appends are idempotent by primary key (recommendation_id,
event_id): a retry of the same rows is a no-op, the same id with other content is a
`FeedbackConflict`. A slate's impressions and its ranker inputs are appended together.
"""

from __future__ import annotations

import abc
import numbers
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.errors import ConfigError, DataError, GuidanceError, StorageError
from pipelines.feedback.records import FeedbackEvent, Impression, RankerInput, Record, day_strings
from pipelines.storage.root import Root


# the store's table of each record class (also the export's folder names)
TABLES = {Impression: "impressions", FeedbackEvent: "events", RankerInput: "ranker_inputs"}
HISTORY = (Impression, FeedbackEvent)  # what history() reads


class FeedbackConflict(GuidanceError):
    """A primary key is already logged with different content."""


class FeedbackLog(abc.ABC):
    """Durable, idempotent log of served slates and feedback events."""

    @abc.abstractmethod
    def append_slate(self, impressions: list[Impression],
                     inputs: Sequence[RankerInput] = ()) -> None:
        """Log every item of one served slate, with the ranker inputs of (some of) its items,
        together; returns once committed. Replaying rows already logged is a no-op; raises
        FeedbackConflict (and logs nothing of the slate) if a recommendation_id is logged with
        different content, DataError if an input belongs to no impression of the slate."""

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
    def window(self, cls: type[Record], since_ms: int, until_ms: int) -> pa.Table:
        """Every logged row of record class `cls` (Impression, FeedbackEvent or RankerInput)
        whose time (cls.TIME, UTC epoch ms) lies in [since_ms, until_ms), with cls.SCHEMA,
        ordered by time then key."""

    @abc.abstractmethod
    def newest_ms(self, cls: type[Record]) -> int | None:
        """The latest time (cls.TIME, UTC epoch ms) of any logged row of record class `cls`, or
        None when there is none."""

    @abc.abstractmethod
    def export(self, root: Root) -> dict:
        """Write the whole log as date-partitioned Parquet under `<root>/feedback/` (replacing a
        previous export in one publish); returns the rows per table: {"impressions": n,
        "events": n, "ranker_inputs": n}."""

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


def check_slate(impressions: Sequence[Impression], inputs: Sequence[RankerInput] = ()) -> None:
    """Raise DataError unless `impressions` is one non-empty slate: Impression rows sharing a
    slate_id and an advertiser, with distinct recommendation ids and positions; and `inputs`
    RankerInput rows of distinct items of that slate (its recommendation ids, its advertiser)."""
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
    if not isinstance(inputs, Sequence):
        raise DataError(f"a slate's ranker inputs must be a list of RankerInput, got {inputs!r}")
    for row in inputs:
        if not isinstance(row, RankerInput):
            raise DataError(f"a slate's ranker inputs are RankerInput rows, got "
                            f"{type(row).__name__}")
    served = {r.recommendation_id for r in impressions}
    strangers = sorted(r.recommendation_id for r in inputs if r.recommendation_id not in served)
    if strangers:
        raise DataError(f"ranker inputs must belong to the slate's impressions; "
                        f"recommendation_ids not in the slate: {strangers}")
    advertiser = impressions[0].advertiser_id
    others = sorted({r.advertiser_id for r in inputs} - {advertiser})
    if others:
        raise DataError(f"ranker inputs must belong to the slate's advertiser {advertiser}, "
                        f"got advertiser_ids {others}")
    twice = sorted(k for k, n in Counter(r.recommendation_id for r in inputs).items() if n > 1)
    if twice:
        raise DataError(f"a slate's ranker inputs need distinct recommendation_ids, "
                        f"repeated: {twice}")


def check_record_class(cls: type) -> None:
    if cls not in TABLES:
        raise DataError(f"the log holds {', '.join(c.__name__ for c in TABLES)}; got {cls!r}")


def check_window(cls: type, since_ms: int, until_ms: int) -> None:
    """Raise DataError unless `cls` is a logged record class and [since_ms, until_ms) a range of
    integer epoch milliseconds."""
    check_record_class(cls)
    for name, value in (("since_ms", since_ms), ("until_ms", until_ms)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise DataError(f"window: {name} must be an integer (UTC epoch ms), got {value!r}")
    if until_ms < since_ms:
        raise DataError(f"window: until_ms must be >= since_ms, got [{since_ms}, {until_ms})")


def check_event(event: FeedbackEvent) -> None:
    if not isinstance(event, FeedbackEvent):
        raise DataError(f"append_feedback takes a FeedbackEvent, got {type(event).__name__}")


def conflict(record: Record) -> FeedbackConflict:
    key = type(record).KEY
    return FeedbackConflict(f"{key} {getattr(record, key)!r} is already logged with different "
                            f"content; a retry must resend the same {type(record).__name__}")


@dataclass(frozen=True)
class Slate:
    """One served slate's rows, appended together."""

    impressions: list[Impression]
    inputs: list[RankerInput]


Batch = list[FeedbackEvent | Slate]
"""What the group committer hands a store: events and slates, in arrival order."""


class _Request:
    __slots__ = ("item", "done", "outcome")

    def __init__(self, item: FeedbackEvent | Slate):
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

    def submit(self, item: FeedbackEvent | Slate) -> object:
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

    def append_slate(self, impressions: list[Impression],
                     inputs: Sequence[RankerInput] = ()) -> None:
        check_slate(impressions, inputs)
        self._committer.submit(Slate(list(impressions), list(inputs)))

    def append_feedback(self, event: FeedbackEvent) -> bool:
        check_event(event)
        return self._committer.submit(event)


EXPORT = "feedback"  # the export's folder under a root, replaced whole by each export


def default_log_uri(root: Root) -> str:
    """Where the service keeps its log unless told otherwise: beside the export, never inside it
    (an export replaces its whole folder); SQLite under a local root, Delta Lake tables under a
    shared store's (every replica of every node appends there)."""
    if root.local:
        return f"sqlite:///{root.join('logs', 'feedback.db')}"
    return f"delta://{root.uri.rstrip('/')}/logs/feedback"


def check_export_target(root: Root, store_location: str) -> None:
    """Refuse an export that would replace the folder holding the live log itself."""
    target = root.join(EXPORT)
    if store_location == target or store_location.startswith(target + "/"):
        raise StorageError(f"the feedback log {store_location} lies inside {target}, which an "
                           f"export replaces whole; keep the log elsewhere (the default is "
                           f"{default_log_uri(root)}) or export to another root")


def write_export(root: Root, tables: Mapping[type[Record], Iterable[pa.Table]],
                 rows_per_file: int = 1_000_000) -> dict:
    """Write time-ordered chunks of each record class's rows (`tables`: one entry per class of
    TABLES) as `<root>/feedback/<table>/date=YYYY-MM-DD/part-NNNNN.parquet` (UTC day of the
    class's TIME). All are staged and published together in one move, replacing a previous
    export: readers see the old export or the new one, never a part of either. Returns the row
    counts by table name."""
    counts = {}
    with root.staging("feedback") as staged:
        for cls, name in TABLES.items():
            chunks = tables[cls]
            base = f"{staged}/{EXPORT}/{name}"
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
        root.publish(staged, [EXPORT], overwrite=True)
    return counts
