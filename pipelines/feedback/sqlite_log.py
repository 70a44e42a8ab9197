"""The feedback log on one host: SQLite in WAL mode with synchronous=FULL (every commit is
fsynced before it is acknowledged), the ids as primary keys, and group commit (one writer thread
per log object writes all pending appends in one transaction). A slate's impressions and ranker
inputs go in the same transaction.

Several processes may open the same file (SQLite's lock serialises their transactions; each
waits up to `busy_timeout_s` for it) and any number of threads may share one log object. The
file must be on a local disk: WAL needs shared memory, which network filesystems do not give.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator

import pyarrow as pa

from pipelines.errors import StorageError
from pipelines.feedback.log import (
    HISTORY,
    Batch,
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
from pipelines.feedback.records import FeedbackEvent, Impression, RankerInput, Record, values
from pipelines.storage.root import Root

_SQL_TYPES = {pa.string(): "TEXT", pa.int64(): "INTEGER", pa.float64(): "REAL",
              pa.bool_(): "INTEGER", pa.binary(): "BLOB"}


def _ddl(cls: type[Record]) -> list[str]:
    """CREATE statements derived from the record's Arrow schema (one source of truth)."""
    columns = []
    for f in cls.SCHEMA:
        column = f"{f.name} {_SQL_TYPES[f.type]}"
        if f.name == cls.KEY:
            column += " PRIMARY KEY"
        elif not f.nullable:
            column += " NOT NULL"
        if f.type == pa.bool_():
            column += f" CHECK ({f.name} IN (0, 1))"
        columns.append(column)
    table = TABLES[cls]
    out = [f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)}) STRICT",
           # window() and export(): rows in time order, read without sorting
           f"CREATE INDEX IF NOT EXISTS {table}_by_time ON {table} ({cls.TIME}, {cls.KEY})"]
    if cls in HISTORY:  # history(): one advertiser's recent rows, for cool-downs and caps
        out.append(f"CREATE INDEX IF NOT EXISTS {table}_by_advertiser ON {table} "
                   f"(advertiser_id, {cls.TIME})")
    return out


def _columns(cls: type[Record]) -> str:
    return ", ".join(cls.SCHEMA.names)


def _record(cls: type[Record], row: tuple) -> Record:
    fields = dict(zip(cls.SCHEMA.names, row))
    if cls is Impression:
        fields["degraded"] = bool(fields["degraded"])
    return cls(**fields)


class SqliteFeedbackLog(GroupCommitLog):
    """Feedback log in one SQLite file (created with its tables if missing)."""

    def __init__(self, path: str, busy_timeout_s: float = 30.0, group_commit: bool = True):
        self.path = os.path.abspath(path)
        self._timeout = busy_timeout_s
        self._local = threading.local()
        self._closed = False
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("BEGIN IMMEDIATE")
            for cls in TABLES:
                for statement in _ddl(cls):
                    self._writer.execute(statement)
            self._writer.execute("COMMIT")
        except (sqlite3.Error, OSError) as e:
            raise StorageError(f"feedback log {self.path}: cannot open: {e}") from None
        self._inserts = {cls: f"INSERT INTO {t} ({_columns(cls)}) VALUES "
                              f"({', '.join('?' * len(cls.SCHEMA))}) ON CONFLICT DO NOTHING"
                         for cls, t in TABLES.items()}
        self._committer = GroupCommit(self._commit, f"feedback-log-{os.path.basename(path)}",
                                      group=group_commit)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun and committed here, explicitly
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA synchronous=FULL")  # fsync the WAL at every commit
        return conn

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection (WAL readers do not block the writer)."""
        if self._closed:
            raise StorageError(f"feedback log {self.path} is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    # -- appends ---------------------------------------------------------------------------

    def _commit(self, batch: Batch) -> list[object]:
        """Write a batch in one transaction; one outcome per item (a conflict is the item's
        outcome, not the batch's: the other items still commit)."""
        conn = self._writer
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [self._append_event(conn, item) if isinstance(item, FeedbackEvent)
                            else self._append_slate(conn, item) for item in batch]
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise StorageError(f"feedback log {self.path}: commit failed: {e}") from None
        return outcomes

    def _existing(self, conn: sqlite3.Connection, cls: type[Record],
                  keys: list[str]) -> dict[str, Record]:
        if not keys:
            return {}
        rows = conn.execute(f"SELECT {_columns(cls)} FROM {TABLES[cls]} WHERE {cls.KEY} IN "
                            f"({', '.join('?' * len(keys))})", keys).fetchall()
        return {r[0]: _record(cls, r) for r in rows}  # the key is the first column

    def _append_event(self, conn: sqlite3.Connection, event: FeedbackEvent) -> object:
        if conn.execute(self._inserts[FeedbackEvent], values(event)).rowcount == 1:
            return True
        old = self._existing(conn, FeedbackEvent, [event.event_id])[event.event_id]
        return False if old == event else conflict(event)

    def _append_slate(self, conn: sqlite3.Connection, slate: Slate) -> object:
        # every row is checked before any is written, so a conflicting slate leaves no row behind
        parts = ((Impression, slate.impressions), (RankerInput, slate.inputs))
        new = {}
        for cls, rows in parts:
            old = self._existing(conn, cls, [r.recommendation_id for r in rows])
            for row in rows:
                if row.recommendation_id in old and old[row.recommendation_id] != row:
                    return conflict(row)
            new[cls] = [values(r) for r in rows if r.recommendation_id not in old]
        for cls, rows in new.items():
            conn.executemany(self._inserts[cls], rows)
        return None

    # -- reads ------------------------------------------------------------------------------

    def impression(self, recommendation_id: str) -> Impression | None:
        try:
            found = self._existing(self._reader(), Impression, [recommendation_id])
        except sqlite3.Error as e:
            raise StorageError(f"feedback log {self.path}: read failed: {e}") from None
        return found.get(recommendation_id)

    def history(self, advertiser_id: int, since_ms: int
                ) -> tuple[list[Impression], list[FeedbackEvent]]:
        conn = self._reader()
        try:
            conn.execute("BEGIN")  # one snapshot for both tables
            try:
                out = tuple(
                    [_record(cls, r) for r in conn.execute(
                        f"SELECT {_columns(cls)} FROM {TABLES[cls]} WHERE advertiser_id = ? "
                        f"AND {cls.TIME} >= ? ORDER BY {cls.TIME}, {cls.KEY}",
                        (int(advertiser_id), int(since_ms)))]
                    for cls in HISTORY)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StorageError(f"feedback log {self.path}: read failed: {e}") from None
        return out  # type: ignore[return-value]

    def window(self, cls: type[Record], since_ms: int, until_ms: int) -> pa.Table:
        check_window(cls, since_ms, until_ms)
        conn = self._reader()
        try:
            conn.execute("BEGIN")  # one snapshot across the chunks
            try:
                chunks = list(self._chunks(conn, cls, (int(since_ms), int(until_ms))))
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StorageError(f"feedback log {self.path}: read failed: {e}") from None
        return pa.concat_tables(chunks) if chunks else cls.SCHEMA.empty_table()

    def newest_ms(self, cls: type[Record]) -> int | None:
        check_record_class(cls)
        try:  # the by_time index's last entry
            return self._reader().execute(f"SELECT max({cls.TIME}) FROM {TABLES[cls]}"
                                          ).fetchone()[0]
        except sqlite3.Error as e:
            raise StorageError(f"feedback log {self.path}: read failed: {e}") from None

    def export(self, root: Root) -> dict:
        check_export_target(root, self.path)
        conn = self._reader()
        try:
            conn.execute("BEGIN")  # one snapshot for every table
            try:
                return write_export(root, {cls: self._chunks(conn, cls) for cls in TABLES})
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StorageError(f"feedback log {self.path}: export failed: {e}") from None

    @staticmethod
    def _chunks(conn: sqlite3.Connection, cls: type[Record], between: tuple[int, int] | None = None,
                rows: int = 200_000) -> Iterator[pa.Table]:
        """The table's rows in time order (those with time in [since, until) given `between`),
        as Arrow tables of up to `rows` rows, built column by column."""
        where = f"WHERE {cls.TIME} >= ? AND {cls.TIME} < ? " if between else ""
        cursor = conn.execute(f"SELECT {_columns(cls)} FROM {TABLES[cls]} {where}"
                              f"ORDER BY {cls.TIME}, {cls.KEY}", between or ())
        while chunk := cursor.fetchmany(rows):
            columns = list(zip(*chunk))
            yield pa.table({f.name: (pa.array(col, pa.int64()).cast(pa.bool_())
                                     if f.type == pa.bool_() else pa.array(col, f.type))
                            for f, col in zip(cls.SCHEMA, columns)}, schema=cls.SCHEMA)

    def close(self) -> None:
        self._committer.close()
        self._closed = True
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._writer.close()
