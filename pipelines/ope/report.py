"""The off-policy evaluation report for people (ope.html), built from the result that ope.json
holds: a table of the estimates, each with its interval and effective sample size, a plot of
the estimates beside the logged policy's value, and the distribution of the importance weights.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

WEIGHTED = ("ips", "cascade")  # estimators with distinct weights (snips and dr reuse ips's)


def _fmt(v, digits: int = 4) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _table(result: dict) -> str:
    head = ("<tr><th>estimator</th><th>per round</th><th>95 % interval</th><th>per slot</th>"
            "<th>bootstrap std</th><th>n_eff</th><th>mean weight</th><th>note</th></tr>")
    rows = []
    for name, r in [("logged policy", result["on_policy"]), *result["estimators"].items()]:
        if not r["available"]:
            rows.append(f"<tr><td>{html.escape(name)}</td><td colspan='6'>unavailable</td>"
                        f"<td class='l'>{html.escape(r['reason'])}</td></tr>")
            continue
        interval = (f"{_fmt(r['ci95_low'])} to {_fmt(r['ci95_high'])}"
                    if r.get("ci95_low") is not None else "–")
        n_eff = f"{r['n_eff']:,.0f} of {r['n']:,}" if "n_eff" in r else "–"
        mean_w = _fmt(r["weights"]["mean"], 3) if "weights" in r else "–"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{_fmt(r['value'])}</td>"
                    f"<td>{interval}</td><td>{_fmt(r['per_slot'])}</td>"
                    f"<td>{_fmt(r.get('std'))}</td><td>{n_eff}</td><td>{mean_w}</td>"
                    f"<td class='l'>{html.escape(r.get('reward_model', ''))}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _estimates_plot(result: dict) -> go.Figure:
    avail = {k: r for k, r in result["estimators"].items() if r["available"]}
    fig = go.Figure()
    names = list(avail)
    values = [avail[k]["value"] for k in names]
    has_ci = all(avail[k].get("ci95_low") is not None for k in names)
    fig.add_trace(go.Scatter(
        x=names, y=values, mode="markers", name="estimate", marker={"size": 10},
        error_y={"type": "data", "symmetric": False,
                 "array": [avail[k]["ci95_high"] - avail[k]["value"] for k in names],
                 "arrayminus": [avail[k]["value"] - avail[k]["ci95_low"] for k in names]}
        if has_ci and names else None))
    logged = result["on_policy"]["value"]
    fig.add_hline(y=logged, line_dash="dash", annotation_text=f"logged policy {logged:.4f}")
    fig.update_layout(title="Estimated value of the evaluated policy (total reward per round), "
                            "95 % bootstrap intervals", yaxis_title="reward per round",
                      width=720, height=420)
    return fig


def _weights_plot(result: dict) -> go.Figure | None:
    fig = go.Figure()
    for name in WEIGHTED:
        r = result["estimators"].get(name, {})
        h = r.get("weights", {}).get("log10_histogram")
        if not r.get("available") or h is None:
            continue
        edges = h["edges"]
        mids = [10 ** ((a + b) / 2) for a, b in zip(edges[:-1], edges[1:])]
        fig.add_trace(go.Bar(x=mids, y=h["counts"], name=f"{name} (n_eff {r['n_eff']:,.0f})",
                             opacity=0.6))
    if not fig.data:
        return None
    fig.update_layout(title="Importance weights (positive ones; log scale)", barmode="overlay",
                      xaxis={"type": "log", "title": "weight"}, yaxis_title="rows", width=720,
                      height=380)
    return fig


def render_html(result: dict) -> str:
    """The report: what was read, the estimates table, then the plots."""
    figs = [f for f in (_estimates_plot(result), _weights_plot(result)) if f is not None]
    plots = "\n".join(f.to_html(full_html=False, include_plotlyjs=(i == 0))
                      for i, f in enumerate(figs))
    source = html.escape(str(result.get("data") or "logged bandit data"))
    boot = (f"{result['n_bootstrap']:,} bootstrap resamples of the {result['clusters']:,} "
            f"{result['resampled']} (seed {result['seed']})" if result["n_bootstrap"]
            else "no bootstrap")
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Off-policy evaluation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}td.l{{text-align:left}}</style>
</head><body>
<h1>Off-policy evaluation of {source}</h1>
<p>{result['rounds']:,} rounds, {result['rows']:,} rows ({result['positions_per_round']:.2f}
positions per round), {result['actions']:,} actions; {boot}. Value is the expected total reward
per round; per slot divides it by the mean positions per round. n_eff = (Σw)²/Σw² of the
estimator's importance weights, of n rows. The figures as data: ope.json beside this page.</p>
{_table(result)}
{plots}
</body></html>"""
