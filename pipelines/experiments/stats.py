"""Reading an experiment: each arm's metrics with 95 % intervals, and each arm against control,
from per-advertiser sums resampled by advertiser (the unit of assignment).

Paired design: every arm ran on the same advertisers, so one resample of advertisers serves
every arm and the difference is judged on the same accounts (far less noise). A/B: each arm's
advertisers are resampled on their own, and a sample-ratio check asks whether the assignment
split them as designed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

SUMS = ("impressions", "adoptions", "dismissals", "snoozes", "conversions", "profit", "spend",
        "trust", "advertisers")
# metric: (numerator, denominator), each a column of SUMS
METRICS = {
    "adoptions_per_impression": ("adoptions", "impressions"),
    "dismissals_per_impression": ("dismissals", "impressions"),
    "snoozes_per_impression": ("snoozes", "impressions"),
    "impressions_per_advertiser": ("impressions", "advertisers"),
    "conversions_per_advertiser": ("conversions", "advertisers"),
    "profit_per_advertiser": ("profit", "advertisers"),
    "spend_per_advertiser": ("spend", "advertisers"),
    "trust": ("trust", "advertisers"),
}
ACCOUNT_METRICS = ("spend_per_advertiser", "trust")  # not defined within a surface
SRM_P = 0.001  # a sample-ratio mismatch below this p-value flags the assignment


def unit_sums(outcomes: pd.DataFrame, advertisers: np.ndarray) -> np.ndarray:
    """[advertiser, SUMS] for the advertisers given (in that order), zero where an advertiser
    has no rows."""
    g = outcomes.groupby("advertiser_id")[list(SUMS[:-1])].sum()
    g = g.reindex(advertisers, fill_value=0.0)
    return np.concatenate([g.to_numpy(float), np.ones((len(advertisers), 1))], axis=1)


def metrics(totals: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric from totals [..., SUMS] (any leading shape: resamples)."""
    col = {c: totals[..., i] for i, c in enumerate(SUMS)}
    with np.errstate(invalid="ignore", divide="ignore"):
        return {m: col[a] / col[b] for m, (a, b) in METRICS.items()}


def resample_counts(n_units: int, n_resamples: int, seed: int) -> np.ndarray:
    """[resample, unit] how often each unit is drawn (a multinomial bootstrap)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_resamples
                           ).astype(float)


def _interval(values: np.ndarray) -> list[float]:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return [float("nan"), float("nan")]
    return [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))]


def _summary(point: float, resampled: np.ndarray) -> dict:
    return {"value": float(point), "ci95": _interval(resampled)}


def _compare(arm_point, ctrl_point, arm_boot, ctrl_boot) -> dict:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_point = arm_point / ctrl_point
        ratio_boot = arm_boot / ctrl_boot
    diff = _summary(arm_point - ctrl_point, arm_boot - ctrl_boot)
    lo, hi = diff["ci95"]
    diff["significant"] = bool(lo > 0 or hi < 0)
    return {"difference": diff, "ratio": _summary(ratio_point, ratio_boot)}


def paired(outcomes: pd.DataFrame, arms: list[str], control: str, n_resamples: int,
           seed: int) -> dict:
    """Every arm's metrics and its comparison with `control`, the same advertisers resampled
    for every arm."""
    ids = np.unique(outcomes.advertiser_id)
    sums = {a: unit_sums(outcomes[outcomes.arm == a], ids) for a in arms}
    counts = resample_counts(len(ids), n_resamples, seed)
    point = {a: metrics(s.sum(axis=0)) for a, s in sums.items()}
    boot = {a: metrics(counts @ s) for a, s in sums.items()}
    return _arms_report(arms, control, point, boot, {a: len(ids) for a in arms})


def ab(outcomes: pd.DataFrame, arms: list[str], control: str, n_resamples: int,
       seed: int) -> dict:
    """Every arm's metrics on its own advertisers and the comparison with `control`, each arm
    resampled on its own; with the sample-ratio check of the assignment."""
    point, boot, n = {}, {}, {}
    for i, a in enumerate(arms):
        rows = outcomes[outcomes.arm == a]
        ids = np.unique(rows.advertiser_id)
        s = unit_sums(rows, ids)
        point[a] = metrics(s.sum(axis=0))
        boot[a] = metrics(resample_counts(len(ids), n_resamples, seed + 1 + i) @ s)
        n[a] = len(ids)
    out = _arms_report(arms, control, point, boot, n)
    out["sample_ratio"] = sample_ratio([n[a] for a in arms])
    return out


def sample_ratio(counts: list[int]) -> dict:
    """Chi-square test of the arms' sizes against an even split."""
    p = float(sps.chisquare(counts).pvalue) if sum(counts) else float("nan")
    return {"counts": [int(c) for c in counts], "expected_share": 1.0 / len(counts),
            "p_value": p, "mismatch": bool(p < SRM_P)}


def _arms_report(arms, control, point, boot, n) -> dict:
    out = {"control": control, "arms": {}}
    for a in arms:
        entry = {"advertisers": int(n[a]),
                 "metrics": {m: _summary(point[a][m], boot[a][m]) for m in METRICS}}
        if a != control:
            entry["against_control"] = {m: _compare(point[a][m], point[control][m],
                                                    boot[a][m], boot[control][m])
                                        for m in METRICS}
        out["arms"][a] = entry
    return out


def slices(outcomes: pd.DataFrame, arms: list[str], control: str, n_resamples: int,
           seed: int) -> list[dict]:
    """Each arm against control within every vertical, size tier and surface (paired), worst
    first by the arm's change in profit per advertiser (in $: a ratio misleads where the
    control's profit is near 0 or below)."""
    out = []
    for column in ("vertical", "size_tier", "surface"):
        values = sorted(v for v in outcomes[column].dropna().unique() if v != "")
        for v in values:
            rows = outcomes[outcomes[column] == v]
            if column == "surface":  # account rows (spend, trust) carry no surface
                ids = np.unique(outcomes.advertiser_id[outcomes.surface == v])
            else:
                ids = np.unique(rows.advertiser_id)
            if len(ids) < 2:
                continue
            report = paired(rows[rows.advertiser_id.isin(ids)], arms, control, n_resamples, seed)
            for a in arms:
                if a == control:
                    continue
                cmp = report["arms"][a]["against_control"]
                out.append({
                    "slice": column, "value": v, "arm": a, "advertisers": int(len(ids)),
                    **{m: {"arm": report["arms"][a]["metrics"][m]["value"],
                           "control": report["arms"][control]["metrics"][m]["value"],
                           **cmp[m]}
                       for m in METRICS if not (column == "surface" and m in ACCOUNT_METRICS)}})
    return sorted(out, key=lambda r: r["profit_per_advertiser"]["difference"]["value"])


def action_types(outcomes: pd.DataFrame, arms: list[str], control: str) -> list[dict]:
    """Per action type and arm: impressions, adoptions, dismissals and profit (totals over the
    advertisers), each arm's change against control, the biggest losses first."""
    t = outcomes[outcomes.action_type != ""].groupby(["action_type", "arm"])[
        ["impressions", "adoptions", "dismissals", "profit"]].sum()
    out = []
    for action in sorted(t.index.get_level_values(0).unique()):
        base = t.loc[action].reindex(arms, fill_value=0)
        for a in arms:
            if a == control:
                continue
            row = {"action_type": action, "arm": a}
            for c in ("impressions", "adoptions", "dismissals", "profit"):
                row[c] = {"arm": float(base.loc[a, c]), "control": float(base.loc[control, c]),
                          "difference": float(base.loc[a, c] - base.loc[control, c])}
            out.append(row)
    return sorted(out, key=lambda r: r["profit"]["difference"])
