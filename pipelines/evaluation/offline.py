"""`guidance evaluate`: the registered ranker on the snapshot's test split, against baselines and
the world's oracle, written as report.html (plots) and evaluation.json.

Baselines: popularity (each item's smoothed adoption rate in the train split) and a LightGBM model
on the same encoded features. The ceiling: the oracle's true adoption probabilities of the same
test impressions (from <root>/truth, which only evaluation reads).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.dataset as pads
from sklearn.metrics import log_loss

from pipelines.evaluation import metrics as M
from pipelines.index import ann
from pipelines.models import features, retrieval, train
from pipelines.models.artifacts import LoadedRanker, load_two_tower
from pipelines.models.calibration import (ece_if_calibrated, expected_calibration_error,
                                          reliability, widen)
from pipelines.models.job import impact_halves, read_split
from pipelines.registry import store
from pipelines.storage.root import Root
from pipelines.world.oracle import SURFACE_INDEX, if_shown_first

SLICES = {"vertical": "vertical", "size_tier": "size_tier", "surface": "surface",
          "action_type": "action_type"}
SLICE_MIN_ROWS = 100
# LightGBM refitted with this many seeds: the headline baseline is seed 0's, the others show how
# far a seed alone moves it (on the small world, about as far as the ranker is from it).
GBDT_SEEDS = 5
TARGETS = {
    "adoption_auc_at_least_gbdt": "ranking.adoption_auc ≥ ranking.gbdt_adoption_auc",
    "adoption_auc_80pct_to_oracle": "adoption AUC ≥ popularity + 0.8 (oracle − popularity)",
    "ece_after_at_most_0.02": "calibration.ece_after ≤ 0.02",
    "interval_coverage_0.75_0.85": "0.75 ≤ impact.interval_coverage ≤ 0.85",
    "ordering_beats_rules_and_popularity": "ndcg_vs_oracle: ranker > logging_rules, popularity",
    "index_recall_at_100_at_least_0.95": "index.recall_at_100 ≥ 0.95",
    "two_tower_recall_at_100_beats_popularity": "retrieval recall@100: two-tower > popularity",
}


def _popularity(train_df: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    prior = train_df.label_adopted.mean()
    by_type = train_df.groupby("action_type").label_adopted.agg(["sum", "count"])
    type_rate = M.smoothed_rate(by_type["sum"], by_type["count"], prior)
    by_item = train_df.groupby("item_id").label_adopted.agg(["sum", "count"])
    item_prior = test.action_type.map(type_rate).fillna(prior)
    hits = test.item_id.map(by_item["sum"]).fillna(0)
    shows = test.item_id.map(by_item["count"]).fillna(0)
    return M.smoothed_rate(hits, shows, item_prior).to_numpy()


def _lgb_matrix(df: pd.DataFrame, spec: features.FeatureSpec) -> pd.DataFrame:
    enc = features.encode(df, spec)
    cols = {f"n{i}": enc["numeric"][:, i] for i in range(enc["numeric"].shape[1])}
    cols.update({f"c{i}": pd.Categorical(enc["categorical"][:, i])
                 for i in range(enc["categorical"].shape[1])})
    cols["position"] = enc["position"]
    cols["surface"] = pd.Categorical(enc["surface"])
    return pd.DataFrame(cols)


def _gbdt(train_df, val, test, spec, seeds: int = GBDT_SEEDS) -> list[np.ndarray]:
    """LightGBM on the same features, early-stopped on the validation split: the test split's
    P(adopt) of one model per seed (row and column subsampling draw from it)."""
    x_train, x_val, x_test = (_lgb_matrix(df, spec) for df in (train_df, val, test))
    out = []
    for seed in range(seeds):
        model = lgb.LGBMClassifier(n_estimators=600, learning_rate=0.05, num_leaves=63,
                                   min_child_samples=40, subsample=0.8, subsample_freq=1,
                                   colsample_bytree=0.8, random_state=seed, verbose=-1)
        model.fit(x_train, train_df.label_adopted, eval_X=x_val, eval_y=val.label_adopted,
                  callbacks=[lgb.early_stopping(30, verbose=False)])
        out.append(model.predict_proba(x_test)[:, 1])
    return out


@dataclass
class Scored:
    """Every row-level score the metrics are computed from: test impressions, the later half of
    the validation split's measured adoptions (impact), the test split's adopted entity items
    ranked by retrieval, and each test context's index recall."""

    test: pd.DataFrame
    raw: dict[str, np.ndarray]  # the ranker's outputs with position, before calibration
    calibrated: np.ndarray  # P(adopt) after isotonic calibration
    scores: dict[str, np.ndarray]  # adoption scores: ranker, gbdt, popularity, oracle
    relevance: np.ndarray  # oracle: true P(adopt if shown first) × expected conversion gain
    orderings: dict[str, np.ndarray]  # slate orderings: ranker, logging_rules, popularity
    impact_rows: pd.DataFrame  # realised, raw and widened 10/50/90 % per judged adoption
    ranked: pd.DataFrame  # test entity adoptions with each retrieval scorer's rank
    index_recall: np.ndarray  # recall@100 against exact search, per test impression


def _metrics(sc: Scored, test: np.ndarray, impact: np.ndarray, ranked: np.ndarray,
             index_kind: str) -> dict:
    """The issue's metric keys over a subset of rows (boolean masks of each row set)."""
    y = sc.test.label_adopted.to_numpy(float)[test]
    y_dis = sc.test.label_dismissed.to_numpy(float)[test]
    p_raw, p_cal = sc.raw["adopt"][test], sc.calibrated[test]
    s = {k: v[test] for k, v in sc.scores.items()}
    imp = sc.impact_rows[impact]
    real = imp.realised.to_numpy()

    def covered(lo, hi):
        return float(np.mean((real >= imp[lo]) & (real <= imp[hi]))) if len(imp) else None

    slate = sc.test.slate_id.to_numpy()[test]
    return {
        "rows": int(test.sum()),
        "ranking": {
            "adoption_auc": M.auc(y, s["ranker"]),
            "adoption_logloss": float(log_loss(y, np.clip(p_cal, 1e-6, 1 - 1e-6), labels=[0, 1]))
            if len(y) else None,
            "dismissal_auc": M.auc(y_dis, sc.raw["dismiss"][test]),
            "popularity_adoption_auc": M.auc(y, s["popularity"]),
            "gbdt_adoption_auc": M.auc(y, s["gbdt"]),
            "oracle_adoption_auc": M.auc(y, s["oracle"]),
        },
        "calibration": {
            "ece_before": expected_calibration_error(p_raw, y) if len(y) else None,
            "ece_after": expected_calibration_error(p_cal, y) if len(y) else None,
            # what ece_after would read from sampling noise alone, were the model calibrated
            "ece_if_calibrated": ece_if_calibrated(p_cal) if len(y) else None,
        },
        "impact": {
            "interval_coverage": covered("low", "high"),
            "interval_coverage_before_conformal": covered("raw_low", "raw_high"),
            "rows": int(len(imp)),
            "bias": float(np.mean(imp["median"] - real)) if len(imp) else None,
            "median_abs_error": float(np.median(np.abs(imp["median"] - real))) if len(imp) else None,
        },
        "ordering": {"ndcg_vs_oracle": {
            name: M.slate_ndcg(slate, sc.relevance[test], score[test])
            for name, score in sc.orderings.items()}},
        "retrieval": retrieval.summarise(sc.ranked[ranked]),
        "index": {"recall_at_100": float(np.mean(sc.index_recall[test])) if test.any() else None,
                  "kind": index_kind},
    }


def _slices(sc: Scored, index_kind: str, min_rows: int = SLICE_MIN_ROWS) -> dict:
    """Every metric per value of each slice column. A value with fewer than `min_rows` test rows
    gets its row count only: its metrics would be noise."""
    out = {}
    for name, col in SLICES.items():
        out[name] = {}
        for value in sorted(sc.test[col].dropna().unique(), key=str):
            test = (sc.test[col] == value).to_numpy()
            if test.sum() < min_rows:
                out[name][str(value)] = {"rows": int(test.sum())}
                continue
            out[name][str(value)] = _metrics(
                sc, test, (sc.impact_rows[col] == value).to_numpy(),
                (sc.ranked[col] == value).to_numpy(), index_kind)
    return out


def _score(root: Root, meta: dict, files: dict[str, bytes]) -> tuple[Scored, dict]:
    """Row-level scores of the registered models on the snapshot's splits, and row counts."""
    ranker = LoadedRanker(files)
    snapshot = meta["snapshot"]
    train_df, val, test = (read_split(root, snapshot, s) for s in ("train", "validation", "test"))
    pred = train.predict(ranker.model, test, ranker.spec)
    serve = train.predict(ranker.model, test, ranker.spec, at_top=True)
    truth = pads.dataset(root.join("truth", "impression_oracle"), filesystem=root.fs,
                         format="parquet").to_table().to_pandas().set_index("impression_id")
    oracle = truth.loc[test.impression_id.to_numpy()]
    popularity = _popularity(train_df, test)

    # Impact is measured 14 days after an adoption takes effect, so the last days of the history
    # (the test split) have none yet: the interval is judged on the later half of the validation
    # split's measured adoptions (the earlier half set its conformal margin).
    _, measured = impact_halves(val)
    raw_q = train.predict(ranker.model, val[measured], ranker.spec)["impact"]
    q = widen(raw_q, ranker.impact_margin)
    impact_rows = val.loc[measured, list(SLICES.values())].assign(
        realised=val.impact_conversions.to_numpy(float)[measured], raw_low=raw_q[:, 0],
        raw_high=raw_q[:, 2], low=q[:, 0], median=q[:, 1], high=q[:, 2])

    catalog = pads.dataset(root.join("raw", "catalog"), filesystem=root.fs,
                           format="parquet").to_table().to_pandas()
    tower, ctx_spec, items = load_two_tower(files, catalog)
    npz = np.load(io.BytesIO(files["items.npz"]))
    info = meta["index"]
    index = ann.from_bytes(files["index.faiss"], npz["item_id"], info["kind"], info["nprobe"],
                           info["recall_at_100"])
    queries = retrieval.context_embeddings(tower, test, ctx_spec)
    gbdt = _gbdt(train_df, val, test, ranker.spec)
    sc = Scored(
        test=test, raw=pred, calibrated=ranker.calibrators["adopt"](pred["adopt"]),
        scores={"ranker": pred["adopt"], "gbdt": gbdt[0],
                "popularity": popularity, "oracle": oracle.p_adopt.to_numpy()},
        # the oracle orders by what each item is worth, not by where the logging policy put it
        relevance=if_shown_first(
            oracle.p_adopt.to_numpy(), test.surface.map(SURFACE_INDEX).to_numpy(),
            test.position.to_numpy()) * np.maximum(oracle.expected_conversions_delta, 0),
        orderings={"ranker": serve["adopt"] * np.maximum(serve["impact"][:, 1], 0),
                   "logging_rules": test.policy_score.to_numpy(), "popularity": popularity},
        impact_rows=impact_rows,
        ranked=retrieval.ranks(tower, ctx_spec, items, train_df, test),
        index_recall=ann.query_recall(index, npz["embedding"], queries),
    )
    rows = {"train": len(train_df), "validation": len(val), "test": len(test),
            "validation_measured_impact_judged": int(measured.sum())}
    return sc, {"rows": rows, "calibrators": ranker.calibrators, "gbdt_by_seed": gbdt}


def evaluate(root: Root, version: str | None = None) -> dict:
    """Every metric of the registered ranker (default: current) on its snapshot's test split,
    overall and per slice."""
    meta, files = store.load(root, version)
    sc, extra = _score(root, meta, files)
    everything = np.ones(len(sc.test), bool)
    overall = _metrics(sc, everything, np.ones(len(sc.impact_rows), bool),
                       np.ones(len(sc.ranked), bool), meta["index"]["kind"])
    y = sc.test.label_adopted.to_numpy(float)
    y_dis = sc.test.label_dismissed.to_numpy(float)
    overall["calibration"].update({
        "dismissal_ece_after": expected_calibration_error(
            extra["calibrators"]["dismiss"](sc.raw["dismiss"]), y_dis),
        "reliability_before": reliability(sc.raw["adopt"], y),
        "reliability_after": reliability(sc.calibrated, y)})
    # Both models score the same rows, so their AUCs' difference is judged on paired resamples.
    overall["ranking"]["adoption_auc_minus_gbdt"] = M.auc_difference(
        y, sc.scores["ranker"], sc.scores["gbdt"], sc.test.advertiser_id.to_numpy())
    overall["ranking"]["gbdt_seeds"] = _seed_spread(y, extra["gbdt_by_seed"])
    # The index's recall as measured at build time (perturbed items as queries) stays the
    # headline; the test contexts' recall is reported beside it.
    overall["index"] = {"recall_at_100": meta["index"]["recall_at_100"],
                        "test_context_recall_at_100": overall["index"]["recall_at_100"],
                        "kind": meta["index"]["kind"], "items": meta["index"]["items"]}
    del overall["rows"]
    result = {"model_version": meta["version"], "snapshot": meta["snapshot"],
              "rows": extra["rows"], **overall,
              "slices": _slices(sc, meta["index"]["kind"])}
    r = result["ranking"]
    pop, orc = r["popularity_adoption_auc"], r["oracle_adoption_auc"]
    o = result["ordering"]["ndcg_vs_oracle"]
    cov = result["impact"]["interval_coverage"]
    result["targets"] = {
        "adoption_auc_at_least_gbdt": r["adoption_auc"] >= r["gbdt_adoption_auc"],
        "adoption_auc_80pct_to_oracle": r["adoption_auc"] >= pop + 0.8 * (orc - pop),
        "adoption_auc_share_of_gap": (r["adoption_auc"] - pop) / (orc - pop),
        "ece_after_at_most_0.02": result["calibration"]["ece_after"] <= 0.02,
        "interval_coverage_0.75_0.85": cov is not None and 0.75 <= cov <= 0.85,
        "ordering_beats_rules_and_popularity": None not in o.values() and o["ranker"] > max(
            o["logging_rules"], o["popularity"]),
        "index_recall_at_100_at_least_0.95": result["index"]["recall_at_100"] >= 0.95,
        "two_tower_recall_at_100_beats_popularity": result["retrieval"].get("rows", 0) > 0 and
        result["retrieval"]["two_tower"]["recall_at_k"]["100"]
        > result["retrieval"]["popularity"]["recall_at_k"]["100"],
    }
    return result


def _seed_spread(y: np.ndarray, by_seed: list[np.ndarray]) -> dict:
    """LightGBM's test AUC per seed, and that of the seeds' averaged predictions (an ensemble,
    as the ranker is)."""
    aucs = [M.auc(y, p) for p in by_seed]
    if None in aucs:  # one class only: no AUC at all
        return {"seeds": len(aucs), "adoption_auc": aucs}
    return {"seeds": len(aucs), "adoption_auc": aucs, "min": min(aucs), "mean": float(np.mean(aucs)),
            "max": max(aucs), "averaged_adoption_auc": M.auc(y, np.mean(by_seed, axis=0))}


def _versus_gbdt(ranking: dict) -> str:
    d, s = ranking.get("adoption_auc_minus_gbdt"), ranking.get("gbdt_seeds")
    text = "" if d is None else (
        f" Ranker AUC minus LightGBM's: {d['difference']:+.4f}, 95 % interval "
        f"{d['ci95_low']:+.4f} to {d['ci95_high']:+.4f} (advertisers resampled).")
    if s and "mean" in s:
        text += (f" LightGBM with {s['seeds']} seeds: AUC {s['min']:.4f} to {s['max']:.4f} "
                 f"(mean {s['mean']:.4f}); their averaged predictions "
                 f"{s['averaged_adoption_auc']:.4f}.")
    return text


SLICE_COLUMNS = {  # report column → path in a slice's metrics
    "rows": ("rows",),
    "AUC": ("ranking", "adoption_auc"),
    "AUC gbdt": ("ranking", "gbdt_adoption_auc"),
    "AUC popularity": ("ranking", "popularity_adoption_auc"),
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


def _lookup(metrics: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "<td>–</td>"
    return f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{v}</td>"


def _table(rows: dict[str, dict]) -> str:
    head = "".join(f"<th>{c}</th>" for c in ["slice", *SLICE_COLUMNS])
    body = "".join("<tr><td>" + str(k) + "</td>" + "".join(
        _cell(_lookup(m, path)) for path in SLICE_COLUMNS.values()) + "</tr>"
        for k, m in rows.items())
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(result: dict) -> str:
    """The report for people: reliability diagram, AUC against baselines, slices."""
    cal = result["calibration"]
    rel = go.Figure()
    rel.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect",
                             line={"dash": "dot"}))
    for key, name in (("reliability_before", "raw"), ("reliability_after", "calibrated")):
        pts = cal[key]
        rel.add_trace(go.Scatter(x=[p["predicted"] for p in pts], y=[p["observed"] for p in pts],
                                 mode="lines+markers", name=name))
    rel.update_layout(title="Reliability of P(adopt), test split", xaxis_title="predicted",
                      yaxis_title="observed", width=560, height=460)
    r = result["ranking"]
    bars = go.Figure(go.Bar(x=["popularity", "gbdt", "ranker", "oracle"],
                            y=[r["popularity_adoption_auc"], r["gbdt_adoption_auc"],
                               r["adoption_auc"], r["oracle_adoption_auc"]]))
    bars.update_layout(title="Adoption AUC, test split", yaxis_range=[0.5, 1], width=560,
                       height=400)
    nd = result["ordering"]["ndcg_vs_oracle"]
    order = go.Figure(go.Bar(x=list(nd), y=list(nd.values())))
    order.update_layout(title="NDCG of slate orderings against the oracle", width=560, height=400)
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
    targets = "".join(f"<li>{TARGETS[k]}: <b>{'met' if result['targets'][k] else 'MISSED'}</b>"
                      "</li>" for k in TARGETS)
    summary = {k: v for k, v in result.items()
               if k in ("ranking", "impact", "rows", "retrieval", "index")}
    slices = "".join(f"<h3>by {k}</h3>{_table(v)}" for k, v in result["slices"].items())
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Evaluation {result['model_version']}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style></head><body>
<h1>Ranker {result['model_version']} on snapshot {result['snapshot']}</h1>
<h2>Targets</h2><ul>{targets}</ul>
<p>AUC share of the gap from popularity to the oracle:
{result['targets']['adoption_auc_share_of_gap']:.2f}; ECE {cal['ece_before']:.4f} raw,
{cal['ece_after']:.4f} calibrated (a calibrated model would read
{cal['ece_if_calibrated']['mean']:.4f} on these rows from sampling noise alone, up to
{cal['ece_if_calibrated']['p95']:.4f} in 95 % of draws).{_versus_gbdt(result['ranking'])}</p>
<pre>{json.dumps(summary, indent=1)}</pre>
{bars.to_html(full_html=False, include_plotlyjs=True)}
{rel.to_html(full_html=False, include_plotlyjs=False)}
{order.to_html(full_html=False, include_plotlyjs=False)}
{curve.to_html(full_html=False, include_plotlyjs=False)}
<h2>Slices</h2><p>Every metric per slice; a slice with fewer than {SLICE_MIN_ROWS} test
rows shows its row count only. Impact is judged on validation adoptions, retrieval on test
adoptions of entity items.</p>{slices}
</body></html>"""


def report_dir(version: str) -> str:
    """Where a model version's report lies, relative to the root."""
    return f"reports/evaluation/{version}"


def read_result(root: Root, version: str) -> dict:
    """The evaluation.json that `write_report` published for a model version."""
    with root.fs.open_input_stream(root.join(report_dir(version), "evaluation.json")) as f:
        return json.loads(f.read())


def write_report(root: Root, result: dict) -> str:
    """report.html and evaluation.json under reports/evaluation/<version>/, published whole."""
    dest = report_dir(result["model_version"])
    with root.staging("evaluation") as staged:
        for name, text in (("evaluation.json", json.dumps(result, indent=2, allow_nan=False)),
                           ("report.html", render_html(result))):
            with root.fs.open_output_stream(f"{staged}/{name}") as f:
                f.write(text.encode())
        if root.exists(dest):
            root.fs.delete_dir(root.join(dest))
        root.fs.create_dir(root.join("reports", "evaluation"), recursive=True)
        root.fs.move(staged, root.join(dest))
    return root.join(dest)
