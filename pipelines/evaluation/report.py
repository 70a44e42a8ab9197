"""The evaluation report for people (report.html) and for machines (evaluation.json), published
whole under `<root>/reports/evaluation/<version>/` (results.py reads them back).

The page opens with the gates' verdicts and the headline figures beside their baselines, then
the plots, then the slices with the worst first.
"""

from __future__ import annotations

import html
import json

import numpy as np
import plotly.graph_objects as go

from pipelines.evaluation.results import read_result, report_dir
from pipelines.evaluation.slices import SLICE_MIN_ROWS
from pipelines.storage.root import Root

__all__ = ["read_result", "render_html", "report_dir", "write_report"]

SLICE_COLUMNS = {  # report column → path in a slice's metrics
    "rows": ("rows",),
    "AUC": ("ranking", "adoption_auc"),
    "AUC gbdt": ("ranking", "gbdt_adoption_auc"),
    "AUC popularity": ("ranking", "popularity_adoption_auc"),
    "AUC served": ("ranking", "current_adoption_auc"),
    "AUC oracle": ("ranking", "oracle_adoption_auc"),
    "log-loss": ("ranking", "adoption_logloss"),
    "dismissal AUC": ("ranking", "dismissal_auc"),
    "ECE raw": ("calibration", "ece_before"),
    "ECE": ("calibration", "ece_after"),
    "ECE if calibrated, p95": ("calibration", "ece_if_calibrated", "p95"),
    "impact rows": ("impact", "rows"),
    "coverage": ("impact", "interval_coverage"),
    "impact bias": ("impact", "bias"),
    "NDCG ranker": ("ordering", "ndcg_vs_oracle", "ranker"),
    "NDCG rules": ("ordering", "ndcg_vs_oracle", "logging_rules"),
    "NDCG popularity": ("ordering", "ndcg_vs_oracle", "popularity"),
    "retrieval rows": ("retrieval", "rows"),
    "R@100 two-tower": ("retrieval", "two_tower", "recall_at_k", "100"),
    "R@100 popularity": ("retrieval", "popularity", "recall_at_k", "100"),
    "index R@100": ("index", "recall_at_100"),
}
VERDICT_STYLE = {"pass": "pass", "fail": "FAIL", "skipped": "skipped"}
# what each skippable comparison is called on the page
COMPARISONS = {"oracle_adoption_auc": "oracle AUC", "ndcg_vs_oracle": "slate NDCG against the "
               "oracle", "adoption_auc_share_of_gap": "share of the popularity→oracle gap",
               "current_adoption_auc": "AUC of the version served"}


def lookup(metrics: dict, path: tuple[str, ...]):
    """The value at `path` in nested metrics, or None where any step is missing."""
    for key in path:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics


def _fmt(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float) else html.escape(str(v))


def _slice_table(rows: dict[str, dict]) -> str:
    """One slice column's values, the lowest AUC first; values too small to judge last."""
    def worst_first(item):
        auc = lookup(item[1], ("ranking", "adoption_auc"))
        return (auc is None, auc if auc is not None else 0.0, item[0])

    head = "".join(f"<th>{c}</th>" for c in ["value", *SLICE_COLUMNS])
    body = "".join("<tr><td>" + html.escape(k) + "</td>" + "".join(
        f"<td>{_fmt(lookup(m, path), 3)}</td>" for path in SLICE_COLUMNS.values()) + "</tr>"
        for k, m in sorted(rows.items(), key=worst_first))
    return f"<table><tr>{head}</tr>{body}</table>"


def _gates(result: dict) -> str:
    g = result["gates"]
    rows = "".join(
        f"<tr class='{v['status']}'><td>{VERDICT_STYLE[v['status']]}</td>"
        f"<td>{html.escape(v['description'])}</td><td>{html.escape(v['detail'])}</td></tr>"
        for v in g["verdicts"])
    verdict = ("every gate passed or was skipped: `guidance promote` will make this version "
               "current" if g["passed"] else "a gate failed: `guidance promote` refuses this "
               "version unless forced (--force --reason)")
    return (f"<p><b>{verdict}</b>. A skipped gate does not block promotion.</p>"
            f"<table class='gates'><tr><th>verdict</th><th>gate</th><th>measured</th></tr>"
            f"{rows}</table>")


def _headline(result: dict) -> str:
    """The headline figures, each beside its baselines."""
    r, cal, imp = result["ranking"], result["calibration"], result["impact"]
    fig = result["figures"]
    served = result.get("current_version")
    baselines = [f"popularity {_fmt(r['popularity_adoption_auc'])}",
                 f"LightGBM {_fmt(r['gbdt_adoption_auc'])}"]
    if r["current_adoption_auc"] is not None:
        baselines.append(f"served version {html.escape(served)} "
                         f"{_fmt(r['current_adoption_auc'])}")
    if r["oracle_adoption_auc"] is not None:
        baselines.append(f"oracle {_fmt(r['oracle_adoption_auc'])}")
    share = fig["adoption_auc_share_of_gap"]
    rows = [("adoption AUC", _fmt(r["adoption_auc"]), ", ".join(baselines)
             + ("" if share is None else f"; {share:.0%} of the popularity→oracle gap "
                "(figure, not a gate: 80 % targeted)"))]
    d, s = r.get("adoption_auc_minus_gbdt"), r.get("gbdt_seeds") or {}
    if d is not None:
        rows.append(("ranker − LightGBM", f"{d['difference']:+.4f}",
                     f"95 % interval {d['ci95_low']:+.4f} to {d['ci95_high']:+.4f} "
                     "(advertisers resampled)"
                     + (f"; LightGBM's {s['seeds']} seeds: {s['min']:.4f} to {s['max']:.4f}, "
                        f"mean {s['mean']:.4f}, averaged predictions "
                        f"{s['averaged_adoption_auc']:.4f}" if "mean" in s else "")))
    c = r.get("adoption_auc_minus_current")
    if c is not None:
        rows.append(("ranker − served version", f"{c['difference']:+.4f}",
                     f"95 % interval {c['ci95_low']:+.4f} to {c['ci95_high']:+.4f}"))
    floor = cal["ece_if_calibrated"] or {}
    rows.append(("ECE after calibration", _fmt(cal["ece_after"]),
                 f"raw {_fmt(cal['ece_before'])}; sampling noise alone would read "
                 f"{_fmt(floor.get('mean'))} ({_fmt(floor.get('p95'))} at the 95th percentile)"))
    rows.append(("impact interval coverage", _fmt(imp["interval_coverage"], 3),
                 f"{_fmt(imp['interval_coverage_before_conformal'], 3)} before conformal "
                 f"widening; {imp['rows']} validation adoptions"))
    nd = result["ordering"]["ndcg_vs_oracle"]
    if nd is not None:
        rows.append(("slate NDCG against the oracle", _fmt(nd["ranker"]),
                     f"logging rules {_fmt(nd['logging_rules'])}, popularity "
                     f"{_fmt(nd['popularity'])}"))
    ret = result["retrieval"]
    if ret.get("rows"):
        rows.append(("two-tower recall@100", _fmt(ret["two_tower"]["recall_at_k"]["100"]),
                     f"popularity {_fmt(ret['popularity']['recall_at_k']['100'])}; "
                     f"{ret['rows']} test adoptions of entity items"))
    idx = result["index"]
    rows.append(("index recall@100", _fmt(idx["recall_at_100"]),
                 f"{idx['kind']} index of {idx['items']:,} items; test contexts "
                 f"{_fmt(idx['test_context_recall_at_100'])}"))
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td class='l'>{c}</td></tr>"
                   for a, b, c in rows)
    return (f"<table class='headline'><tr><th>figure</th><th>ranker</th>"
            f"<th>beside</th></tr>{body}</table><p>Earlier targets, kept as figures (not "
            f"gates): {_figures(fig)}.</p>")


def _figures(fig: dict) -> str:
    def said(v):
        return "–" if v is None else ("yes" if v else "no")

    return "; ".join([
        f"adoption AUC ≥ LightGBM's: {said(fig['adoption_auc_at_least_gbdt'])}",
        f"≥ 80 % of the popularity→oracle gap: {said(fig['adoption_auc_80pct_to_oracle'])}",
        "two-tower recall@100 above popularity: "
        f"{said(fig['two_tower_recall_at_100_beats_popularity'])}"])


def _skipped(result: dict) -> str:
    skipped = result.get("skipped") or {}
    if not skipped:
        return ""
    items = "".join(f"<li>{COMPARISONS.get(k, k)}: {html.escape(why)}</li>"
                    for k, why in skipped.items())
    return f"<h2>Skipped comparisons</h2><ul>{items}</ul>"


def _plots(result: dict) -> list[go.Figure]:
    cal, r = result["calibration"], result["ranking"]
    rel = go.Figure()
    rel.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect",
                             line={"dash": "dot"}))
    for key, name in (("reliability_before", "raw"), ("reliability_after", "calibrated")):
        pts = cal[key]
        rel.add_trace(go.Scatter(x=[p["predicted"] for p in pts], y=[p["observed"] for p in pts],
                                 mode="lines+markers", name=name))
    rel.update_layout(title="Reliability of P(adopt), test split", xaxis_title="predicted",
                      yaxis_title="observed", width=560, height=460)
    names = {"popularity": "popularity_adoption_auc", "gbdt": "gbdt_adoption_auc",
             "served": "current_adoption_auc", "ranker": "adoption_auc",
             "oracle": "oracle_adoption_auc"}
    shown = {k: r[v] for k, v in names.items() if r[v] is not None}
    bars = go.Figure(go.Bar(x=list(shown), y=list(shown.values())))
    bars.update_layout(title="Adoption AUC, test split", yaxis_range=[0.5, 1], width=560,
                       height=400)
    plots = [bars, rel]
    nd = result["ordering"]["ndcg_vs_oracle"]
    if nd is not None:
        order = go.Figure(go.Bar(x=list(nd), y=list(nd.values())))
        order.update_layout(title="NDCG of slate orderings against the oracle", width=560,
                            height=400)
        plots.append(order)
    curve = go.Figure()
    ret = result.get("retrieval", {})
    for name in ("two_tower", "popularity"):
        if name in ret:
            ks = list(ret[name]["recall_at_k"])
            curve.add_trace(go.Scatter(x=[int(k) for k in ks],
                                       y=[ret[name]["recall_at_k"][k] for k in ks],
                                       mode="lines+markers", name=name))
    curve.update_layout(title=f"Retrieval recall@K of adopted entity items "
                              f"({ret.get('rows', 0)} test adoptions)", xaxis_title="K",
                        yaxis_title="recall", width=560, height=400)
    return [*plots, curve]


def render_html(result: dict) -> str:
    """The report for people: gates and headline figures, plots, then slices worst first."""
    plots = "\n".join(p.to_html(full_html=False, include_plotlyjs=(i == 0))
                      for i, p in enumerate(_plots(result)))
    slices = "".join(f"<h3>by {k}</h3>{_slice_table(v)}" for k, v in result["slices"].items())
    served = result.get("current_version")
    against = (f"beside the version served, {html.escape(served)}" if served
               and served != result["model_version"] else "no other version served to compare")
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Evaluation {html.escape(result['model_version'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}td.l{{text-align:left}}
table.gates td{{text-align:left}}tr.fail td:first-child{{color:#b00;font-weight:bold}}
tr.pass td:first-child{{color:#070}}tr.skipped td:first-child{{color:#777}}</style></head><body>
<h1>Ranker {html.escape(result['model_version'])} on snapshot {html.escape(result['snapshot'])}</h1>
<p>{result['rows']['test']:,} test impressions; {against}. The figures as data:
evaluation.json beside this page.</p>
<h2>Gates</h2>{_gates(result)}
<h2>Headline figures</h2>{_headline(result)}
{_skipped(result)}
<h2>Plots</h2>
{plots}
<h2>Slices, worst first</h2><p>Every metric per slice, the lowest adoption AUC first; a slice
with fewer than {SLICE_MIN_ROWS} test rows shows its row count only, last. Impact is judged on
validation adoptions, retrieval on test adoptions of entity items.</p>{slices}
</body></html>"""


def write_report(root: Root, result: dict) -> str:
    """report.html and evaluation.json under reports/evaluation/<version>/, published whole;
    returns that folder's path."""
    dest = report_dir(result["model_version"])
    with root.staging("evaluation") as staged:
        root.fs.create_dir(f"{staged}/{dest}", recursive=True)
        for name, text in (("evaluation.json", json.dumps(result, indent=2, allow_nan=False)),
                           ("report.html", render_html(result))):
            with root.fs.open_output_stream(f"{staged}/{dest}/{name}") as f:
                f.write(text.encode())
        root.publish(staged, [dest], overwrite=True)
    return root.join(dest)
