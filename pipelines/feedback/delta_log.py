"""The feedback log on a cluster: three Delta Lake tables (`<location>/impressions`,
`<location>/events`, `<location>/ranker_inputs`, partitioned by the UTC day `date`) through
`deltalake`, on a local folder or a shared store (s3://, gs://, ...) that several writers append
to; Ray Data reads them directly.

Delta has no transaction across tables: a batch of slates commits its ranker inputs first, then
its impressions, so a crash in between can leave input rows without their impression (a retry
of the slate then writes the impressions and finds the inputs logged), never an impression whose
logged inputs are missing.

Appends are grouped (one writer thread per log object, one Delta commit per table per batch):
a Delta commit writes a Parquet file and a log entry, too dear to pay per event (5-50 ms here,
growing with the number of entries in `_delta_log/`, which every commit lists; the tables are
created with a one-hour `delta.logRetentionDuration` so that checkpoints drop older entries).

Idempotency: delta-rs does not reject a replayed row by itself, so each log object keeps an
index of id -> content digest of every row in the tables (about 200 bytes a row in memory, built
by reading the tables once at open). Before each batch it reads the files that other writers
committed since, so a retry sent to another process is recognised too. Two processes that commit
the same id in the same instant can both write it; readers (history, impression, window,
export) keep the first copy in scan order, so a retry with the same content is still seen once
(but if the two copies differ, both callers were acknowledged and readers keep either one).

This is the cluster store, and reads are slower than SQLite's: `history`, `window` and
`impression` scan the tables with a filter (history and window prune by day partition;
impression scans every file), `newest_ms` reads the time column whole and `export` every table.
Many small files build up (one per commit and day); compact them with
`DeltaTable(...).optimize.compact()` off the serving path.

`deltalake` panics in a forked child: start worker processes with the `spawn` method.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.fs as pafs
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from pipelines.errors import DataError, StorageError
from pipelines.feedback.log import (
    HISTORY,
    Batch,
    FeedbackConflict,
    GroupCommit,
    GroupCommitLog,
    Slate,
    TABLES,
    check_export_target,
    check_record_class,
    check_window,
    conflict,
    write_export,
)
from pipelines.feedback.records import (
    FeedbackEvent,
    Impression,
    RankerInput,
    Record,
    day_strings,
    from_table,
    identity,
    identity_names,
    to_table,
)
from pipelines.storage.root import Root

_FAILURES = (DeltaError, OSError, pa.ArrowException)
REOPEN_EVERY = 100  # commits; delta-rs checkpoints every 100 versions by default
_LAST_MS = 253_402_300_799_999  # 9999-12-31 23:59:59.999 UTC


def _delta_schema(cls: type[Record]) -> pa.Schema:
    return cls.SCHEMA.append(pa.field("date", pa.string(), nullable=False))


def _first_per_key(table: pa.Table, cls: type[Record]) -> pa.Table:
    """One row per primary key (the first in scan order), sorted by time then key."""
    if table.num_rows:
        numbered = table.append_column("_row", pa.array(np.arange(table.num_rows)))
        first = numbered.group_by(cls.KEY, use_threads=False).aggregate([("_row", "min")])
        table = table.take(pc.sort_indices(first["_row_min"]))
    return table.sort_by([(cls.TIME, "ascending"), (cls.KEY, "ascending")])


class DeltaFeedbackLog(GroupCommitLog):
    """Feedback log in three Delta tables under `location` (a folder or a URI), created if
    missing."""

    def __init__(self, location: str, group_commit: bool = True,
                 log_retention: str = "interval 1 hours"):
        if "://" in location:
            self.location = location.rstrip("/")
            self._fs, _ = pafs.FileSystem.from_uri(self.location)
        else:
            self.location = os.path.abspath(location)
            self._fs = pafs.LocalFileSystem()
        self._closed = False
        self._read_lock = threading.Lock()
        self._index: dict[type, dict[str, int]] = {cls: {} for cls in TABLES}
        self._seen: dict[type, set[str]] = {cls: set() for cls in TABLES}
        self._commits = {cls: 0 for cls in TABLES}
        self._log_retention = log_retention
        try:
            self._write = {cls: self._open_table(cls) for cls in TABLES}
            self._read = {cls: DeltaTable(self._table_uri(cls)) for cls in TABLES}
            for cls in TABLES:
                self._refresh(cls)
        except _FAILURES as e:
            raise StorageError(f"feedback log {self.location}: cannot open: {e}") from None
        self._committer = GroupCommit(self._commit, "feedback-log-delta", group=group_commit)

    def _table_uri(self, cls: type[Record]) -> str:
        return f"{self.location}/{TABLES[cls]}"

    def _open_table(self, cls: type[Record]) -> DeltaTable:
        uri = self._table_uri(cls)
        try:
            table = DeltaTable.create(
                uri, _delta_schema(cls), mode="ignore", partition_by=["date"],
                # commit entries older than this are dropped at each checkpoint: every commit
                # lists the log folder, and a log of many small commits would keep slowing down
                configuration={"delta.logRetentionDuration": self._log_retention})
        except DeltaError:  # another process created it first
            table = DeltaTable(uri)
        found = [f.name for f in table.schema().fields]
        if found != _delta_schema(cls).names:
            raise DataError(f"Delta table {uri} has columns {found}, expected "
                            f"{_delta_schema(cls).names}")
        return table

    def _local_path(self, file_uri: str) -> str:
        return file_uri.split("://", 1)[1] if "://" in file_uri else file_uri

    def _writer(self, cls: type[Record]) -> DeltaTable:
        """The writer's handle on a table, reopened every REOPEN_EVERY commits: a long-lived
        DeltaTable object gets slower with each commit it made."""
        if self._commits[cls] >= REOPEN_EVERY:
            self._write[cls] = DeltaTable(self._table_uri(cls))
            self._commits[cls] = 0
        return self._write[cls]

    def _refresh(self, cls: type[Record]) -> None:
        """Add the rows of files committed since the last refresh (by any writer) to the
        id -> digest index."""
        table = self._writer(cls)
        table.update_incremental()
        files = set(table.file_uris())
        new = sorted(files - self._seen[cls])
        if new:
            names = identity_names(cls)
            rows = pds.dataset([self._local_path(f) for f in new], format="parquet",
                               filesystem=self._fs).to_table(columns=names)
            index = self._index[cls]
            for row in zip(*(rows[n].to_pylist() for n in names)):
                index.setdefault(row[0], hash(row))  # the key is the first column
        self._seen[cls] = files

    # -- appends ---------------------------------------------------------------------------

    def _commit(self, batch: Batch) -> list[object]:
        """One Delta commit per table for the whole batch; one outcome per item."""
        outcomes: list[object] = [None] * len(batch)
        events = [i for i, item in enumerate(batch) if isinstance(item, FeedbackEvent)]
        slates = [i for i, item in enumerate(batch) if isinstance(item, Slate)]
        if events:
            self._append(batch, events, outcomes, {FeedbackEvent: lambda e: [e]})
        if slates:  # inputs first: see the module's docstring
            self._append(batch, slates, outcomes, {RankerInput: lambda s: s.inputs,
                                                   Impression: lambda s: s.impressions})
        return outcomes

    def _append(self, batch: Batch, mine: list[int], outcomes: list[object],
                parts: dict[type[Record], Callable[[object], list[Record]]]) -> None:
        """Append the items `mine` of the batch, `parts[cls](item)` being an item's rows of
        each record class, with one commit per class in the order of `parts`. An item with a
        row that clashes with a logged one gets a FeedbackConflict and writes nothing; a failed
        read or commit fails every item, and the classes after it are not written."""
        for cls in parts:
            try:
                self._refresh(cls)
            except _FAILURES as e:
                error = StorageError(f"feedback log {self._table_uri(cls)}: cannot read: {e}")
                for i in mine:
                    outcomes[i] = error
                return
        fresh: dict[type, dict[str, int]] = {cls: {} for cls in parts}
        rows: dict[type, list[Record]] = {cls: [] for cls in parts}
        for i in mine:
            found = {}
            for cls, rows_of in parts.items():
                added = self._unknown(cls, rows_of(batch[i]), fresh[cls])
                if isinstance(added, FeedbackConflict):
                    outcomes[i] = added
                    break
                found[cls] = added
            else:
                for cls, added in found.items():
                    fresh[cls].update((getattr(r, cls.KEY), digest) for r, digest in added)
                    rows[cls].extend(r for r, _ in added)
                if isinstance(batch[i], FeedbackEvent):
                    outcomes[i] = bool(found[FeedbackEvent])
        for cls in parts:
            error = self._commit_rows(cls, rows[cls], fresh[cls]) if rows[cls] else None
            if error is not None:
                for i in mine:
                    if not isinstance(outcomes[i], Exception):
                        outcomes[i] = error
                return

    def _unknown(self, cls: type[Record], records: list[Record], fresh: dict[str, int]
                 ) -> list[tuple[Record, int]] | FeedbackConflict:
        """The records (with their digests) not yet logged nor earlier in the batch (`fresh`),
        or the conflict of the first one logged with other content."""
        index, added = self._index[cls], []
        for r in records:
            key, digest = getattr(r, cls.KEY), hash(identity(r))
            old = index.get(key, fresh.get(key))
            if old is None:
                added.append((r, digest))
            elif old != digest:
                return conflict(r)
        return added

    def _commit_rows(self, cls: type[Record], records: list[Record], digests: dict[str, int]
               ) -> StorageError | None:
        """Commit `records` to the class's table; on success add their `digests` to the
        index. Returns the error of a failed commit."""
        table = to_table(cls, records)
        table = table.append_column("date", pa.array(day_strings(table[cls.TIME].to_numpy())))
        writer = self._writer(cls)
        version = writer.version()
        try:
            write_deltalake(writer, table, mode="append")
        except _FAILURES as e:
            return StorageError(f"feedback log {self._table_uri(cls)}: commit failed: {e}")
        self._index[cls].update(digests)
        self._commits[cls] += 1
        if writer.version() == version + 1:  # no other writer in between: the new files
            self._seen[cls] = set(writer.file_uris())  # are ours, no need to read them back
        return None

    # -- reads ------------------------------------------------------------------------------

    def _scan(self, cls: type[Record], where: pds.Expression | None) -> pa.Table:
        """Rows of the latest committed version matching `where`, one per key."""
        if self._closed:
            raise StorageError(f"feedback log {self.location} is closed")
        try:
            with self._read_lock:  # DeltaTable objects are not shared across threads
                table = self._read[cls]
                table.update_incremental()
                dataset = table.to_pyarrow_dataset()
            rows = dataset.to_table(columns=cls.SCHEMA.names, filter=where)
        except _FAILURES as e:
            raise StorageError(f"feedback log {self._table_uri(cls)}: read failed: {e}") from None
        return _first_per_key(rows, cls)

    def impression(self, recommendation_id: str) -> Impression | None:
        rows = self._scan(Impression, pds.field("recommendation_id") == recommendation_id)
        return from_table(Impression, rows)[0] if rows.num_rows else None

    def history(self, advertiser_id: int, since_ms: int
                ) -> tuple[list[Impression], list[FeedbackEvent]]:
        since_day = str(day_strings(np.array([since_ms]))[0])
        out = []
        for cls in HISTORY:
            where = ((pds.field("date") >= since_day)  # prunes whole day partitions
                     & (pds.field("advertiser_id") == int(advertiser_id))
                     & (pds.field(cls.TIME) >= int(since_ms)))
            out.append(from_table(cls, self._scan(cls, where)))
        return out[0], out[1]

    def window(self, cls: type[Record], since_ms: int, until_ms: int) -> pa.Table:
        check_window(cls, since_ms, until_ms)
        # day strings compare as dates only within years 0-9999 (records' times are >= 0)
        first, last = day_strings(np.clip([since_ms, until_ms - 1], 0, _LAST_MS))
        where = ((pds.field("date") >= str(first)) & (pds.field("date") <= str(last))  # prunes
                 & (pds.field(cls.TIME) >= int(since_ms)) & (pds.field(cls.TIME) < int(until_ms)))
        return self._scan(cls, where).cast(cls.SCHEMA)

    def newest_ms(self, cls: type[Record]) -> int | None:
        check_record_class(cls)
        if self._closed:
            raise StorageError(f"feedback log {self.location} is closed")
        try:
            with self._read_lock:
                table = self._read[cls]
                table.update_incremental()
                dataset = table.to_pyarrow_dataset()
            times = dataset.to_table(columns=[cls.TIME])[cls.TIME]
        except _FAILURES as e:
            raise StorageError(f"feedback log {self._table_uri(cls)}: read failed: {e}") from None
        return pc.max(times).as_py()

    def export(self, root: Root) -> dict:
        check_export_target(root, self.location)
        return write_export(root, {cls: [self._scan(cls, None)] for cls in TABLES})

    def close(self) -> None:
        self._committer.close()
        self._closed = True
