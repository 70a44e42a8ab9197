"""`guidance monitor`: drift of what the service sees and predicts against the training reference."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli.common import ROOT_OPTION, fail, run_job
from pipelines.storage.root import default_root

monitor_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Monitoring of the service: drift reports.")


@monitor_app.command("drift")
def drift_cmd(
    window: Optional[str] = typer.Option(None, help="The last N days or hours of the log, e.g. "
                                                    "7d (ending at its newest row); default 7d."),
    since: Optional[str] = typer.Option(None, "--from", help="Window start: an ISO date or "
                                                             "time (UTC)."),
    until: Optional[str] = typer.Option(None, "--to", help="Window end (UTC, excluded)."),
    baseline_log: Optional[str] = typer.Option(None, help="Compare against this log's traffic "
                                                          "instead of the training reference "
                                                          "(its last window of the same length, "
                                                          "or --baseline-from/--baseline-to)."),
    baseline_since: Optional[str] = typer.Option(None, "--baseline-from",
                                                 help="Baseline window start (UTC)."),
    baseline_until: Optional[str] = typer.Option(None, "--baseline-to",
                                                 help="Baseline window end (UTC, excluded)."),
    model_version: Optional[str] = typer.Option(None, help="Judge the rows this version served "
                                                           "(default: the one that served most)."),
    log: Optional[str] = typer.Option(None, help="Feedback log URI (default "
                                                 "<root>/logs/feedback.db)."),
    config: Optional[str] = typer.Option(None, help="A JSON or YAML file of the drift config "
                                                    "(tests, thresholds, shares, sampling)."),
    sample_rows: Optional[int] = typer.Option(None, help="Rows per side handed to Evidently."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Compare a window of the service's log with the training reference of the model that
    served it, or with a baseline window of the service's own traffic; writes
    reports/monitoring/<run>/. Exit code 0: no drift, 1: drift (the drifted
    columns are named), 3: too little data in the window to judge."""
    def job():
        from monitoring.drift.config import DriftConfig
        from monitoring.drift.job import monitor_drift

        base = _read_config(config) if config else {}
        flags = {"root": root or base.get("root") or default_root(), "log": log,
                 "window": window, "since": since, "until": until,
                 "baseline_log": baseline_log, "baseline_since": baseline_since,
                 "baseline_until": baseline_until,
                 "model_version": model_version, "sample_rows": sample_rows}
        cfg = DriftConfig(**{**base, **{k: v for k, v in flags.items() if v is not None}})
        return monitor_drift(cfg, show_progress=not as_json)

    summary = run_job(job)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=1,
                              default=str))
    else:
        from monitoring.drift.job import render

        typer.echo(render(summary))
    raise typer.Exit(summary["exit_code"])


def _read_config(path: str) -> dict:
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f)  # JSON is YAML too
    except (OSError, yaml.YAMLError) as e:
        fail(f"cannot read the drift config {path}: {e}")
    if not isinstance(data, dict):
        fail(f"the drift config {path} must be a mapping of settings")
    return data
