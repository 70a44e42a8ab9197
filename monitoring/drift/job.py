"""`guidance monitor drift`: a window of the service's log against the training reference of the
model that served it (or against a baseline window of a log: the service's own traffic at a
time it was trusted), one Evidently report per kind of column, written whole under
`<root>/reports/monitoring/<run>/` (summary.json, index.html, and each kind's report as HTML and
JSON), and a verdict: ok, drift (names the drifted columns) or too little data."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
import uuid
from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitoring.drift import frames
from monitoring.drift.compare import KindResult, compare
from monitoring.drift.config import KINDS, DriftConfig, parse_duration
from monitoring.drift.reference import load_reference, sample_rows
from monitoring.drift.report import write_index
from pipelines.errors import NotFoundError
from pipelines.feedback.log import FeedbackLog, open_log
from pipelines.feedback.records import FeedbackEvent, Impression, RankerInput, decode
from pipelines.models.features import FeatureSpec
from pipelines.registry import store
from pipelines.storage.root import Root

REPORTS = "reports/monitoring"
EXIT_CODES = {"ok": 0, "drift": 1, "insufficient": 3}


def monitor_drift(cfg: DriftConfig, show_progress: bool = True) -> dict:
    """Run the drift job; returns the run's summary (also written as summary.json)."""
    started = time.monotonic()
    root = Root(cfg.root)
    say = print if show_progress else (lambda *a, **k: None)
    with open_log(cfg.log_uri()) as log:
        since_ms, until_ms = _window(cfg, log, cfg.log_uri(), cfg.since, cfg.until)
        say(f"reading the log from {_iso(since_ms)} to {_iso(until_ms)} ...", flush=True)
        impressions = log.window(Impression, since_ms, until_ms)
        version = cfg.model_version or _most_served(impressions, cfg.log_uri(), since_ms,
                                                    until_ms)
        meta, files = store.load(root, version)
        spec = FeatureSpec.from_json(files["features.json"].decode())
        current, facts = _logged(log, impressions, since_ms, until_ms, version, spec, cfg)
    if cfg.baseline_uri() is None:
        say(f"reference: the train split of {version}'s snapshot ...", flush=True)
        reference, ref_facts = load_reference(root, meta, files, cfg.sample_rows, cfg.seed)
        ref_facts = {"source": "training", **ref_facts}
    else:
        with open_log(cfg.baseline_uri()) as baseline:
            b_since, b_until = _window(cfg, baseline, cfg.baseline_uri(), cfg.baseline_since,
                                       cfg.baseline_until)
            say(f"reference: the log from {_iso(b_since)} to {_iso(b_until)} ...", flush=True)
            reference, b_facts = _logged(baseline, baseline.window(Impression, b_since, b_until),
                                         b_since, b_until, version, spec, cfg)
        ref_facts = {"source": "log", "log": cfg.baseline_uri(), "since": _iso(b_since),
                     "until": _iso(b_until), "rows": b_facts["rows"]["ranker_inputs"],
                     "used": len(reference["features"]), "counts": b_facts["counts"]}
    results, snapshots = {}, {}
    for kind in KINDS:
        say(f"comparing {kind} ...", flush=True)
        results[kind], snapshots[kind] = _judge(kind, reference[kind], current[kind],
                                                facts["counts"][kind], cfg)
    verdict = _verdict(results)
    run = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    summary = {
        "run": run, "verdict": verdict, "exit_code": EXIT_CODES[verdict],
        "window": {"since": _iso(since_ms), "until": _iso(until_ms)},
        "model_version": version,
        "reference": ref_facts,
        "current": facts["rows"],
        "sampled": facts["sampled"] or ref_facts["rows"] > ref_facts["used"],
        "sample_rows": cfg.sample_rows,
        "drifted": {k: r.drifted for k, r in results.items() if r.status == "drift" and r.gate},
        "kinds": {k: r.to_dict() for k, r in results.items()},
        "config": cfg.model_dump(mode="json"),
    }
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["path"] = _write(root, run, summary, snapshots)
    return summary


def _window(cfg: DriftConfig, log: FeedbackLog, uri: str, since: dt.datetime | None,
            until: dt.datetime | None) -> tuple[int, int]:
    """[since, until) in epoch ms: as given, or the last `cfg.window` (default 7d) of the log,
    ending at its newest row (a served slate or a feedback event)."""
    if since is not None:
        return _ms(since), _ms(until)
    newest = max((t for t in (log.newest_ms(Impression), log.newest_ms(FeedbackEvent))
                  if t is not None), default=None)
    if newest is None:
        raise NotFoundError(f"the feedback log {uri} holds no served slate yet")
    end = newest + 1
    return end - int(parse_duration(cfg.window or "7d").total_seconds() * 1000), end


def _most_served(impressions: pa.Table, uri: str, since_ms: int, until_ms: int) -> str:
    """The model version that served most of the window's `impressions`."""
    served = Counter(impressions["model_version"].to_pylist())
    if not served:
        raise NotFoundError(f"the feedback log {uri} holds nothing served from "
                            f"{_iso(since_ms)} to {_iso(until_ms)}")
    return served.most_common(1)[0][0]


def _logged(log: FeedbackLog, impressions: pa.Table, since_ms: int, until_ms: int,
            version: str, spec: FeatureSpec, cfg: DriftConfig
            ) -> tuple[dict[str, pd.DataFrame], dict]:
    """The frames of what `version` served in the window (`impressions`: the window's, already
    read), each sampled down to cfg.sample_rows, with the rows read and how many rows each kind
    had to judge."""
    inputs = log.window(RankerInput, since_ms, until_ms)
    other = impressions.num_rows
    inputs = inputs.filter(pc.equal(inputs["model_version"], version))
    impressions = impressions.filter(pc.equal(impressions["model_version"], version))
    events = log.window(FeedbackEvent, since_ms, until_ms).to_pandas()
    rows = {"ranker_inputs": inputs.num_rows, "impressions": impressions.num_rows,
            "events": len(events), "other_versions": other - impressions.num_rows}
    sampled = inputs.num_rows > cfg.sample_rows or impressions.num_rows > cfg.sample_rows
    inputs = inputs.take(sample_rows(inputs.num_rows, cfg.sample_rows, cfg.seed))
    numeric, categorical = decode(inputs)
    imp = impressions.select(["recommendation_id", "surface", "action_type", "served_at_ms"]
                             ).to_pandas()
    outcomes = frames.logged_outcomes(imp, events, until_ms, cfg.outcome_wait_days)
    counts = {"features": rows["ranker_inputs"], "predictions": rows["ranker_inputs"],
              "outcomes": len(outcomes), "shown": len(imp)}
    outcomes = outcomes.iloc[sample_rows(len(outcomes), cfg.sample_rows, cfg.seed)]
    shown = imp.iloc[sample_rows(len(imp), cfg.sample_rows, cfg.seed)]
    out = {"features": frames.feature_frame(numeric, categorical, spec),
           "predictions": pd.DataFrame({c: inputs[c].to_numpy() for c in frames.PREDICTIONS}),
           "outcomes": frames.outcome_frame(outcomes.surface.to_numpy(),
                                            outcomes.outcome.to_numpy()),
           "shown": frames.shown_frame(shown.action_type.to_numpy())}
    return out, {"rows": rows, "sampled": sampled, "counts": counts}


def _judge(kind: str, ref: pd.DataFrame, cur: pd.DataFrame, n: int, cfg: DriftConfig
           ) -> tuple[KindResult, object | None]:
    """Judge one kind, unless the window holds too little of it (`n`: its rows before
    sampling) or the reference does."""
    kind_cfg = cfg.kind(kind)
    what = (f"impressions at least {cfg.outcome_wait_days} days old at the window's end"
            if kind == "outcomes" else "rows served in the window")
    if n < cfg.min_rows or len(ref) < cfg.min_rows:
        note = (f"{n} {what}" if n < cfg.min_rows else f"{len(ref)} reference rows")
        return KindResult(kind, "insufficient", kind_cfg.gate, {"reference": len(ref),
                                                                "current": n},
                          drift_share=kind_cfg.drift_share,
                          note=f"{note}; at least {cfg.min_rows} are needed"), None
    return compare(kind, ref, cur, kind_cfg)


def _verdict(results: dict[str, KindResult]) -> str:
    if results["features"].status == "insufficient":
        return "insufficient"
    if any(r.status == "drift" and r.gate for r in results.values()):
        return "drift"
    return "ok"


def _write(root: Root, run: str, summary: dict, snapshots: dict) -> str:
    """Stage the run's files and publish the folder in one move: whole or not at all."""
    rel = f"{REPORTS}/{run}"
    with root.staging("monitoring") as staged, tempfile.TemporaryDirectory() as tmp:
        files = {"summary.json": json.dumps(summary, indent=1, default=str).encode()}
        for kind, snapshot in snapshots.items():
            if snapshot is None:
                continue
            for ext, save in (("html", snapshot.save_html), ("json", snapshot.save_json)):
                local = os.path.join(tmp, f"{kind}.{ext}")
                save(local)  # Evidently writes only to a path given as a str
                with open(local, "rb") as f:
                    files[f"{kind}.{ext}"] = f.read()
        files["index.html"] = write_index(summary, history(root) + [summary]).encode()
        base = f"{staged}/{rel}"
        root.fs.create_dir(base, recursive=True)
        for name, data in files.items():
            with root.fs.open_output_stream(f"{base}/{name}") as f:
                f.write(data)
        root.publish(staged, [rel], overwrite=False)
    return root.join(rel)


def history(root: Root) -> list[dict]:
    """Every published run's summary, oldest window first."""
    from pyarrow import fs as pafs

    if not root.exists(REPORTS):
        return []
    out = []
    for info in root.fs.get_file_info(pafs.FileSelector(root.join(REPORTS))):
        run = f"{REPORTS}/{info.base_name}"
        if info.type == pafs.FileType.Directory and root.is_published(run):
            out.append(json.loads(root.read_text(f"{run}/summary.json")))
    return sorted(out, key=lambda s: (s["window"]["until"], s["run"]))


def render(summary: dict) -> str:
    """One line for people."""
    parts = []
    for kind, r in summary["kinds"].items():
        if r["status"] == "drift":
            names = ", ".join(r["drifted"][:6]) + (" ..." if len(r["drifted"]) > 6 else "")
            parts.append(f"{kind} DRIFT {r['share']:.0%} of {len(r['columns'])} columns "
                         f"({names})" + ("" if r["gate"] else " [not gating]"))
        elif r["status"] == "ok":
            parts.append(f"{kind} ok ({r['share']:.0%} drifted)")
        else:
            parts.append(f"{kind} {r['status']}")
    w = summary["window"]
    rows = summary["current"]
    sampled = (f"; each side sampled to at most {summary['sample_rows']:,} rows"
               if summary["sampled"] else "")
    return (f"{summary['verdict'].upper()}: {'; '.join(parts)} — {rows['ranker_inputs']:,} "
            f"scored items of {summary['model_version']} from {w['since']} to {w['until']}"
            f"{sampled}; report {summary['path']}/index.html")


def _ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
