"""`guidance ope`: estimate an evaluated policy's value from logged bandit data, with bootstrap
intervals and effective sample sizes, and publish ope.json and ope.html.

`estimate(bandit)` is the library entry point (a JSON-ready dict); `run_ope(config)` reads a
file, estimates and writes the outputs; `render(result)` is what the command prints.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipelines.errors import ConfigError, StorageError
from pipelines.ope import estimators as est
from pipelines.ope.bootstrap import cluster_sums, percentile_interval, resample_totals
from pipelines.ope.data import LoggedBandit, read_bandit

ESTIMATORS = ("ips", "snips", "dr", "cascade")  # the default set
EstimatorName = Literal["ips", "snips", "dr", "cascade", "dm"]
KNOWN = ("ips", "snips", "dr", "cascade", "dm")
ALPHA = 0.05  # 95 % intervals
OUTPUTS = ("ope.json", "ope.html")
HISTOGRAM_BINS = 30


class OpeConfig(BaseModel):
    """What `guidance ope` reads, how it estimates, and where it writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str = Field(..., description="Logged bandit data, Parquet or CSV (docs/ope.md).")
    action_context: str | None = Field(None, description="Action feature table (action, "
                                                         "action_context_<j>), Parquet or CSV.")
    estimators: tuple[EstimatorName, ...] = Field(
        ESTIMATORS, min_length=1, description="Estimators to report: ips, snips, dr, cascade, "
        "dm (the reward model's plug-in).")
    n_bootstrap: int = Field(1000, ge=0, le=100_000, description="Bootstrap resamples of "
                                                                 "clusters (0: no intervals).")
    seed: int = Field(0, ge=0, lt=2**63, description="Seed of the bootstrap draws.")
    folds: int = Field(5, ge=2, le=50, description="Cross-fitting folds of the reward model.")
    out: str | None = Field(None, description="Folder for ope.json and ope.html, replaced "
                                              "whole (default: write nothing).")


def _num(x: float) -> float | None:
    """A JSON-ready float: None for NaN or infinity."""
    x = float(x)
    return x if math.isfinite(x) else None


def _weight_summary(w: np.ndarray) -> dict:
    """Mean (≈ 1 when the logging policy covers the evaluated one), tail, share of zeros and a
    histogram of log10 w over the positive weights."""
    pos = w[w > 0]
    out = {"mean": _num(w.mean()), "max": _num(w.max()), "p99": _num(np.quantile(w, 0.99)),
           "zero_share": _num(1 - len(pos) / len(w))}
    if len(pos):
        lo, hi = np.log10(pos.min()), np.log10(pos.max())
        counts, edges = np.histogram(np.log10(pos), bins=HISTOGRAM_BINS if hi > lo else 1,
                                     range=(lo, hi) if hi > lo else (lo - 0.5, lo + 0.5))
        out["log10_histogram"] = {"edges": [float(e) for e in edges],
                                  "counts": [int(c) for c in counts]}
    return out


def _dr_inputs(b: LoggedBandit, folds: int) -> tuple[np.ndarray | None, str]:
    """(q̂ or None, where it came from or why there is none)."""
    if b.estimated_rewards is not None:
        return b.estimated_rewards, "the estimated_rewards column"
    if b.context is None:
        return None, ("no estimated_rewards column and no context_* columns to fit a reward "
                      "model on")
    unit = "clusters" if b.cluster_id is not None else "rounds"
    if b.n_units < 2:
        return None, f"the reward model is cross-fitted over {unit}, and there is only one"
    from pipelines.ope.reward_model import cross_fitted  # scikit-learn: seconds to import

    q = cross_fitted(b.context, b.action, b.position_index, b.reward, b.unit, b.n_actions,
                     b.action_context, folds)
    k = min(folds, b.n_units)
    return q, f"ridge regression cross-fitted over {k} folds of {unit}"


def _build(b: LoggedBandit, names: tuple[str, ...], folds: int
           ) -> tuple[dict[str, est.Estimator], dict[str, str]]:
    """Estimators that can run on `b`, and for the others the reason."""
    w = est.importance_weights(b.action_dist, b.action, b.pscore)
    first = b.first_of_round
    built: dict[str, est.Estimator] = {"on_policy": est.on_policy(b.reward, first)}
    notes: dict[str, str] = {}
    q, q_note = (_dr_inputs(b, folds) if {"dr", "dm"} & set(names) else (None, ""))
    for name in names:
        if name == "ips":
            built[name] = est.ips(b.reward, w, first)
        elif name == "snips":
            built[name] = est.snips(b.reward, w, b.position_index, first)
        elif name in ("dr", "dm"):
            if q is not None:
                built[name] = (est.dr(b.reward, w, b.action, b.action_dist, q, first)
                               if name == "dr" else est.direct_method(b.action_dist, q, first))
            notes[name] = q_note
        elif name == "cascade":
            missing = [c for c in ("pscore_cascade", "evaluation_pscore_cascade")
                       if getattr(b, c) is None]
            if missing:
                notes[name] = f"no {' and no '.join(missing)} column"
            else:
                built[name] = est.cascade(b.reward, b.pscore_cascade,
                                          b.evaluation_pscore_cascade, first)
    return built, notes


def estimate(bandit: LoggedBandit, estimators: tuple[str, ...] | list[str] = ESTIMATORS,
             n_bootstrap: int = 1000, seed: int = 0, folds: int = 5) -> dict:
    """Each estimator's value of the evaluated policy (expected total reward per round, and per
    slot), its 95 % percentile bootstrap interval and std (clusters resampled, the same
    resamples for every estimator), and the effective sample size of its weights; the logged
    policy's own value beside them. JSON-ready."""
    names = tuple(dict.fromkeys(estimators))
    unknown = [n for n in names if n not in KNOWN]
    if unknown or not names:
        raise ConfigError(f"unknown estimator {unknown[0]!r}: expected some of "
                          f"{', '.join(KNOWN)}" if unknown else "no estimator asked for")
    if n_bootstrap < 0 or folds < 2:
        raise ConfigError(f"need n_bootstrap >= 0 and folds >= 2, got {n_bootstrap} and {folds}")
    built, notes = _build(bandit, names, folds)
    slots = bandit.n_rows / bandit.n_rounds  # mean positions per round
    boot: dict[str, np.ndarray] = {}
    if n_bootstrap > 0:
        parts = list(built.values())
        widths = np.cumsum([0] + [e.columns.shape[1] for e in parts])
        sums = cluster_sums(np.hstack([e.columns for e in parts]), bandit.unit, bandit.n_units)
        totals = resample_totals(sums, n_bootstrap, seed)
        boot = {name: e.value(totals[:, widths[i]:widths[i + 1]])
                for i, (name, e) in enumerate(built.items())}

    def summary(name: str) -> dict:
        e = built[name]
        value = e.point()
        row = {"available": True, "value": _num(value), "per_slot": _num(value / slots)}
        if name in boot:
            iv = percentile_interval(boot[name], ALPHA)
            row |= {"ci95_low": _num(iv.low), "ci95_high": _num(iv.high), "std": _num(iv.std),
                    "per_slot_ci95_low": _num(iv.low / slots),
                    "per_slot_ci95_high": _num(iv.high / slots)}
        if e.weights is not None:
            row |= {"n_eff": _num(est.effective_sample_size(e.weights)), "n": bandit.n_rows,
                    "weights": _weight_summary(e.weights)}
        if name in notes:
            row["reward_model"] = notes[name]
        return row

    return {
        "rows": bandit.n_rows, "rounds": bandit.n_rounds, "actions": bandit.n_actions,
        "positions_per_round": _num(slots),
        "clusters": bandit.n_units, "resampled": "clusters" if bandit.cluster_id is not None
        else "rounds", "n_bootstrap": n_bootstrap, "seed": seed,
        "on_policy": summary("on_policy"),
        "estimators": {name: summary(name) if name in built
                       else {"available": False, "reason": notes[name]} for name in names},
    }


def run_ope(cfg: OpeConfig) -> dict:
    """Read cfg.data, estimate, and publish ope.json and ope.html under cfg.out if given; the
    result carries the data's path and, with cfg.out, the folder written."""
    bandit = read_bandit(cfg.data, cfg.action_context)
    result = {"data": cfg.data, "action_context": cfg.action_context,
              **estimate(bandit, cfg.estimators, cfg.n_bootstrap, cfg.seed, cfg.folds)}
    if cfg.out:
        result["out"] = write_outputs(result, cfg.out)
    return result


def write_outputs(result: dict, out: str) -> str:
    """ope.json and ope.html in folder `out`, published whole: written to a staging folder
    beside it, then renamed into place (an earlier output folder is replaced; a folder holding
    anything else is refused). Returns the folder's path."""
    from pipelines.ope.report import render_html

    dest = Path(out).resolve()
    if dest.exists() and (not dest.is_dir() or set(p.name for p in dest.iterdir())
                          - set(OUTPUTS)):
        raise StorageError(f"--out {out!r} exists and is not an earlier ope output folder "
                           f"(only {' and '.join(OUTPUTS)}); choose a new or empty folder")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.staging-"))
        staged.chmod(0o755)  # mkdtemp's 0700 would outlive the rename
    except OSError as e:
        raise StorageError(f"cannot write under {str(dest.parent)!r}: {e.strerror}") from None
    try:
        (staged / "ope.json").write_text(json.dumps(result, indent=2, allow_nan=False))
        (staged / "ope.html").write_text(render_html(result))
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{staged.name.rsplit('-', 1)[-1]}")
            dest.rename(old)
            staged.rename(dest)
            shutil.rmtree(old)
        else:
            staged.rename(dest)
    except OSError as e:
        raise StorageError(f"cannot publish {str(dest)!r}: {e.strerror}") from None
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    return str(dest)


def _line(name: str, row: dict) -> str:
    if not row["available"]:
        return f"{name:<10} unavailable: {row['reason']}"
    text = f"{name:<10} {row['value']:.4f} per round"
    if row.get("ci95_low") is not None:
        text += f"  95% [{row['ci95_low']:.4f}, {row['ci95_high']:.4f}]"
    text += f"  per slot {row['per_slot']:.4f}"
    if "n_eff" in row:
        text += f"  n_eff {row['n_eff']:,.0f} of {row['n']:,}"
    return text


def render(result: dict) -> str:
    """What `guidance ope` prints: the data in one line, then one line per estimator."""
    boot = (f"{result['n_bootstrap']:,} bootstrap resamples of {result['clusters']:,} "
            f"{result['resampled']}" if result["n_bootstrap"] else "no bootstrap")
    lines = [f"{result['rounds']:,} rounds ({result['rows']:,} rows, "
             f"{result['positions_per_round']:.2f} positions per round), {result['actions']:,} "
             f"actions; {boot}",
             _line("logged", result["on_policy"])]
    lines += [_line(name, row) for name, row in result["estimators"].items()]
    if result.get("out"):
        lines.append(f"wrote {result['out']}/ope.json and ope.html")
    return "\n".join(lines)
