"""The experiment's page for people (index.html): the verdict and every target with its figure,
each arm with its 95 % intervals (paired truth and A/B), the A/B read against the truth, who
gains and who loses, the off-policy estimates made before against the truth after, the impact
promised against the impact delivered, and what the exploration floor costs and buys.

A part the run did not measure says so and why; a missing figure shows as '–'. plotly.js is
inlined once, so the page works offline; results.json beside it holds every figure.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["METRICS", "arms_figure", "coverage_figure", "fmt", "ope_figure", "promised_scatter",
           "render_html", "slices_figure"]

# metric → (label, kind of number, +1 more is better for the advertiser, -1 less is, 0 neither)
METRICS = {
    "adoptions_per_impression": ("adoptions per impression", "rate", 1),
    "dismissals_per_impression": ("dismissals per impression", "rate", -1),
    "snoozes_per_impression": ("snoozes per impression", "rate", -1),
    "impressions_per_advertiser": ("impressions per advertiser", "count", 0),
    "conversions_per_advertiser": ("true incremental conversions per advertiser", "count", 1),
    "profit_per_advertiser": ("true profit per advertiser", "money", 1),
    "spend_per_advertiser": ("platform spend per advertiser", "money", 0),
    "trust": ("trust (the world's patience)", "share", 1),
}
DESIGNS = {"paired": ("Paired: the truth", "every arm on the same advertisers with the world's "
                      "common random numbers"),
           "ab": ("A/B: as production runs it", "advertisers assigned to arms by a hash of "
                  "(experiment, advertiser), each arm read on its own advertisers")}
ESTIMATORS = {"ips": "IPS", "snips": "self-normalised IPS", "dr": "doubly robust",
              "cascade": "cascade (prefix propensities)"}
SLICE_METRICS = ("adoptions_per_impression", "dismissals_per_impression", "profit_per_advertiser")
NOMINAL_COVERAGE = 0.8  # the impact intervals are conformal 80 % intervals (models.calibration)
SCATTER_POINTS = 2_000  # promised against realised: at most this many points drawn
LOSSES_LISTED = 10  # action types named under "where it loses"; the table has them all
STYLE = """body{font-family:sans-serif;margin:2em;max-width:90em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:right;vertical-align:top}th{background:#f4f4f4}td.l,th.l{text-align:left}
.ci{color:#777;font-size:85%}.good{color:#1a7f37}.bad{color:#b00020;font-weight:bold}
.na{color:#777;font-style:italic}.verdict{font-size:120%;font-weight:bold}
h2{border-bottom:1px solid #ccc;margin-top:1.6em}"""


def _missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def fmt(v, kind: str = "count", signed: bool = False) -> str:
    """A number as a person reads it, '–' where it is missing. Kinds: rate (a share of
    impressions, in %, a difference in percentage points), pct (a share, in %), money ($ with
    separators), ratio (×), share (3 decimals), prob (3 significant digits), int, count (2
    decimals). A value that rounds to 0 shows no sign."""
    if _missing(v):
        return "–"
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    a = abs(v)
    body = {"rate": f"{a * 100:.2f} {'pp' if signed else '%'}", "pct": f"{a * 100:.1f} %",
            "money": f"${a:,.0f}" if a >= 100 else f"${a:,.2f}", "ratio": f"{a:.2f}",
            "share": f"{a:.3f}", "prob": f"{a:.3g}", "int": f"{a:,.0f}"}.get(kind, f"{a:,.2f}")
    rounds_to_zero = not any(ch in "123456789" for ch in body)
    sign = "" if rounds_to_zero else ("−" if v < 0 else ("+" if signed and v > 0 else ""))
    return f"×{sign}{body}" if kind == "ratio" else sign + body


def _ci(ci, kind: str, signed: bool = False) -> str:
    if not ci or all(_missing(c) for c in ci):
        return "–"
    return f"[{fmt(ci[0], kind, signed)}, {fmt(ci[1], kind, signed)}]"


def _text(v) -> str:
    return "–" if _missing(v) else html.escape(str(v))


def _yes(v) -> str:
    return "–" if v is None else ("yes" if v else "<span class='bad'>no</span>")


def _absent(why: str) -> str:
    return f"<p class='na'>Not measured: {html.escape(why)}.</p>"


def _design_name(result: dict) -> str:
    return str(result.get("config", {}).get("design") or "–")


def _label(m: str) -> tuple[str, str, int]:
    return METRICS.get(m, (m.replace("_", " "), "count", 0))


def _cell(summary: dict | None, kind: str, signed: bool = False, mark: str = "") -> str:
    """A value, `mark` after it, over its interval in grey (none shown where it is missing)."""
    s = summary or {}
    ci = _ci(s.get("ci95"), kind, signed)
    return (fmt(s.get("value"), kind, signed) + mark
            + ("" if ci == "–" else f"<br><span class='ci'>{ci}</span>"))


def _difference(d: dict | None, kind: str, direction: int) -> str:
    """A difference with its interval; '*' and a colour (better or worse for the advertiser)
    where the interval excludes 0."""
    d = d or {}
    if not d.get("significant"):
        return _cell(d, kind, signed=True)
    cls = "" if direction == 0 else (" class='good'" if _worse(d, -direction) else " class='bad'")
    return f"<span{cls}>{_cell(d, kind, signed=True, mark='*')}</span>"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table whose first column is text; cells are HTML already escaped."""
    h = "".join(f"<th{' class=l' if i == 0 else ''}>{html.escape(c)}</th>"
                for i, c in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{' class=l' if i == 0 else ''}>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


class _Figures:
    """Each figure as a div, plotly.js inlined with the first only: called in page order."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fig: go.Figure) -> str:
        out = fig.to_html(full_html=False, include_plotlyjs=self.count == 0,
                          config={"displaylogo": False})
        self.count += 1
        return out


def _errors(summaries: list[dict]) -> dict:
    """Asymmetric error bars of plotly from {'value', 'ci95'} summaries (None where missing)."""
    def num(v):
        return None if _missing(v) or math.isinf(float(v)) else float(v)

    v = [num(s.get("value")) for s in summaries]
    ci = [s.get("ci95") or [None, None] for s in summaries]
    hi = [None if x is None or num(c[1]) is None else num(c[1]) - x for x, c in zip(v, ci)]
    lo = [None if x is None or num(c[0]) is None else x - num(c[0]) for x, c in zip(v, ci)]
    return {"y": v, "error": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo}}


def _axis_format(kind: str) -> dict:
    return {"rate": {"tickformat": ".1%"}, "pct": {"tickformat": ".0%"},
            "money": {"tickprefix": "$"}}.get(kind, {})


# -- 1. verdict, facts, targets ----------------------------------------------------------------

def _header(result: dict) -> str:
    w, h, cfg = result.get("world", {}), result.get("horizon", {}), result.get("config", {})
    arms = ", ".join(html.escape(a) for a in result.get("arms", []))
    seconds = result.get("seconds")
    return (f"<p class='verdict'>{_text(result.get('verdict', 'no verdict'))}</p><p>World of "
            f"seed {_text(w.get('seed'))} after {_text(w.get('history_days'))} days of history; "
            f"{fmt(w.get('advertisers'), 'int')} advertisers over {_text(h.get('days'))} days, "
            f"{_text(h.get('from'))} to {_text(h.get('to'))}. Model "
            f"<code>{_text(result.get('model_version'))}</code> on snapshot "
            f"<code>{_text(result.get('snapshot'))}</code>. Arms {arms}, control "
            f"<b>{_text(result.get('control'))}</b>; design {_text(cfg.get('design'))}; "
            f"{fmt(cfg.get('bootstrap'), 'int')} bootstrap resamples by advertiser (95 % "
            f"intervals)" + ("" if _missing(seconds) else f"; ran in {seconds:,.1f} s")
            + ".</p>")


def _target_figure(t: dict) -> str:
    if "covers" in t:
        return (f"relative error {fmt(t.get('figure'), 'pct', True)}; its interval covers the "
                f"truth: {_yes(t.get('covers'))}")
    out = fmt(t.get("figure"), "ratio")
    if "dismissal_rate_difference" in t:
        out += (f"; dismissals per impression "
                f"{fmt(t['dismissal_rate_difference'], 'rate', True)}")
    return out


def _targets(result: dict) -> str:
    status = {True: "<span class='good'>met</span>", False: "<span class='bad'>MISSED</span>",
              None: "<span class='na'>not measured</span>"}
    rows = [[_text(t.get("target")), _target_figure(t), status[t.get("met")]]
            for t in result.get("targets", [])]
    out = _table(["target", "figure", "status"], rows) if rows else _absent("no target applies")
    notes = []
    if result.get("control") != "logging":
        notes.append("the lift targets compare the learned policy with the logging rules as "
                     f"control; this run's control is {_text(result.get('control'))}")
    dr = result.get("ope", {}).get("estimates", {}).get("dr")
    if "ope" not in result:
        notes.append("the doubly robust target: no off-policy estimate was made")
    elif not (dr or {}).get("available"):
        notes.append("the doubly robust target: the estimate is not available ("
                     f"{_text((dr or {}).get('reason', 'not estimated'))})")
    notes.append("the speed target (2,000 advertisers × 28 days × 2 arms in under 10 minutes) "
                 "is measured by benchmarks/experiment.py")
    return out + "<p class='na'>" + "; ".join(n[0].upper() + n[1:] for n in notes) + ".</p>"


# -- 2. arms -----------------------------------------------------------------------------------

def _metric_keys(t: dict) -> list[str]:
    first = next(iter(t["arms"].values()), {}).get("metrics", {})
    return [m for m in METRICS if m in first] + [m for m in first if m not in METRICS]


def _design(t: dict, control: str) -> str:
    arms = list(t["arms"])
    head = ["metric"] + [f"{a} (control)" if a == control else a for a in arms]
    rows = [["advertisers"] + [fmt(t["arms"][a].get("advertisers"), "int") for a in arms]]
    rows += [[html.escape(_label(m)[0])] + [_cell(t["arms"][a]["metrics"].get(m), _label(m)[1])
                                            for a in arms] for m in _metric_keys(t)]
    out = _table(head, rows)
    others = [a for a in arms if "against_control" in t["arms"][a]]
    if others:
        head = ["metric"] + [h for a in others for h in (f"{a} − {control}", f"{a} ÷ {control}")]
        rows = []
        for m in _metric_keys(t):
            _, kind, direction = _label(m)
            row = [html.escape(_label(m)[0])]
            for a in others:
                c = t["arms"][a]["against_control"].get(m, {})
                row += [_difference(c.get("difference"), kind, direction),
                        _cell(c.get("ratio"), "ratio")]
            rows.append(row)
        out += (f"<p>Against the control, {html.escape(control)}: * the 95 % interval of the "
                "difference excludes 0 (green: better for the advertiser, red: worse).</p>"
                + _table(head, rows))
    return out


def _sample_ratio(t: dict) -> str:
    sr = t.get("sample_ratio")
    if not sr:
        return ""
    counts = " / ".join(f"{html.escape(a)} {fmt(c, 'int')}" for a, c in
                        zip(t["arms"], sr.get("counts", [])))
    p = sr.get("p_value")
    judged = ("<span class='bad'>MISMATCH: the assignment did not split the advertisers as "
              "designed; read the A/B with care</span>" if sr.get("mismatch") else "no mismatch")
    return (f"<p>Sample-ratio check: {counts} advertisers (expected "
            f"{fmt(sr.get('expected_share'), 'pct')} each); χ² p = "
            f"{'–' if _missing(p) else f'{p:.3g}'}: {judged}.</p>")


def arms_figure(result: dict) -> go.Figure | None:
    """Small multiples, one per metric: each arm's value with its 95 % interval, per design."""
    designs = [d for d in DESIGNS if result.get(d)]
    if not designs:
        return None
    keys = _metric_keys(result[designs[0]])
    cols = min(4, len(keys))
    rows = math.ceil(len(keys) / cols)
    titles = [_label(m)[0].replace(" per ", "<br>per ") for m in keys]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.2,
                        horizontal_spacing=0.07)
    colours = {"paired": "#1f77b4", "ab": "#ff7f0e"}
    for i, m in enumerate(keys):
        r, c = i // cols + 1, i % cols + 1
        for d in designs:
            arms = list(result[d]["arms"])
            e = _errors([result[d]["arms"][a]["metrics"].get(m, {}) for a in arms])
            fig.add_trace(go.Scatter(x=arms, y=e["y"], error_y=e["error"], mode="markers",
                                     name=DESIGNS[d][0], legendgroup=d, showlegend=i == 0,
                                     marker={"color": colours[d], "size": 9}), row=r, col=c)
        fig.update_yaxes(**_axis_format(_label(m)[1]), row=r, col=c)
    fig.update_layout(title="Each arm with its 95 % interval", scattermode="group",
                      height=300 * rows + 120, margin={"t": 120},
                      legend={"orientation": "h", "y": -0.08})
    return fig


def _arms(result: dict, figs: _Figures) -> str:
    control, design = result.get("control", ""), _design_name(result)
    out = []
    for d, (title, what) in DESIGNS.items():
        out.append(f"<h3>{title}</h3>")
        t = result.get(d)
        if not t:
            out.append(_absent(f"the {d} design did not run (design {design})"))
            continue
        out.append(f"<p>{what}.</p>{_sample_ratio(t)}{_design(t, control)}")
    fig = arms_figure(result)
    return "".join(out) + (figs(fig) if fig else "")


# -- 3. A/B against the truth --------------------------------------------------------------------

def _ab_against_truth(result: dict) -> str:
    a = result.get("ab_against_truth")
    if not a:
        return _absent("it needs both designs (design both); this run's design was "
                       f"{_design_name(result)}")
    rows, covered, n = [], 0, 0
    for arm, metrics in a.items():
        for m, e in metrics.items():
            kind = _label(m)[1]
            rows.append([html.escape(arm), html.escape(_label(m)[0]),
                         fmt(e.get("ab"), kind, True), _ci(e.get("ci95"), kind, True),
                         fmt(e.get("truth"), kind, True), fmt(e.get("error"), kind, True),
                         _yes(e.get("covers"))])
            covered, n = covered + bool(e.get("covers")), n + 1
    return (f"<p>Each A/B difference against the control beside the paired truth's: its "
            f"interval covers the truth for {covered} of {n}.</p>"
            + _table(["arm", "metric", "A/B difference", "95 % interval", "paired truth",
                      "error", "covers the truth"], rows))


# -- 4. who gains and who loses ------------------------------------------------------------------

def _profit_order(r: dict) -> tuple[bool, float]:
    v = r.get("profit_per_advertiser", {}).get("difference", {}).get("value")
    return (_missing(v), 0.0 if _missing(v) else float(v))


def slices_figure(slices: list[dict]) -> go.Figure | None:
    """Forest plot: each slice's change in true profit per advertiser with its interval, the
    worst at the top."""
    rows = sorted((s for s in slices if "profit_per_advertiser" in s), key=_profit_order)
    if not rows:
        return None
    fig = go.Figure()
    for arm in dict.fromkeys(s["arm"] for s in rows):
        mine = [s for s in rows if s["arm"] == arm]
        e = _errors([s["profit_per_advertiser"]["difference"] for s in mine])
        fig.add_trace(go.Scatter(x=e["y"], y=[f"{s['slice']}: {s['value']}" for s in mine],
                                 error_x=e["error"], mode="markers", name=arm, orientation="h",
                                 marker={"size": 9}))
    fig.add_vline(x=0, line_dash="dash")
    fig.update_layout(title="Change in true profit per advertiser against the control, per "
                            "slice (95 % intervals), worst first", scattermode="group",
                      xaxis={"tickprefix": "$"}, margin={"l": 220},
                      yaxis={"autorange": "reversed"},
                      height=160 + 24 * len({(s["slice"], s["value"]) for s in rows}))
    return fig


def _worse(d: dict, direction: int) -> bool:
    """Whether a change ({'value'} or {'difference'}) is worse for the advertiser."""
    v = d.get("value", d.get("difference"))
    return not _missing(v) and direction * float(v) < 0


def _losses(result: dict) -> str:
    items = []
    for s in sorted(result.get("slices") or [], key=_profit_order):
        bad = []
        for m in SLICE_METRICS:
            label, kind, direction = _label(m)
            d = s.get(m, {}).get("difference", {})
            if _worse(d, direction):
                sig = " <span class='bad'>significant</span>" if d.get("significant") else ""
                bad.append(f"{label} {fmt(d['value'], kind, True)} "
                           f"{_ci(d.get('ci95'), kind, True)}{sig}")
        if bad:
            items.append(f"<li>{html.escape(s['slice'])} {html.escape(str(s['value']))} "
                         f"({html.escape(s['arm'])}, {fmt(s.get('advertisers'), 'int')} "
                         f"advertisers): {'; '.join(bad)}</li>")
    types = [t for t in result.get("action_types") or []
             if _worse(t.get("profit", {}), 1) or _worse(t.get("adoptions", {}), 1)]
    for t in types[:LOSSES_LISTED]:
        items.append(f"<li>action type {html.escape(t['action_type'])} "
                     f"({html.escape(t['arm'])}): adoptions "
                     f"{fmt(t['adoptions']['difference'], 'int', True)}, profit "
                     f"{fmt(t['profit']['difference'], 'money', True)} (totals, no interval)"
                     "</li>")
    more = (f"<p>… and {len(types) - LOSSES_LISTED} more action types in the table below.</p>"
            if len(types) > LOSSES_LISTED else "")
    if not items:
        return "<p>Nowhere: no slice or action type does worse than the control.</p>"
    return f"<ul>{''.join(items)}</ul>{more}"


def _slice_table(slices: list[dict]) -> str:
    rows = []
    for s in sorted(slices, key=_profit_order):
        row = [f"{html.escape(s['slice'])} {html.escape(str(s['value']))}",
               html.escape(s["arm"]), fmt(s.get("advertisers"), "int")]
        for m in SLICE_METRICS:
            _, kind, direction = _label(m)
            e = s.get(m, {})
            row += [f"{fmt(e.get('control'), kind)} → {fmt(e.get('arm'), kind)}",
                    _difference(e.get("difference"), kind, direction)]
        rows.append(row)
    return _table(["slice", "arm", "advertisers", "adoptions / impression", "change",
                   "dismissals / impression", "change", "profit / advertiser", "change"], rows)


def _action_types(types: list[dict]) -> str:
    def cell(e: dict, kind: str) -> str:
        return (f"{fmt(e.get('control'), kind)} → {fmt(e.get('arm'), kind)} "
                f"<span class='ci'>({fmt(e.get('difference'), kind, True)})</span>")

    rows = [[html.escape(t["action_type"]), html.escape(t["arm"]),
             cell(t["impressions"], "int"), cell(t["adoptions"], "int"),
             cell(t["dismissals"], "int"), cell(t["profit"], "money")] for t in types]
    return _table(["action type", "arm", "impressions", "adoptions", "dismissals",
                   "true profit"], rows)


def _who(result: dict, figs: _Figures) -> str:
    if "slices" not in result:
        return _absent("the slices and action types come from the paired design, which did not "
                       "run")
    slices = result["slices"]
    fig = slices_figure(slices)
    return ("<h3>Where it loses</h3><p>Slices and action types whose point difference is worse "
            "than the control's; 'significant' where the 95 % interval excludes 0.</p>"
            + _losses(result) + "<h3>Slices (vertical, size tier, surface)</h3><p>Control → "
            "arm, and the change with its 95 % interval (* the interval excludes 0), the "
            "biggest loss of profit first.</p>"
            + (_slice_table(slices) if slices else _absent("no slice had two advertisers"))
            + (figs(fig) if fig else "") + "<h3>Action types</h3><p>Totals over the "
            "advertisers, control → arm (change), the biggest loss of profit first.</p>"
            + (_action_types(result.get("action_types") or [])
               if result.get("action_types") else _absent("no action type was shown")))


# -- 5. estimates before, truth after ------------------------------------------------------------

def ope_figure(ope: dict) -> go.Figure | None:
    """Each available estimate with its interval, the truth as a line."""
    est = {k: e for k, e in ope.get("estimates", {}).items() if e.get("available")}
    if not est:
        return None
    e = _errors([{"value": v.get("estimate"), "ci95": v.get("ci95")} for v in est.values()])
    fig = go.Figure(go.Scatter(x=[ESTIMATORS.get(k, k) for k in est], y=e["y"],
                               error_y=e["error"], mode="markers", marker={"size": 11},
                               name="estimate before"))
    truth = next((v.get("truth") for v in est.values() if not _missing(v.get("truth"))), None)
    if truth is not None:
        fig.add_hline(y=truth, line_dash="dash", annotation_text="truth after")
    fig.update_layout(title="Off-policy estimates of the learned policy's adoptions per "
                            "impression (95 % intervals) against the truth",
                      yaxis={"tickformat": ".1%", "rangemode": "tozero"}, height=420)
    return fig


def _ope(result: dict, figs: _Figures) -> str:
    o = result.get("ope")
    if not o:
        why = ("no learned arm: nothing to estimate" if "learned" not in result.get("arms", [])
               else "no logged history was read")
        return _absent(why)
    truth = "paired truth" if "paired" in result else "A/B measurement"
    rows = []
    for k, e in o.get("estimates", {}).items():
        name = html.escape(ESTIMATORS.get(k, k))
        if not e.get("available"):
            rows.append([name, f"<span class='na'>not available: {_text(e.get('reason'))}"
                               "</span>", "", "", "", "", "", "", "", "", "", "", ""])
            continue
        rows.append([name, fmt(e.get("estimate"), "rate"), _ci(e.get("ci95"), "rate"),
                     fmt(e.get("truth"), "rate"), fmt(e.get("relative_error"), "pct", True),
                     _yes(e.get("covers")),
                     fmt(e.get("one_step_truth"), "rate"),
                     fmt(e.get("one_step_relative_error"), "pct", True),
                     _yes(e.get("one_step_covers")) if "one_step_covers" in e else "–",
                     fmt(e.get("logged_period_truth"), "rate"),
                     fmt(e.get("logged_period_relative_error"), "pct", True),
                     _yes(e.get("logged_period_covers")) if "logged_period_covers" in e
                     else "–",
                     f"{fmt(e.get('n_eff'), 'count')} / {fmt(e.get('n'), 'int')}"])
    d, on = o.get("data", {}), o.get("on_policy", {})
    data = (f"<p>Data: {fmt(d.get('kept'), 'int')} of {fmt(d.get('rows'), 'int')} logged rows "
            f"kept from the {_text(o.get('days'))} days of history before the experiment; "
            f"dropped {fmt(d.get('pscore_not_sampled'), 'int')} whose logged item was never "
            "drawn in the sampling of the Plackett–Luce marginals (no propensity to divide by) "
            f"and {fmt(d.get('position_left_empty'), 'int')} at a position the learned policy "
            "leaves empty. The marginals' sampling error: median standard error "
            f"{fmt(d.get('pscore_stderr_median'), 'prob')} "
            f"({fmt(d.get('pscore_relative_stderr_median'), 'pct')} of the propensity).</p>"
            f"<p>On-policy check: the logging rules' value read from the logs "
            f"{fmt(on.get('estimate'), 'rate')}, the world's expectation on those sessions "
            f"{fmt(on.get('logging_one_step_truth'), 'rate')}, measured in the experiment "
            f"{fmt(on.get('logging_truth_in_experiment'), 'rate')}.</p>")
    fig = ope_figure(o)
    return (f"<p>Estimand: {_text(o.get('estimand'))}, estimated from the logs before the "
            f"experiment, then set against the {truth}.</p>"
            + _table(["estimator", "estimate", "95 % interval", truth, "relative error",
                      "covers the truth", "one-step truth", "relative error", "covers it",
                      "truth on the logged days", "relative error", "covers it", "n_eff / n"],
                     rows)
            + "<p>Three truths. The <b>one-step truth</b> is what the estimators estimate: the "
              "world's expected adoptions of the slates the learned policy would have drawn on "
              "the logged sessions, the history staying as logged. The <b>truth on the logged "
              "days</b> is the learned policy living those days itself from the same state, so "
              "its own repeated showing and the advertisers' answers feed back (nagging, "
              "cool-downs, patience). The experiment's truth adds the change from that period "
              "to the experiment's. Logs alone can estimate only the first.</p>"
            + data + (figs(fig) if fig else ""))


# -- 6. promised against delivered ---------------------------------------------------------------

def coverage_figure(by_type: list[dict]) -> go.Figure | None:
    """Coverage of the shown impact intervals per action type, a line at the nominal level."""
    if not by_type:
        return None
    fig = go.Figure()
    for arm in dict.fromkeys(r["arm"] for r in by_type):
        mine = [r for r in by_type if r["arm"] == arm]
        fig.add_trace(go.Bar(x=[r["action_type"] for r in mine],
                             y=[None if _missing(r.get("coverage")) else r["coverage"]
                                for r in mine], name=arm,
                             hovertext=[f"{r.get('rows', 0)} adoptions" for r in mine]))
    fig.add_hline(y=NOMINAL_COVERAGE, line_dash="dash",
                  annotation_text=f"nominal {NOMINAL_COVERAGE * 100:.0f} %")
    fig.update_layout(title="Share of realised effects inside the promised interval, per action "
                            "type", barmode="group", yaxis={"tickformat": ".0%",
                                                            "range": [0, 1.05]},
                      height=440, margin={"b": 160})
    return fig


def promised_scatter(adopted: pd.DataFrame | None, seed: int = 0) -> go.Figure | None:
    """Promised median against realised change in conversions, one point per adoption shown
    with an interval (a seeded sample of at most SCATTER_POINTS), with the line y = x."""
    if adopted is None or adopted.empty or "promised" not in adopted:
        return None
    a = adopted[adopted.promised.notna() & adopted.realised.notna()]
    if a.empty:
        return None
    if len(a) > SCATTER_POINTS:
        a = a.iloc[np.sort(np.random.default_rng(seed).choice(len(a), SCATTER_POINTS,
                                                               replace=False))]
    inside = ((a.promised_low <= a.realised) & (a.realised <= a.promised_high)).to_numpy()
    fig = go.Figure()
    for mask, name, colour in ((inside, "inside the interval", "#1a7f37"),
                               (~inside, "outside", "#b00020")):
        fig.add_trace(go.Scatter(x=a.promised[mask], y=a.realised[mask], mode="markers",
                                 name=name, text=a.action_type[mask], opacity=0.6,
                                 marker={"color": colour, "size": 6}))
    lo = float(min(a.promised.min(), a.realised.min()))
    hi = float(max(a.promised.max(), a.realised.max()))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                             line={"dash": "dot", "color": "#555"}))
    fig.update_layout(title=f"Promised against delivered ({len(a):,} adoptions)",
                      xaxis_title="promised median (conversions over 14 days)",
                      yaxis_title="realised change in conversions", height=480)
    return fig


def _promised(result: dict, tables: Mapping[str, pd.DataFrame], figs: _Figures) -> str:
    p = result.get("promised")
    if p is None:
        return _absent("no adopted recommendations were recorded")
    if not p.get("rows"):
        return _absent("no adopted recommendation was shown with an impact interval")

    def row(first: list[str], r: dict) -> list[str]:
        return first + [fmt(r.get("rows"), "int"), fmt(r.get("coverage"), "pct"),
                        fmt(r.get("bias"), "count", True), fmt(r.get("promised_mean"), "count"),
                        fmt(r.get("realised_mean"), "count"), fmt(r.get("mean_width"), "count")]

    head = ["adoptions", f"coverage (nominal {NOMINAL_COVERAGE * 100:.0f} %)", "bias",
            "promised mean", "realised mean", "interval width"]
    by_arm = [row([html.escape(a)], r) for a, r in p.get("by_arm", {}).items()]
    by_type = [row([html.escape(r["action_type"]), html.escape(r["arm"])], r)
               for r in p.get("by_action_type", [])]
    out = (f"<p>Every adopted recommendation shown with an impact interval ({fmt(p['rows'], 'int')}"
           "), in conversions over the 14 days after it took effect: the share whose realised "
           "change fell inside the interval, and the bias of the promised median (promised − "
           "realised; below 0: it promised too little). Lowest coverage first.</p>"
           + _table(["arm", *head], by_arm) + _table(["action type", "arm", *head], by_type))
    for fig in (coverage_figure(p.get("by_action_type", [])),
                promised_scatter(tables.get("adopted"))):
        out += figs(fig) if fig else ""
    return out


# -- 7. exploration ------------------------------------------------------------------------------

def _exploration(result: dict) -> str:
    e = result.get("exploration")
    if e is None:
        return _absent("no first-slot logs were recorded")
    out = (f"<p>Exploration floor {fmt(e.get('floor'), 'prob')}: in the learned_explore arm "
           "every eligible item is shown with probability at least min(floor, 1 / eligible).</p>")
    cost = e.get("cost")
    if cost:
        rows = [[html.escape(_label(m)[0]), fmt(c.get("learned"), _label(m)[1]),
                 fmt(c.get("learned_explore"), _label(m)[1]), fmt(c.get("ratio"), "ratio")]
                for m, c in cost.items()]
        out += "<h3>What it costs</h3>" + _table(["metric", "learned", "learned_explore",
                                                  "ratio"], rows)
    else:
        out += "<h3>What it costs</h3>" + _absent("it needs both the learned and the "
                                                  "learned_explore arms")
    logs = e.get("logs") or {}
    out += ("<h3>What the logs can evaluate</h3><p>From each arm's own first slots, the "
            "importance weights that evaluate the logging rules: their effective sample size, "
            "the propensities, and the IPS / SNIPS estimate of the rules' first-slot adoption "
            "rate beside the rate the logging arm measured.</p>")
    if not logs:
        return out + _absent("no arm besides the logging rules logged first slots")
    rows = [[html.escape(a), fmt(r.get("slates"), "int"), fmt(r.get("n_eff"), "count"),
             fmt(r.get("n_eff_share"), "pct"), fmt(r.get("min_pscore"), "prob"),
             fmt(r.get("median_pscore"), "prob"), fmt(r.get("max_weight"), "count"),
             fmt(r.get("ips"), "rate"), fmt(r.get("snips"), "rate"), fmt(r.get("truth"), "rate")]
            for a, r in logs.items()]
    return out + _table(["arm's logs", "slates", "ESS", "ESS / slates", "min propensity",
                         "median propensity", "max weight", "IPS", "SNIPS", "logging arm"],
                        rows)


def render_html(result: dict, tables: Mapping[str, pd.DataFrame] | None = None) -> str:
    """The page for people of an experiment's `result` (what results.json holds) and its
    `tables` (outcomes, adopted, first_slot, bandit; any may be absent)."""
    figs, tables = _Figures(), tables or {}
    sections = [("Arms", _arms(result, figs)),
                ("A/B against the truth", _ab_against_truth(result)),
                ("Who gains and who loses", _who(result, figs)),
                ("Estimates before, truth after", _ope(result, figs)),
                ("Promised against delivered", _promised(result, tables, figs)),
                ("Exploration", _exploration(result))]
    body = "".join(f"<h2>{title}</h2>{part}" for title, part in sections)
    name = _text(result.get("name", "experiment"))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Experiment {name}</title><style>{STYLE}</style></head><body>
<h1>Experiment {name}</h1>{_header(result)}<h2>Targets</h2>{_targets(result)}{body}
<p class='na'>The figures as data: results.json beside this page; the tables as Parquet.</p>
</body></html>"""
