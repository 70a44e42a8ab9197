"""A drift run's page for people (index.html): the verdict, each kind's status with its drifted
columns, the most moved columns' scores against their thresholds, and drift over time across the
runs so far. Evidently's own reports for each kind sit beside it."""

from __future__ import annotations

import html

import plotly.graph_objects as go

TOP_COLUMNS = 25  # columns per kind in the score plot


def _kinds_table(summary: dict) -> str:
    rows = []
    for kind, r in summary["kinds"].items():
        share = "" if r["share"] is None else f"{r['share']:.1%}"
        drifted = ", ".join(r["drifted"][:12]) + (" ..." if len(r["drifted"]) > 12 else "")
        link = (f'<a href="{kind}.html">{kind}</a>' if r["status"] in ("drift", "ok") else kind)
        rows.append(
            f"<tr><td>{link}</td><td class='{r['status']}'>{r['status']}</td><td>{share}</td>"
            f"<td>{r['drift_share']:.0%}</td><td>{len(r['columns'])}</td>"
            f"<td>{'yes' if r['gate'] else 'no'}</td><td>{html.escape(drifted)}</td>"
            f"<td>{html.escape(r['note'])}</td></tr>")
    return ("<table><tr><th>kind</th><th>status</th><th>drifted share</th><th>drifted at</th>"
            "<th>columns judged</th><th>fails the job</th><th>drifted columns</th><th>note</th>"
            "</tr>" + "".join(rows) + "</table>")


def _scores(kind: str, r: dict) -> go.Figure | None:
    cols = [(c, v) for c, v in r["columns"].items() if v["severity"] is not None]
    if not cols:
        return None
    cols = sorted(cols, key=lambda cv: -cv[1]["severity"])[:TOP_COLUMNS]
    fig = go.Figure(go.Bar(
        x=[v["severity"] for _, v in cols], y=[c for c, _ in cols],
        orientation="h", marker_color=["#c0392b" if v["drifted"] else "#7f8c8d" for _, v in cols],
        hovertext=[f"{v['method']} {v['score']:.4g} (threshold {v['threshold']:g})"
                   for _, v in cols]))
    fig.add_vline(x=1.0, line_dash="dash")
    fig.update_layout(title=f"{kind}: how far past its threshold each column is, most moved "
                            f"first (1 = the threshold; a distance over it, or the threshold "
                            f"over a p-value)",
                      height=120 + 18 * len(cols), yaxis={"autorange": "reversed"},
                      margin={"l": 260})
    return fig


def _over_time(runs: list[dict]) -> go.Figure:
    fig = go.Figure()
    for kind in runs[-1]["kinds"]:
        points = [(s["window"]["until"], s["kinds"][kind]["share"]) for s in runs
                  if s["kinds"].get(kind, {}).get("share") is not None]
        if points:
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                                     mode="lines+markers", name=kind))
    fig.update_layout(title="Share of drifted columns by window end, every run so far",
                      yaxis={"tickformat": ".0%", "rangemode": "tozero"}, height=360)
    return fig


def write_index(summary: dict, runs: list[dict]) -> str:
    """The page of one run; `runs`: every run so far, this one last."""
    figs = [f for f in (_scores(k, r) for k, r in summary["kinds"].items()) if f is not None]
    figs.append(_over_time(runs))
    plots = "\n".join(f.to_html(full_html=False, include_plotlyjs=(i == 0))
                      for i, f in enumerate(figs))
    w, cur = summary["window"], summary["current"]
    sampled = (f"<p><b>Sampled:</b> each side was sampled to at most "
               f"{summary['sample_rows']:,} rows before Evidently compared them.</p>"
               if summary["sampled"] else "")
    ref = summary["reference"]
    if ref["source"] == "training":
        against = (f"the {ref['split']} split of snapshot <code>{html.escape(ref['snapshot'])}"
                   f"</code> ({ref['used']:,} of {ref['rows']:,} rows), encoded and scored as the "
                   f"service does")
    else:
        against = (f"the baseline window {ref['since']} to {ref['until']} of the log "
                   f"<code>{html.escape(ref['log'])}</code> ({ref['rows']:,} scored items)")
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Drift {html.escape(summary['run'])}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{padding:2px 8px;text-align:left}}
.drift{{color:#c0392b;font-weight:bold}} .ok{{color:#27ae60}} .insufficient{{color:#d35400}}</style>
</head><body>
<h1>Drift: {html.escape(summary['verdict'])}</h1>
<p>Window {w['since']} to {w['until']}: {cur['ranker_inputs']:,} scored items and
{cur['impressions']:,} impressions served by <code>{html.escape(summary['model_version'])}</code>
({cur['other_versions']:,} rows of other versions left out), {cur['events']:,} feedback events.
Reference: {against}.</p>
{sampled}
{_kinds_table(summary)}
{plots}
</body></html>"""
