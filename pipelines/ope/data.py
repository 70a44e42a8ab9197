"""Logged bandit feedback: the schema off-policy evaluation reads, its validation, and files.

A long table, one row per (round, position) shown — the Open Bandit Pipeline's convention:

- `round_id` (int, optional): one decision (a slate); default: each row is its own round.
- `cluster_id` (int, optional): the unit the bootstrap resamples (in our logs the advertiser),
  constant within a round; default: the round.
- `action` (int in [0, n_actions)), `position` (int >= 0, 0 = top; unique within a round),
  `reward` (float, not NaN).
- `pscore` (float in (0, 1]): the logging policy's probability of `action` at `position` (for
  slates the per-position marginal).
- `pscore_cascade` (optional, (0, 1]): the logging policy's probability of the ordered prefix up
  to and including this position (the product of its step probabilities).
- `action_dist` (n_actions floats per row, summing to 1 within 1e-6): the evaluated policy's
  probability of every action at this row's position; a list column (Parquet) or wide columns
  `action_dist_0..action_dist_{K-1}` (CSV or Parquet). Its length sets n_actions.
- `evaluation_pscore_cascade` (optional, [0, 1]): the evaluated policy's probability of the
  logged prefix.
- `estimated_rewards` (optional, like `action_dist`): a reward model q̂(x, a, position).
- `context_<j>` (optional floats): context features.

An optional second table gives action features: `action` (every action once) and
`action_context_<j>` columns. Rows are numbered from 0 in error messages, in file order.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.errors import DataError

SUM_TOLERANCE = 1e-6  # |Σ_a action_dist − 1| accepted per row
REQUIRED = ("action", "position", "reward", "pscore", "action_dist")
OPTIONAL_SCALARS = ("round_id", "cluster_id", "pscore_cascade", "evaluation_pscore_cascade")
VECTORS = ("action_dist", "estimated_rewards")  # n_actions values per row
EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True, eq=False)
class LoggedBandit:
    """Logged bandit feedback in arrays, one entry per (round, position) row; validated on
    construction (DataError naming the column, the row and what is accepted)."""

    action: np.ndarray  # [n] int
    position: np.ndarray  # [n] int, 0 = top
    reward: np.ndarray  # [n] float
    pscore: np.ndarray  # [n] logging probability of (action, position)
    action_dist: np.ndarray  # [n, n_actions] evaluated policy at the row's position
    round_id: np.ndarray | None = None  # [n] int; None: every row its own round
    cluster_id: np.ndarray | None = None  # [n] int; None: rounds are the bootstrap unit
    pscore_cascade: np.ndarray | None = None  # [n] logging probability of the prefix
    evaluation_pscore_cascade: np.ndarray | None = None  # [n] evaluated probability of it
    estimated_rewards: np.ndarray | None = None  # [n, n_actions] q̂(x, a, position)
    context: np.ndarray | None = None  # [n, d]
    action_context: np.ndarray | None = None  # [n_actions, d_a]

    def __post_init__(self) -> None:
        n = len(np.asarray(self.action))
        coerce = {"action": _ints, "position": _ints, "round_id": _ints, "cluster_id": _ints,
                  "reward": _floats, "pscore": _floats, "pscore_cascade": _floats,
                  "evaluation_pscore_cascade": _floats, "action_dist": _floats,
                  "estimated_rewards": _floats, "context": _floats, "action_context": _floats}
        for name, fn in coerce.items():
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, fn(name, value))
        if self.round_id is None:
            object.__setattr__(self, "round_id", np.arange(n, dtype=np.int64))
        validate(self)

    @property
    def n_rows(self) -> int:
        return len(self.action)

    @property
    def n_actions(self) -> int:
        return self.action_dist.shape[1]

    @cached_property
    def round_index(self) -> np.ndarray:
        """Each row's round as a code in [0, n_rounds), rounds in order of their ids."""
        return np.unique(self.round_id, return_inverse=True)[1].astype(np.int64)

    @property
    def n_rounds(self) -> int:
        return int(self.round_index.max()) + 1 if self.n_rows else 0

    @cached_property
    def first_of_round(self) -> np.ndarray:
        """1.0 on one row of each round (its first in the file), else 0: summing it counts
        rounds, in a bootstrap resample too."""
        first = np.zeros(self.n_rows)
        first[np.unique(self.round_index, return_index=True)[1]] = 1.0
        return first

    @cached_property
    def unit(self) -> np.ndarray:
        """Each row's bootstrap unit as a code: its cluster, or its round without clusters."""
        if self.cluster_id is None:
            return self.round_index
        return np.unique(self.cluster_id, return_inverse=True)[1].astype(np.int64)

    @property
    def n_units(self) -> int:
        return int(self.unit.max()) + 1 if self.n_rows else 0

    @cached_property
    def position_index(self) -> np.ndarray:
        """Each row's position as a code in [0, number of distinct positions)."""
        return np.unique(self.position, return_inverse=True)[1].astype(np.int64)


def _ints(name: str, values) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind in "iub":
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{name} must be an integer: row {i} has {float(a[i])!r}")
        return a.astype(np.int64)
    raise DataError(f"{name} must be an integer column, got values of type {a.dtype}")


def _floats(name: str, values) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{name} must hold numbers") from None


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_length(name: str, values: np.ndarray | None, n: int, ndim: int) -> None:
    if values is None:
        return
    if values.ndim != ndim or len(values) != n:
        want = f"[{n}]" if ndim == 1 else f"[{n}, n_actions]" if name in VECTORS else f"[{n}, d]"
        raise DataError(f"{name} has shape {list(values.shape)}, expected {want} (one entry "
                        f"per row of action)")


def _check_range(name: str, values: np.ndarray | None, low_open: bool) -> None:
    """Values in (0, 1] (`low_open`) or [0, 1]; NaN fails."""
    if values is None:
        return
    ok = (values > 0 if low_open else values >= 0) & (values <= 1)
    if not ok.all():
        if values.ndim == 1:
            i = _first_bad(~ok)
            where, value = f"row {i}", float(values[i])
        else:
            i = _first_bad(~ok.all(axis=1))
            j = _first_bad(~ok[i])
            where, value = f"row {i}, action {j}", float(values[i, j])
        raise DataError(f"{name} must be in {'(0' if low_open else '[0'}, 1]: {where} has "
                        f"{value!r}")


def validate(b: LoggedBandit) -> None:
    """Raise DataError on the first thing that breaks the schema (see the module docstring)."""
    n = len(b.action)
    if n == 0:
        raise DataError("the logged bandit data has no rows")
    for name in ("position", "reward", "pscore", "round_id", "cluster_id", "pscore_cascade",
                 "evaluation_pscore_cascade"):
        _check_length(name, getattr(b, name), n, 1)
    for name in ("action_dist", "estimated_rewards", "context"):
        _check_length(name, getattr(b, name), n, 2)
    k = b.action_dist.shape[1]
    if k == 0:
        raise DataError("action_dist has no actions (n_actions = 0)")
    if b.estimated_rewards is not None and b.estimated_rewards.shape[1] != k:
        raise DataError(f"estimated_rewards has {b.estimated_rewards.shape[1]} values per row, "
                        f"action_dist {k}: both need one per action")
    bad = (b.action < 0) | (b.action >= k)
    if bad.any():
        i = _first_bad(bad)
        raise DataError(f"action must be in [0, {k}) (n_actions from action_dist): row {i} has "
                        f"{b.action[i]}")
    if (b.position < 0).any():
        i = _first_bad(b.position < 0)
        raise DataError(f"position must be >= 0 (0 = top): row {i} has {b.position[i]}")
    if np.isnan(b.reward).any():
        raise DataError(f"reward is NaN at row {_first_bad(np.isnan(b.reward))}")
    if not np.isfinite(b.reward).all():
        raise DataError(f"reward must be finite: row {_first_bad(~np.isfinite(b.reward))} is "
                        "infinite")
    _check_range("pscore", b.pscore, low_open=True)
    _check_range("pscore_cascade", b.pscore_cascade, low_open=True)
    _check_range("evaluation_pscore_cascade", b.evaluation_pscore_cascade, low_open=False)
    _check_range("action_dist", b.action_dist, low_open=False)
    sums = b.action_dist.sum(axis=1)
    off = np.abs(sums - 1) > SUM_TOLERANCE
    if off.any():
        i = _first_bad(off)
        raise DataError(f"action_dist of row {i} sums to {sums[i]:.9g}; each row must sum to 1 "
                        f"within {SUM_TOLERANCE:g} (the evaluated policy's probabilities of "
                        "every action at the row's position)")
    for name in ("estimated_rewards", "context"):
        values = getattr(b, name)
        if values is not None and not np.isfinite(values).all():
            i = _first_bad(~np.isfinite(values).all(axis=1))
            raise DataError(f"{name} must be finite: row {i} has a NaN or infinite value")
    if b.action_context is not None:
        if b.action_context.ndim != 2 or len(b.action_context) != k:
            raise DataError(f"action_context has shape {list(b.action_context.shape)}, expected "
                            f"[{k}, d_a]: one row per action")
        if not np.isfinite(b.action_context).all():
            raise DataError("action_context must be finite")
    _check_rounds(b)


def _check_rounds(b: LoggedBandit) -> None:
    """Positions unique within a round; one cluster per round."""
    order = np.lexsort((b.position, b.round_id))
    r, p = b.round_id[order], b.position[order]
    dup = (r[1:] == r[:-1]) & (p[1:] == p[:-1])
    if dup.any():
        j = _first_bad(dup)
        rows = sorted((int(order[j]), int(order[j + 1])))
        raise DataError(f"round {r[j]} has position {p[j]} twice (rows {rows[0]} and {rows[1]}); "
                        "positions within a round must be unique")
    if b.cluster_id is not None:
        c = b.cluster_id[order]
        split = (r[1:] == r[:-1]) & (c[1:] != c[:-1])
        if split.any():
            j = _first_bad(split)
            raise DataError(f"round {r[j]} has rows in clusters {c[j]} and {c[j + 1]}; a round "
                            "belongs to one cluster")


# --- files -----------------------------------------------------------------------------------

def _format(path: str | os.PathLike) -> str:
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise DataError(f"cannot read {str(path)!r}: unknown extension {ext or '(none)'!r}; "
                        "expected .parquet, .pq or .csv")
    return EXTENSIONS[ext]


def _read_table(path: str | os.PathLike) -> pa.Table:
    fmt = _format(path)
    try:
        return pq.read_table(path) if fmt == "parquet" else pacsv.read_csv(path)
    except (OSError, pa.ArrowException) as e:
        line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot read {str(path)!r} as {fmt}: {line}") from None


def _scalar(table: pa.Table, name: str) -> np.ndarray | None:
    if name not in table.column_names:
        return None
    col = table.column(name)
    if col.null_count:
        i = _first_bad(np.asarray(col.is_null()))
        raise DataError(f"column {name} has a missing value at row {i}")
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
            or pa.types.is_boolean(col.type)):
        raise DataError(f"column {name} must be numeric, got {col.type}")
    return col.to_numpy()


def _wide_indices(table: pa.Table, prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)$")
    return sorted(int(m.group(1)) for c in table.column_names if (m := pattern.match(c)))


def _vector(table: pa.Table, name: str) -> np.ndarray | None:
    """[n, K] from a list column `name` or wide columns `name_0..name_{K-1}`."""
    if name in table.column_names:
        col = table.column(name).combine_chunks()
        if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)
                or pa.types.is_fixed_size_list(col.type)):
            raise DataError(f"column {name} must be a list of numbers per row (got {col.type}); "
                            f"in a CSV use wide columns {name}_0..{name}_{{K-1}}")
        if col.null_count:
            raise DataError(f"column {name} has a missing list at row "
                            f"{_first_bad(np.asarray(col.is_null()))}")
        lengths = np.asarray(col.value_lengths())
        if len(lengths) == 0:
            return np.zeros((0, 0))
        if (lengths != lengths[0]).any():
            i = _first_bad(lengths != lengths[0])
            raise DataError(f"{name} lists have different lengths: row 0 has {lengths[0]} "
                            f"values, row {i} has {lengths[i]}; every row needs one per action")
        flat = col.flatten()
        if flat.null_count or not pa.types.is_floating(flat.type) and not pa.types.is_integer(
                flat.type):
            raise DataError(f"{name} lists must hold numbers with no missing values")
        return flat.to_numpy(zero_copy_only=False).astype(float).reshape(len(col), lengths[0])
    idx = _wide_indices(table, name)
    if not idx:
        return None
    missing = sorted(set(range(max(idx) + 1)) - set(idx))
    if missing:
        raise DataError(f"wide columns {name}_0..{name}_{max(idx)} lack {name}_{missing[0]}"
                        f"{'' if len(missing) == 1 else f' and {len(missing) - 1} more'}; "
                        "every action needs its column")
    return np.column_stack([_scalar(table, f"{name}_{j}") for j in idx]).astype(float)


def _matrix(table: pa.Table, prefix: str) -> np.ndarray | None:
    """[n, d] from columns `prefix_<j>` in the order of j (numeric suffixes) or of name."""
    names = [c for c in table.column_names if c.startswith(prefix + "_")]
    if not names:
        return None
    names.sort(key=lambda c: (0, int(c[len(prefix) + 1:]), c) if c[len(prefix) + 1:].isdigit()
               else (1, 0, c))
    return np.column_stack([_scalar(table, c) for c in names]).astype(float)


def from_table(table: pa.Table, action_context: pa.Table | None = None,
               source: str = "the table") -> LoggedBandit:
    """A validated LoggedBandit from an Arrow table in the schema (and the optional action
    feature table)."""
    cols = set(table.column_names)
    for name in REQUIRED:
        present = name in cols or (name in VECTORS and _wide_indices(table, name))
        if not present:
            raise DataError(f"missing column {name!r} in {source}: required are action, "
                            "position, reward, pscore and action_dist (a list column, or wide "
                            "columns action_dist_0..action_dist_{K-1})")
    if table.num_rows == 0:
        raise DataError(f"{source} has no rows")
    action_dist = _vector(table, "action_dist")
    return LoggedBandit(
        action=_scalar(table, "action"), position=_scalar(table, "position"),
        reward=_scalar(table, "reward"), pscore=_scalar(table, "pscore"),
        action_dist=action_dist,
        **{name: _scalar(table, name) for name in OPTIONAL_SCALARS},
        estimated_rewards=_vector(table, "estimated_rewards"),
        context=_matrix(table, "context"),
        action_context=None if action_context is None else _action_context(
            action_context, action_dist.shape[1]))


def _action_context(table: pa.Table, n_actions: int) -> np.ndarray:
    action = _scalar(table, "action")
    features = _matrix(table, "action_context")
    if action is None or features is None:
        raise DataError("the action context table needs columns action and action_context_<j>")
    action = _ints("action (action context)", action)
    if sorted(action.tolist()) != list(range(n_actions)):
        raise DataError(f"the action context table must list every action 0..{n_actions - 1} "
                        f"once (n_actions from action_dist); it has {len(action)} rows")
    out = np.empty_like(features)
    out[action] = features
    return out


def read_bandit(path: str | os.PathLike,
                action_context_path: str | os.PathLike | None = None) -> LoggedBandit:
    """Read and validate logged bandit data from Parquet or CSV (by extension)."""
    table = _read_table(path)
    ac = None if action_context_path is None else _read_table(action_context_path)
    return from_table(table, ac, source=str(path))


def to_table(b: LoggedBandit, wide: bool = False) -> pa.Table:
    """The schema's table: vectors as list columns, or as wide columns with `wide`."""
    cols: dict[str, pa.Array] = {}
    for name in ("round_id", "cluster_id", "action", "position", "reward", "pscore",
                 "pscore_cascade", "evaluation_pscore_cascade"):
        value = getattr(b, name)
        if value is not None:
            cols[name] = pa.array(value)
    for name in VECTORS:
        value = getattr(b, name)
        if value is None:
            continue
        if wide:
            cols.update({f"{name}_{j}": pa.array(value[:, j]) for j in range(value.shape[1])})
        else:
            cols[name] = pa.FixedSizeListArray.from_arrays(pa.array(value.ravel()),
                                                           value.shape[1])
    if b.context is not None:
        cols.update({f"context_{j}": pa.array(b.context[:, j]) for j in range(b.context.shape[1])})
    return pa.table(cols)


def write_bandit(b: LoggedBandit, path: str | os.PathLike) -> None:
    """Write `b` in the schema: Parquet with list columns or CSV with wide columns (by
    extension), replacing `path` whole. The action context, if any, is not written: it is a
    separate table (`write_action_context`)."""
    fmt = _format(path)
    table = to_table(b, wide=fmt == "csv")
    _publish(table, Path(path), fmt)


def write_action_context(b: LoggedBandit, path: str | os.PathLike) -> None:
    """The action feature table of `b` (columns action, action_context_<j>)."""
    if b.action_context is None:
        raise DataError("this logged bandit data has no action context to write")
    ac = b.action_context
    table = pa.table({"action": pa.array(np.arange(len(ac))),
                      **{f"action_context_{j}": pa.array(ac[:, j]) for j in range(ac.shape[1])}})
    _publish(table, Path(path), _format(path))


def _publish(table: pa.Table, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would outlive the rename
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp)
        else:
            pacsv.write_csv(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
