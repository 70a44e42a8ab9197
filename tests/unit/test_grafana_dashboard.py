"""The Grafana dashboard charts only metrics that exist, by labels they carry: every name in its
PromQL is one serving/metrics.py defines (or one of Serve's proxy metrics it lists), so renaming
a metric or a tag without the dashboard fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from serving.metrics import METRICS, SERVE_PROXY_METRICS, SERVE_TAGS

DASHBOARD = Path(__file__).resolve().parents[2] / "monitoring" / "grafana" / "guidance-serving.json"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset"}


def _labels_of() -> dict[str, set[str]]:
    """Every exported sample name → the labels it carries."""
    out = {name: set(tags) for name, tags in SERVE_PROXY_METRICS.items()}
    for m in METRICS:
        for name in m.exported():
            out[name] = set(m.tag_keys) | set(SERVE_TAGS) | ({"le"} if name.endswith("_bucket")
                                                             else set())
    return out


LABELS = _labels_of()


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and labels left out)."""
    e = re.sub(r'"[^"]*"', '""', expr)
    e = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    return {t for t in re.findall(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b(?!\s*\()", e)
            if t not in PROMQL_WORDS}


def label_names(expr: str) -> set[str]:
    """The labels an expression groups by or matches on."""
    grouped = {label.strip() for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
               for label in group.split(",") if label.strip()}
    matched = {key for sel in re.findall(r"\{([^}]*)\}", expr)
               for key in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", sel)}
    return grouped | matched


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict) -> list[dict]:
    """Every chart, those inside collapsed rows included."""
    out = []
    for p in dashboard["panels"]:
        if p["type"] == "row":
            out += p.get("panels", [])
        else:
            out.append(p)
    return out


PANELS = _panels(_dashboard())


def test_the_parser_sees_names_and_labels():
    expr = ('histogram_quantile(0.95, sum by (le, rpc) (rate(ray_a_bucket{application=~"$x", '
            'code!="OK"}[$__rate_interval]))) / sum(ray_b) > 0')
    assert metric_names(expr) == {"ray_a_bucket", "ray_b"}
    assert label_names(expr) == {"le", "rpc", "application", "code"}


@pytest.mark.parametrize("panel", PANELS, ids=[p["title"] for p in PANELS])
def test_every_panel_queries_defined_metrics_by_their_labels(panel):
    assert panel["targets"], "a panel with no query"
    assert panel["datasource"]["uid"] == "${datasource}"
    for target in panel["targets"]:
        names = metric_names(target["expr"])
        assert names and names <= set(LABELS), f"unknown metric in {target['expr']!r}"
        known = set().union(*(LABELS[n] for n in names))
        assert label_names(target["expr"]) <= known, target["expr"]
        assert target["datasource"]["uid"] == "${datasource}"


def test_every_metric_of_the_service_and_the_proxy_is_charted():
    charted = set().union(*(metric_names(t["expr"]) for p in PANELS for t in p["targets"]))
    for m in METRICS:
        assert charted & set(m.exported()), f"{m.name} has no panel"
    assert set(SERVE_PROXY_METRICS) <= charted


def test_variables_ids_and_layout():
    dashboard = _dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)",
                                 variables["application"]["definition"]).groups()
    assert label in LABELS[metric]
    rows = [p for p in dashboard["panels"] if p["type"] == "row"]
    ids = [p["id"] for p in rows + PANELS]
    assert len(set(ids)) == len(ids)
    cells = set()
    for p in dashboard["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine
