"""The experiment's page: every part of a result shown with its figures, a missing figure as '–'
(never nan, None or undefined), a part the run did not measure said so, strings escaped, and
plotly.js inlined once so the page works offline."""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd
import pytest

from pipelines.experiments import report, stats

NAN, INF = float("nan"), float("inf")
# per-metric values of the control (logging); other arms are these times their lift
BASE = {"adoptions_per_impression": 0.0751, "dismissals_per_impression": 0.1311,
        "snoozes_per_impression": 0.0110, "impressions_per_advertiser": 5.432,
        "conversions_per_advertiser": 12.91, "profit_per_advertiser": 667.34,
        "spend_per_advertiser": 3236.32, "trust": 0.904}
LIFT = {"logging": 1.0, "learned": 1.2909, "learned_explore": 1.1, "random": 0.5}
HIDDEN = "<script>alert(1)</script>"


def _summary(v: float, half: float = 0.2) -> dict:
    return {"value": v, "ci95": [v * (1 - half), v * (1 + half)]}


def _design(arms: list[str], with_srm: bool) -> dict:
    """A per-design table as stats.paired / stats.ab write it, with a NaN ratio, an infinite
    ratio and a missing value among the figures."""
    out = {"control": arms[0], "arms": {}}
    for a in arms:
        entry = {"advertisers": 250 if not with_srm else 84,
                 "metrics": {m: _summary(BASE[m] * LIFT[a]) for m in stats.METRICS}}
        if a != arms[0]:
            entry["against_control"] = {m: {
                "difference": {**_summary(BASE[m] * (LIFT[a] - 1), 0.5),
                               "significant": m != "snoozes_per_impression"},
                "ratio": _summary(LIFT[a], 0.1)} for m in stats.METRICS}
            entry["against_control"]["snoozes_per_impression"]["ratio"] = {
                "value": NAN, "ci95": [NAN, NAN]}
            entry["against_control"]["spend_per_advertiser"]["ratio"] = {
                "value": INF, "ci95": [NAN, NAN]}
        out["arms"][a] = entry
    if "learned_explore" in out["arms"]:
        out["arms"]["learned_explore"]["metrics"]["trust"] = {"value": None, "ci95": None}
    if with_srm:
        out["sample_ratio"] = {"counts": [84] * len(arms), "expected_share": 1 / len(arms),
                               "p_value": 0.99, "mismatch": False}
    return out


def _slice(column: str, value: str, profit_diff: float, significant: bool,
           adoption_diff: float) -> dict:
    row = {"slice": column, "value": value, "arm": "learned", "advertisers": 18}
    for m in stats.METRICS:
        if column == "surface" and m in stats.ACCOUNT_METRICS:
            continue
        diff = {"profit_per_advertiser": profit_diff,
                "adoptions_per_impression": adoption_diff}.get(m, 0.0)
        lo, hi = (diff * 3, diff / 3) if significant else (-abs(diff), abs(diff))
        row[m] = {"arm": BASE[m] + diff, "control": BASE[m],
                  "difference": {"value": diff, "ci95": sorted([lo, hi]),
                                 "significant": significant},
                  "ratio": {"value": NAN, "ci95": [NAN, NAN]}}
    return row


def _action_type(name: str, profit_diff: float, adoption_diff: float) -> dict:
    def part(control: float, diff: float) -> dict:
        return {"arm": control + diff, "control": control, "difference": diff}

    return {"action_type": name, "arm": "learned", "impressions": part(20, -1),
            "adoptions": part(4, adoption_diff), "dismissals": part(1, 1),
            "profit": part(37192.32, profit_diff)}


def make_result(design: str = "both",
                arms: tuple[str, ...] = ("logging", "learned", "learned_explore")) -> dict:
    """A result dict of the shape analysis.analyse writes: the parts present follow the design
    and the arms as they do there."""
    arms_l = list(arms)
    r = {"name": "dev", "model_version": "20261129T114653Z", "snapshot": "s1",
         "config": {"design": design, "bootstrap": 1000, "arms": arms_l},
         "world": {"seed": 11, "history_days": 80, "advertisers": 250},
         "horizon": {"from": "2025-12-11", "to": "2025-12-25", "days": 14},
         "arms": arms_l, "control": arms_l[0], "seconds": 21.5}
    if design in ("paired", "both"):
        r["paired"] = _design(arms_l, with_srm=False)
        r["slices"] = [_slice("vertical", "automotive", -93.47, True, 0.0312),
                       _slice("surface", "notification", 718.0, True, -0.004),
                       _slice("vertical", "finance", 239.84, False, 0.0192)]
        r["action_types"] = [_action_type("bid_target_cpa", -35602.32, -3),
                             _action_type("creative_refresh", 369693.0, 19)]
    if design in ("ab", "both"):
        r["ab"] = _design(arms_l, with_srm=True)
    if design == "both":
        r["ab_against_truth"] = {a: {m: {
            "ab": BASE[m] * (LIFT[a] - 1) * 1.1, "ci95": [0.0, BASE[m]],
            "truth": BASE[m] * (LIFT[a] - 1), "error": BASE[m] * (LIFT[a] - 1) * 0.1,
            "covers": m != "trust"} for m in stats.METRICS} for a in arms_l[1:]}
    truth = (r.get("paired") or r["ab"])["arms"]
    if "learned" in arms:
        value = truth["learned"]["metrics"]["adoptions_per_impression"]["value"]
        est = {"ips": (0.1208, [0.0126, 0.3224]), "snips": (0.1407, [None, None]),
               "dr": (0.1196, [0.0285, 0.2752])}
        estimates = {k: {"available": True, "estimate": e, "ci95": ci, "truth": value,
                         "relative_error": (e - value) / value,
                         "covers": ci[0] is not None and ci[0] <= value <= ci[1],
                         "n_eff": 30.59, "n": 1291} for k, (e, ci) in est.items()}
        estimates["cascade"] = {"available": False, "reason": HIDDEN}
        r["ope"] = {"estimand": "the learned policy's adoptions per impression", "days": 14,
                    "data": {"rows": 1315, "kept": 1291, "pscore_not_sampled": 24,
                             "position_left_empty": 0, "pscore_stderr_median": 0.0104,
                             "pscore_relative_stderr_median": 0.296},
                    "on_policy": {"estimate": None, "logging_truth_in_experiment": 0.0751},
                    "estimates": estimates, "raw": {}}
    r["promised"] = {"rows": 131, "by_arm": {"learned": {
        "rows": 131, "coverage": 0.8626, "bias": -30.43, "promised_mean": 49.43,
        "realised_mean": 79.86, "mean_width": 166.03}},
        "by_action_type": [
            {"arm": "learned", "action_type": "bid_target_roas", "rows": 4, "coverage": 0.5,
             "bias": -1.67, "promised_mean": 3.42, "realised_mean": 5.09, "mean_width": NAN},
            {"arm": "learned", "action_type": "creative_refresh", "rows": 24,
             "coverage": 0.9167, "bias": -15.79, "promised_mean": 128.97,
             "realised_mean": 144.76, "mean_width": 386.85}]}
    logs = {a: {"slates": 620, "n_eff": 4.38, "n_eff_share": 0.00707, "min_pscore": 0.000466,
                "median_pscore": 0.676, "max_weight": 257.86, "ips": 0.0411, "snips": NAN,
                "truth": 0.0721} for a in arms_l if a != "logging"}
    r["exploration"] = {"floor": 0.05, "logs": logs}
    if "learned" in arms and "learned_explore" in arms:
        r["exploration"]["cost"] = {m: {
            "learned": truth["learned"]["metrics"][m]["value"],
            "learned_explore": truth["learned_explore"]["metrics"][m]["value"],
            "ratio": LIFT["learned_explore"] / LIFT["learned"]} for m in stats.METRICS}
    r["targets"] = _targets(r)
    r["verdict"] = ("learned policy BETTER than logging: adoptions per impression ×1.29 (95 %: "
                    "1.11–1.53), advertisers' true profit ×5.99 (95 %: 2.68–10.93)"
                    if "learned" in arms else "no learned arm against a control")
    return r


def _targets(r: dict) -> list[dict]:
    learned = "learned" in r["arms"]
    dr = r.get("ope", {}).get("estimates", {}).get("dr", {})
    out = [{"target": "learned adoptions per impression ≥ 1.3× the logging rules', at no "
                      "higher dismissal rate", "figure": 1.2909 if learned else None,
            "dismissal_rate_difference": -0.0363 if learned else None,
            "met": False if learned else None},
           {"target": "learned true profit ≥ 1.5× the logging rules'",
            "figure": 5.9869 if learned else None, "met": True if learned else None}]
    if dr.get("available"):
        out.append({"target": "doubly robust estimate within 10% of the truth, its 95 % "
                              "interval covering it", "figure": dr["relative_error"],
                    "covers": dr["covers"], "met": False})
    return out


def make_tables(adopted_rows: int = 300, seed: int = 1) -> dict[str, pd.DataFrame]:
    """The tables the report reads (adopted), of the job's columns; a third of the adoptions
    shown without an interval, as the logging rules show none."""
    rng = np.random.default_rng(seed)
    promised = rng.gamma(2.0, 20.0, adopted_rows)
    promised[::3] = np.nan
    adopted = pd.DataFrame({
        "arm": "learned", "design": "paired", "day": 80,
        "advertiser_id": np.arange(adopted_rows), "action_type": "creative_refresh",
        "surface": "ads_manager", "promised_low": promised * 0.2, "promised": promised,
        "promised_high": promised * 2.5, "realised": promised * rng.uniform(0, 3, adopted_rows),
        "expected": promised})
    return {"adopted": adopted, "outcomes": pd.DataFrame(), "first_slot": pd.DataFrame()}


def visible(page: str) -> str:
    """The page's text as a reader sees it: no scripts, styles or tags."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def section(page: str, title: str) -> str:
    """The HTML from heading `title` to the next heading of the same level or above."""
    start = page.index(f">{title}</h")
    level = page[start + len(title) + 4]
    ends = [m.start() for m in re.finditer(rf"<h[1-{level}]>", page[start:])]
    return page[start:start + ends[0]] if ends else page[start:]


@pytest.fixture(scope="module")
def full() -> str:
    return report.render_html(make_result(), make_tables())


def test_the_labels_cover_every_metric_of_the_analysis():
    assert set(report.METRICS) == set(stats.METRICS)


def test_the_page_shows_the_verdict_every_target_with_its_figure_and_every_arm(full):
    text = visible(full)
    assert make_result()["verdict"] in text
    for t in make_result()["targets"]:
        assert t["target"] in text
    targets = visible(section(full, "Targets"))
    assert "×1.29; dismissals per impression −3.63 pp MISSED" in targets
    assert "×5.99 met" in targets
    assert "relative error +23.4 %; its interval covers the truth: yes MISSED" in targets
    for arm in ("logging (control)", "learned", "learned_explore"):
        assert arm in visible(section(full, "Paired: the truth"))
        assert arm in visible(section(full, "A/B: as production runs it"))
    assert "Not measured" not in text


def test_the_arms_tables_show_values_intervals_and_differences(full):
    paired = visible(section(full, "Paired: the truth"))
    assert "7.51 % [6.01 %, 9.01 %]" in paired  # 0.0751 ± 20 %
    assert "9.69 % [7.76 %, 11.63 %]" in paired  # 0.0751 × 1.2909
    assert "$667 [$534, $801]" in paired
    assert "+$194* [+$97.06, +$291]" in paired  # 667.34 × 0.2909, significant
    assert "×1.29 [×1.16, ×1.42]" in paired
    ab = visible(section(full, "A/B: as production runs it"))
    assert "Sample-ratio check: logging 84 / learned 84 / learned_explore 84 advertisers " \
           "(expected 33.3 % each); χ² p = 0.99: no mismatch" in ab


def test_a_missing_figure_shows_a_dash_never_nan_none_or_undefined(full):
    text = visible(full)
    for raw in ("nan", "none", "undefined", "inf", "infinity", "null"):
        assert not re.search(rf"\b{raw}\b", text, flags=re.I), raw
    assert "∞" in visible(section(full, "Paired: the truth"))  # the infinite ratio
    ope = visible(section(full, "Estimates before, truth after"))
    assert "self-normalised IPS 14.07 % – 9.69 %" in ope  # no interval: '–'
    assert ("read from the logs –, the world's expectation on those sessions –, measured in "
            "the experiment 7.51 %") in ope


def test_plotly_is_inlined_once_and_fetched_from_nowhere(full):
    assert full.count("plotly-graph-div") >= 5
    assert len(re.findall(r"\* plotly\.js v\d", full)) == 1
    assert "cdn" not in re.sub(r"<script\b.*?</script>", "", full, flags=re.S).lower()
    assert not re.search(r"<script[^>]*\bsrc=", full)  # no script loaded from elsewhere


def test_every_string_from_the_result_is_escaped(full):
    assert HIDDEN not in full
    assert html.escape(HIDDEN) in full


def test_where_it_loses_names_the_losing_slices_and_action_types_only(full):
    part = section(full, "Where it loses")
    losses = visible(part)
    assert "automotive" in losses and "bid_target_cpa" in losses
    items = [visible(li) for li in part.split("<li>")[1:]]
    automotive = next(i for i in items if "automotive" in i)
    assert "true profit per advertiser −$93.47 [−$280, −$31.16] significant" in automotive
    notification = next(i for i in items if "notification" in i)
    assert "adoptions per impression −0.40 pp" in notification
    assert "significant" in notification
    assert "finance" not in losses and "creative_refresh" not in losses
    table = visible(section(full, "Slices (vertical, size tier, surface)"))
    assert table.index("automotive") < table.index("finance") < table.index("notification")


@pytest.mark.parametrize("design, arms, said", [
    ("paired", ("logging", "learned", "learned_explore"),
     ["Not measured: the ab design did not run (design paired).",
      "Not measured: it needs both designs (design both); this run's design was paired."]),
    ("ab", ("logging", "learned", "learned_explore"),
     ["Not measured: the paired design did not run (design ab).",
      "Not measured: it needs both designs (design both); this run's design was ab.",
      "Not measured: the slices and action types come from the paired design, which did not "
      "run."]),
    ("both", ("logging", "random"),
     ["Not measured: no learned arm: nothing to estimate.",
      "Not measured: it needs both the learned and the learned_explore arms.",
      "The doubly robust target: no off-policy estimate was made"]),
    ("both", ("logging", "learned"),
     ["Not measured: it needs both the learned and the learned_explore arms."]),
])
def test_a_part_the_run_did_not_measure_says_so(design, arms, said):
    result = make_result(design, arms)
    page = report.render_html(result, make_tables())
    text = visible(page)
    for s in said:
        assert s in text
    for arm in arms:
        assert arm in text
    assert not re.search(r"\b(nan|none|undefined)\b", text, flags=re.I)
    if "learned" not in arms:
        assert "no learned arm against a control" in text
        assert text.count("not measured") == 2  # both lift targets, shown, not hidden


def test_a_result_without_tables_or_adoptions_with_an_interval_still_renders():
    result = make_result()
    result["promised"] = {"rows": 0, "by_action_type": [], "by_arm": {}}
    page = report.render_html(result, None)
    assert ("Not measured: no adopted recommendation was shown with an impact interval."
            in visible(page))
    del result["promised"], result["exploration"], result["ope"]
    text = visible(report.render_html(result, {}))
    assert "Not measured: no adopted recommendations were recorded." in text
    assert "Not measured: no first-slot logs were recorded." in text


@pytest.mark.parametrize("value, kind, signed, expected", [
    (0.0751, "rate", False, "7.51 %"),
    (0.02185, "rate", True, "+2.19 pp"),
    (-0.0363, "rate", True, "−3.63 pp"),
    (3327.935, "money", True, "+$3,328"),
    (-93.474, "money", True, "−$93.47"),
    (1249517.09, "money", False, "$1,249,517"),
    (1.29097, "ratio", False, "×1.29"),
    (-274.32, "ratio", False, "×−274.32"),
    (0.2331, "pct", True, "+23.3 %"),
    (0.000466, "prob", False, "0.000466"),
    (1291, "int", False, "1,291"),
    (-0.004, "count", True, "0.00"),  # rounds to 0: no sign
    (None, "rate", False, "–"),
    (NAN, "money", True, "–"),
    (np.float64("nan"), "count", False, "–"),
    (INF, "ratio", False, "∞"),
    (-INF, "count", False, "−∞"),
])
def test_numbers_are_formatted_for_people(value, kind, signed, expected):
    assert report.fmt(value, kind, signed) == expected


def test_the_scatter_draws_at_most_2000_adoptions_of_those_with_an_interval_and_y_equals_x():
    tables = make_tables(adopted_rows=6000)
    fig = report.promised_scatter(tables["adopted"])
    points = [t for t in fig.data if t.mode == "markers"]
    drawn = sum(len(t.x) for t in points)
    assert drawn == report.SCATTER_POINTS
    a = tables["adopted"]
    with_interval = a[a.promised.notna()]
    xs = np.concatenate([np.asarray(t.x) for t in points])
    assert np.isin(xs, with_interval.promised.to_numpy()).all()
    inside = points[0]  # the realised changes inside their interval
    ok = with_interval.set_index("promised")
    shown = ok.loc[np.asarray(inside.x)]
    y = np.asarray(inside.y)
    assert len(y) and ((shown.promised_low.to_numpy() <= y)
                       & (y <= shown.promised_high.to_numpy())).all()
    line = fig.data[-1]
    assert list(line.x) == list(line.y)
    small = report.promised_scatter(make_tables(adopted_rows=30)["adopted"])
    assert sum(len(t.x) for t in small.data if t.mode == "markers") == 20


def test_the_arms_plot_has_each_design_per_metric_with_asymmetric_intervals():
    result = make_result()
    fig = report.arms_figure(result)
    assert len(fig.data) == 2 * len(stats.METRICS)
    first = fig.data[0]  # paired, adoptions per impression
    assert list(first.x) == ["logging", "learned", "learned_explore"]
    v = 0.0751 * 1.2909
    assert math.isclose(first.y[1], v)
    assert math.isclose(first.error_y.array[1], v * 0.2)
    assert math.isclose(first.error_y.arrayminus[1], v * 0.2)
    trust = fig.data[-1]  # A/B, trust: learned_explore's is missing
    assert trust.y[2] is None and trust.error_y.array[2] is None


def test_the_estimates_plot_shows_each_available_estimate_and_the_truth_as_a_line():
    ope = make_result()["ope"]
    fig = report.ope_figure(ope)
    assert list(fig.data[0].x) == ["IPS", "self-normalised IPS", "doubly robust"]
    assert fig.data[0].error_y.array[1] is None  # no interval for SNIPS
    assert math.isclose(fig.layout.shapes[0].y0, ope["estimates"]["dr"]["truth"])
    assert report.ope_figure({"estimates": {"dr": {"available": False}}}) is None


def test_the_slices_plot_puts_the_worst_profit_change_first():
    fig = report.slices_figure(make_result()["slices"])
    assert list(fig.data[0].y) == ["vertical: automotive", "vertical: finance",
                                   "surface: notification"]
    assert fig.layout.yaxis.autorange == "reversed"


def test_a_sample_ratio_mismatch_is_shown_plainly():
    result = make_result("ab")
    result["ab"]["sample_ratio"].update(counts=[120, 60, 72], p_value=1e-6, mismatch=True)
    text = visible(report.render_html(result, make_tables()))
    assert "χ² p = 1e-06: MISMATCH" in text
