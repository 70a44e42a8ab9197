"""The feedback log on a cluster: two Delta Lake tables (`<location>/impressions`,
`<location>/events`, partitioned by the UTC day `date`) through `deltalake`, on a local folder or
a shared store (s3://, gs://, ...) that several writers append to; Ray Data reads them directly.

Appends are grouped (one writer thread per log object, one Delta commit per table per batch):
a Delta commit writes a Parquet file and a log entry, too dear to pay per event (5-50 ms here,
growing with the number of entries in `_delta_log/`, which every commit lists; the tables are
created with a one-hour `delta.logRetentionDuration` so that checkpoints drop older entries).

Idempotency: delta-rs does not reject a replayed row by itself, so each log object keeps an
index of id -> content digest of every row in the tables (about 200 bytes a row in memory, built
by reading the tables once at open). Before each batch it reads the files that other writers
committed since, so a retry sent to another process is recognised too. Two processes that commit
the same id in the same instant can both write it; readers (history, impression, export) keep the
first copy in scan order, so a retry with the same content is still seen once (but if the two
copies differ, both callers were acknowledged and readers keep either one).

This is the cluster store, and reads are slower than SQLite's: `history` and `impression` scan
the tables with a filter (history prunes by day partition; impression scans every file), and
`export` reads both tables whole. Many small files build up (one per commit and day); compact
them with `DeltaTable(...).optimize.compact()` off the serving path.

`deltalake` panics in a forked child: start worker processes with the `spawn` method.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.fs as pafs
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from pipelines.errors import DataError, StorageError
from pipelines.feedback.log import (
    Batch,
    GroupCommit,
    GroupCommitLog,
    TABLES,
    conflict,
    write_export,
)
from pipelines.feedback.records import (
    FeedbackEvent,
    Impression,
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
    """Feedback log in two Delta tables under `location` (a folder or a URI), created if
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
        for cls in TABLES:
            mine = [i for i, item in enumerate(batch)
                    if isinstance(item, FeedbackEvent) == (cls is FeedbackEvent)]
            if not mine:
                continue
            try:
                self._refresh(cls)
            except _FAILURES as e:
                for i in mine:
                    outcomes[i] = StorageError(f"feedback log {self._table_uri(cls)}: "
                                               f"cannot read: {e}")
                continue
            index, fresh, rows = self._index[cls], {}, []
            for i in mine:
                records = [batch[i]] if cls is FeedbackEvent else batch[i]
                known = []
                for r in records:
                    key = getattr(r, cls.KEY)
                    known.append((r, index.get(key, fresh.get(key)), hash(identity(r))))
                clash = next((r for r, old, new in known if old is not None and old != new), None)
                if clash is not None:  # nothing of a conflicting slate is written
                    outcomes[i] = conflict(clash)
                    continue
                added = [(r, new) for r, old, new in known if old is None]
                for r, new in added:
                    fresh[getattr(r, cls.KEY)] = new
                rows.extend(r for r, _ in added)
                outcomes[i] = bool(added) if cls is FeedbackEvent else None
            if not rows:
                continue
            table = to_table(cls, rows)
            table = table.append_column("date", pa.array(day_strings(table[cls.TIME].to_numpy())))
            writer = self._writer(cls)
            version = writer.version()
            try:
                write_deltalake(writer, table, mode="append")
            except _FAILURES as e:
                error = StorageError(f"feedback log {self._table_uri(cls)}: commit failed: {e}")
                for i in mine:
                    if not isinstance(outcomes[i], Exception):
                        outcomes[i] = error
                continue
            index.update(fresh)
            self._commits[cls] += 1
            if writer.version() == version + 1:  # no other writer in between: the new files
                self._seen[cls] = set(writer.file_uris())  # are ours, no need to read them back
        return outcomes

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
        for cls in TABLES:
            where = ((pds.field("date") >= since_day)  # prunes whole day partitions
                     & (pds.field("advertiser_id") == int(advertiser_id))
                     & (pds.field(cls.TIME) >= int(since_ms)))
            out.append(from_table(cls, self._scan(cls, where)))
        return out[0], out[1]

    def export(self, root: Root) -> dict:
        return write_export(root, [self._scan(Impression, None)],
                            [self._scan(FeedbackEvent, None)])

    def close(self) -> None:
        self._committer.close()
        self._closed = True
