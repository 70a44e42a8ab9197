"""What an experiment's tables say: the arms with their intervals (paired truth and A/B), who
gains and who loses, the off-policy estimates made before it against the truth after it, the
impact promised against the impact delivered, and what the exploration floor costs and buys.
Every target of the experiment is printed with its figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.experiments import stats
from pipelines.experiments.config import ExperimentConfig
from pipelines.ope.data import SUM_TOLERANCE, LoggedBandit
from pipelines.ope.job import estimate

LEARNED = "learned"
OPE_ESTIMATORS = ("ips", "snips", "dr", "cascade")
# The issue's targets for the learned policy against the logging rules (paired truth).
ADOPTION_LIFT, PROFIT_LIFT, DR_ERROR = 1.3, 1.5, 0.10


def analyse(cfg: ExperimentConfig, tables: dict[str, pd.DataFrame], facts, meta: dict) -> dict:
    arms, control = list(cfg.arms), cfg.control_arm
    arms = [control] + [a for a in arms if a != control]
    out = tables["outcomes"]
    start = facts.start + pd.Timedelta(days=facts.days)
    result = {
        "name": cfg.name, "config": cfg.model_dump(mode="json"),
        "model_version": meta.get("version"), "snapshot": meta.get("snapshot"),
        "world": {"seed": facts.seed, "history_days": facts.days,
                  "advertisers": int(out.advertiser_id.nunique())},
        "horizon": {"from": start.isoformat(),
                    "to": (start + pd.Timedelta(days=cfg.days)).isoformat(), "days": cfg.days},
        "arms": arms, "control": control,
    }
    paired = out[out.design == "paired"]
    if len(paired):
        result["paired"] = stats.paired(paired, arms, control, cfg.bootstrap, cfg.seed)
        result["slices"] = stats.slices(paired, arms, control, cfg.bootstrap, cfg.seed)
        result["action_types"] = stats.action_types(paired, arms, control)
    ab = out[out.design == "ab"]
    if len(ab):
        result["ab"] = stats.ab(ab, arms, control, cfg.bootstrap, cfg.seed)
        if "paired" in result:
            result["ab_against_truth"] = ab_against_truth(result["ab"], result["paired"])
    truth_design = "paired" if "paired" in result else "ab"
    if "bandit" in tables and LEARNED in arms:
        result["ope"] = ope_against_truth(tables["bandit"], result[truth_design], cfg,
                                          tables.get("ope_window"))
    if "adopted" in tables:
        result["promised"] = promised_against_delivered(tables["adopted"])
    if "first_slot" in tables:
        result["exploration"] = exploration(tables["first_slot"], result[truth_design], cfg)
    result["targets"] = targets(result, control)
    result["verdict"] = verdict(result, control)
    return result


def ab_against_truth(ab: dict, paired: dict) -> dict:
    """Each A/B difference against control beside the paired truth's: the error and whether
    the A/B interval covers the truth."""
    out = {}
    for arm, entry in ab["arms"].items():
        if "against_control" not in entry:
            continue
        rows = {}
        for m, cmp in entry["against_control"].items():
            truth = paired["arms"][arm]["against_control"][m]["difference"]["value"]
            est = cmp["difference"]
            lo, hi = est["ci95"]
            rows[m] = {"ab": est["value"], "ci95": est["ci95"], "truth": truth,
                       "error": est["value"] - truth, "covers": bool(lo <= truth <= hi)}
        out[arm] = rows
    return out


def to_bandit(rows: pd.DataFrame) -> tuple[LoggedBandit, dict, np.ndarray]:
    """The logged-bandit table of the history's slates (pipelines.ope.data), what was left
    out (rows whose logged marginal was never drawn in the sampling: no propensity to divide
    by; rows at a position the evaluated policy leaves empty: its caps leave too few items),
    and which rows were kept."""
    width = int(rows.action_dist.map(len).max())
    dist = np.zeros((len(rows), width))
    q = np.zeros((len(rows), width))
    for i, (d, r) in enumerate(zip(rows.action_dist, rows.estimated_rewards)):
        dist[i, :len(d)], q[i, :len(r)] = d, r
    unsampled = rows.pscore.to_numpy() <= 0
    unfilled = np.abs(dist.sum(axis=1) - 1) > SUM_TOLERANCE
    keep = ~(unsampled | unfilled)
    r = rows[keep]
    has_q = np.isfinite(q[keep]).all()
    bandit = LoggedBandit(
        action=r.action.to_numpy(), position=r.position.to_numpy(), reward=r.reward.to_numpy(),
        pscore=r.pscore.to_numpy(), action_dist=dist[keep], round_id=r.round_id.to_numpy(),
        cluster_id=r.cluster_id.to_numpy(), pscore_cascade=r.pscore_cascade.to_numpy(),
        evaluation_pscore_cascade=r.evaluation_pscore_cascade.to_numpy(),
        estimated_rewards=q[keep] if has_q else None)
    return bandit, {"rows": int(len(rows)), "kept": int(keep.sum()),
                    "pscore_not_sampled": int(unsampled.sum()),
                    "position_left_empty": int((unfilled & ~unsampled).sum()),
                    "pscore_stderr_median": float(np.median(rows.pscore_stderr)),
                    "pscore_relative_stderr_median": float(np.median(
                        rows.pscore_stderr[~unsampled] / rows.pscore[~unsampled]))}, keep


def ope_against_truth(rows: pd.DataFrame, truth: dict, cfg: ExperimentConfig,
                      window: pd.DataFrame | None = None) -> dict:
    """The off-policy estimates of the learned policy's adoptions per impression from the
    history's last `ope_days` days, each beside the truth the experiment measured; and beside
    the learned policy's truth over those logged days themselves (`window`: the outcomes of the
    learned policy living them from the same state), which parts the estimator's error from
    the change between the logged period and the experiment's."""
    bandit, kept, keep = to_bandit(rows)
    est = estimate(bandit, OPE_ESTIMATORS, cfg.bootstrap, cfg.seed)
    used = rows[keep]
    one_step = float(used.one_step_truth.mean())
    value = truth["arms"][LEARNED]["metrics"]["adoptions_per_impression"]["value"]
    in_window = None
    if window is not None and len(window):
        in_window = float(window.adoptions.sum() / window.impressions.sum())
    logged = truth["arms"].get("logging", {}).get("metrics", {}).get(
        "adoptions_per_impression", {}).get("value")
    judged = {}
    for name, e in est["estimators"].items():
        if not e.get("available"):
            judged[name] = {"available": False, "reason": e.get("reason")}
            continue
        lo, hi = e.get("per_slot_ci95_low"), e.get("per_slot_ci95_high")
        judged[name] = {"available": True, "estimate": e["per_slot"], "ci95": [lo, hi],
                        "truth": value, "relative_error": (e["per_slot"] - value) / value,
                        "covers": bool(lo is not None and lo <= value <= hi),
                        "n_eff": e.get("n_eff"), "n": e.get("n")}
        judged[name] |= {"one_step_truth": one_step,
                         "one_step_relative_error": (e["per_slot"] - one_step) / one_step,
                         "one_step_covers": bool(lo is not None and lo <= one_step <= hi)}
        if in_window is not None:
            judged[name] |= {"logged_period_truth": in_window,
                             "logged_period_relative_error": (e["per_slot"] - in_window)
                             / in_window,
                             "logged_period_covers": bool(lo is not None
                                                          and lo <= in_window <= hi)}
    return {"estimand": "the learned policy's adoptions per impression", "data": kept,
            "days": cfg.ope_days, "on_policy": {"estimate": est["on_policy"]["per_slot"],
                                                "logging_one_step_truth": float(
                                                    used.logged_truth.mean()),
                                                "logging_truth_in_experiment": logged},
            "estimates": judged, "raw": est}


def promised_against_delivered(adopted: pd.DataFrame) -> dict:
    """For every adopted item shown with an impact interval: whether the realised change in
    conversions fell inside it, and the bias of its median, per action type and overall."""
    a = adopted[adopted.promised.notna() & adopted.realised.notna()]
    if a.empty:
        return {"rows": 0, "by_action_type": [], "by_arm": {}}
    inside = (a.promised_low <= a.realised) & (a.realised <= a.promised_high)
    f = a.assign(inside=inside, error=a.promised - a.realised)

    def summary(g: pd.DataFrame) -> dict:
        return {"rows": int(len(g)), "coverage": float(g.inside.mean()),
                "bias": float(g.error.mean()), "promised_mean": float(g.promised.mean()),
                "realised_mean": float(g.realised.mean()),
                "mean_width": float((g.promised_high - g.promised_low).mean())}

    by_type = [{"arm": arm, "action_type": t, **summary(g)}
               for (arm, t), g in f.groupby(["arm", "action_type"])]
    return {"rows": int(len(f)), "by_arm": {arm: summary(g) for arm, g in f.groupby("arm")},
            "by_action_type": sorted(by_type, key=lambda r: r["coverage"])}


def exploration(first: pd.DataFrame, truth: dict, cfg: ExperimentConfig) -> dict:
    """What the exploration floor costs (learned_explore against learned on every metric) and
    what it buys: from each arm's own logs, the first-slot importance weights for evaluating
    the logging rules, their effective sample size, and the IPS / SNIPS estimate of the rules'
    first-slot adoption rate beside the rate the logging arm measured."""
    out = {"floor": cfg.exploration_floor, "logs": {}}
    on_truth = first[first.arm == "logging"].reward.mean() if (first.arm == "logging").any() \
        else float("nan")
    for (arm, design), g in first.groupby(["arm", "design"]):
        if arm == "logging" or design != ("paired" if "paired" in first.design.values else "ab"):
            continue
        w = (g.evaluation_p / g.pscore).to_numpy()
        r = g.reward.to_numpy()
        out["logs"][arm] = {
            "slates": int(len(g)), "n_eff": float(w.sum() ** 2 / (w ** 2).sum()),
            "n_eff_share": float(w.sum() ** 2 / (w ** 2).sum() / len(g)),
            "min_pscore": float(g.pscore.min()), "median_pscore": float(g.pscore.median()),
            "max_weight": float(w.max()),
            "ips": float((w * r).mean()), "snips": float((w * r).sum() / w.sum()),
            "truth": float(on_truth)}
    arms = truth["arms"]
    if LEARNED in arms and "learned_explore" in arms:
        cost = {}
        for m in stats.METRICS:
            base = arms[LEARNED]["metrics"][m]["value"]
            floor = arms["learned_explore"]["metrics"][m]["value"]
            cost[m] = {"learned": base, "learned_explore": floor,
                       "ratio": floor / base if base else float("nan")}
        out["cost"] = cost
    return out


def _metric(result: dict, arm: str, m: str, part: str = "ratio") -> float | None:
    t = result.get("paired") or result.get("ab")
    if not t or arm not in t["arms"] or "against_control" not in t["arms"][arm]:
        return None
    return t["arms"][arm]["against_control"][m][part]["value"]


def _control_value(result: dict, m: str) -> float:
    t = result.get("paired") or result["ab"]
    return t["arms"][t["control"]]["metrics"][m]["value"]


def targets(result: dict, control: str) -> list[dict]:
    """The issue's targets, each with its figure and whether it is met (None: not measured)."""
    out = []
    if control == "logging":
        adopt = _metric(result, LEARNED, "adoptions_per_impression")
        dismiss = _metric(result, LEARNED, "dismissals_per_impression", "difference")
        profit = _metric(result, LEARNED, "profit_per_advertiser")
        out.append({"target": f"learned adoptions per impression ≥ {ADOPTION_LIFT}× the "
                              "logging rules', at no higher dismissal rate",
                    "figure": adopt, "dismissal_rate_difference": dismiss,
                    "met": None if adopt is None else bool(adopt >= ADOPTION_LIFT
                                                           and dismiss <= 0)})
        gain = _metric(result, LEARNED, "profit_per_advertiser", "difference")
        control_profit = None if gain is None else _control_value(result, "profit_per_advertiser")
        # a ratio of two losses is no gain: the arm must add profit, and beat a positive
        # control's by the factor
        out.append({"target": f"learned true profit ≥ {PROFIT_LIFT}× the logging rules'",
                    "figure": profit, "profit_difference": gain,
                    "met": None if profit is None else bool(
                        gain > 0 and (control_profit <= 0 or profit >= PROFIT_LIFT))})
    dr = result.get("ope", {}).get("estimates", {}).get("dr", {})
    if dr.get("available"):
        out.append({"target": f"doubly robust estimate within {DR_ERROR:.0%} of the truth, "
                              "its 95 % interval covering it",
                    "figure": dr["relative_error"], "covers": dr["covers"],
                    "met": bool(abs(dr["relative_error"]) <= DR_ERROR and dr["covers"])})
    return out


def verdict(result: dict, control: str) -> str:
    """One line: is the learned policy better, by how much (paired truth)."""
    adopt = _metric(result, LEARNED, "adoptions_per_impression")
    if adopt is None:
        return "no learned arm against a control"
    profit = _metric(result, LEARNED, "profit_per_advertiser")
    t = (result.get("paired") or result["ab"])["arms"][LEARNED]["against_control"]
    gain = t["profit_per_advertiser"]["difference"]
    better = gain["value"] > 0 and gain["significant"]
    lo, hi = t["adoptions_per_impression"]["ratio"]["ci95"]
    dlo, dhi = gain["ci95"]
    return (f"learned policy {'BETTER' if better else 'NOT SHOWN BETTER'} than {control}: "
            f"adoptions per impression ×{adopt:.2f} (95 %: {lo:.2f}–{hi:.2f}), advertisers' "
            f"true profit ×{profit:.2f}, {gain['value']:+,.0f} $ per advertiser over the "
            f"horizon (95 %: {dlo:+,.0f} to {dhi:+,.0f})")


def _fmt(v, spec: str = ".3f") -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def render(result: dict) -> str:
    """`guidance experiment`'s lines for people: the verdict, each arm, the targets, the
    estimates against the truth, promised against delivered, and where the report is."""
    lines = [f"experiment {result['name']}: {result['world']['advertisers']:,} advertisers × "
             f"{result['horizon']['days']} days from {result['horizon']['from']}, arms "
             f"{', '.join(result['arms'])} ({result.get('seconds', '?')} s)",
             result["verdict"]]
    for design in ("paired", "ab"):
        if design not in result:
            continue
        t = result[design]
        head = "paired truth" if design == "paired" else "A/B test"
        if design == "ab":
            sr = t["sample_ratio"]
            head += (f" (sample ratio {'MISMATCH' if sr['mismatch'] else 'ok'}: "
                     f"{sr['counts']}, p = {sr['p_value']:.3f})")
        lines.append(head)
        for arm, e in t["arms"].items():
            m = e["metrics"]
            lines.append(f"  {arm:<16} adoptions/imp {_fmt(m['adoptions_per_impression']['value'], '.2%')}"
                         f"  dismissals/imp {_fmt(m['dismissals_per_impression']['value'], '.2%')}"
                         f"  profit/adv ${_fmt(m['profit_per_advertiser']['value'], ',.0f')}"
                         f"  spend/adv ${_fmt(m['spend_per_advertiser']['value'], ',.0f')}"
                         f"  trust {_fmt(m['trust']['value'])}")
    for t in result["targets"]:
        state = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        lines.append(f"target: {t['target']}: {_fmt(t['figure'])} ({state})")
    ope = result.get("ope")
    if ope:
        parts = [f"{n} {_fmt(e['estimate'], '.2%')} (err {_fmt(e['relative_error'], '+.0%')}, "
                 f"{'covers' if e['covers'] else 'misses'})"
                 for n, e in ope["estimates"].items() if e.get("available")]
        avail = [e for e in ope["estimates"].values() if e.get("available")]
        truth = avail[0]["truth"] if avail else None
        lines.append(f"off-policy estimates of learned adoptions/imp from {ope['days']} days of "
                     f"history vs truth {_fmt(truth, '.2%')}: " + "; ".join(parts))
        if avail and "one_step_truth" in avail[0]:
            lines.append(
                f"  against its one-step truth on the logged sessions (the world's P(adopt) of "
                f"what it would have shown, {_fmt(avail[0]['one_step_truth'], '.2%')}): "
                + "; ".join(f"{n} err {_fmt(e['one_step_relative_error'], '+.0%')} "
                            f"({'covers' if e['one_step_covers'] else 'misses'})"
                            for n, e in ope["estimates"].items() if e.get("available")))
        if avail and "logged_period_truth" in avail[0]:
            lines.append(
                f"  against the learned policy's truth on the logged days themselves "
                f"({_fmt(avail[0]['logged_period_truth'], '.2%')}): " + "; ".join(
                    f"{n} err {_fmt(e['logged_period_relative_error'], '+.0%')} "
                    f"({'covers' if e['logged_period_covers'] else 'misses'})"
                    for n, e in ope["estimates"].items() if e.get("available")))
    prom = result.get("promised", {}).get("by_arm", {})
    for arm, p in prom.items():
        lines.append(f"promised vs delivered ({arm}): {p['rows']:,} adoptions, interval "
                     f"coverage {_fmt(p['coverage'], '.0%')}, bias {_fmt(p['bias'], '+.1f')} "
                     "conversions")
    exp = result.get("exploration", {})
    for arm, e in exp.get("logs", {}).items():
        lines.append(f"logs of {arm}: n_eff {_fmt(e['n_eff'], ',.0f')} of {e['slates']:,} "
                     f"slates for evaluating the rules (min propensity {_fmt(e['min_pscore'])})")
    if "cost" in exp:
        c = exp["cost"]
        lines.append(f"exploration floor {exp['floor']}: adoptions/imp "
                     f"×{_fmt(c['adoptions_per_impression']['ratio'], '.2f')}, profit "
                     f"×{_fmt(c['profit_per_advertiser']['ratio'], '.2f')} against learned")
    if "report" in result:
        lines.append(f"report: {result['report']}/index.html")
    return "\n".join(lines)
