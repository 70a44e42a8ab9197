"""`guidance experiment`: guidance policies as arms in the world after its history."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli.common import ROOT_OPTION, run_job
from pipelines.storage.root import default_root


def experiment_cmd(
    arms: str = typer.Option("logging,learned", help="Comma-separated arms, control first: "
                                                     "logging, learned, learned_explore, "
                                                     "random, oracle."),
    days: int = typer.Option(28, help="Days the experiment runs after the world's history."),
    design: str = typer.Option("both", help="paired (every arm on every advertiser, common "
                                            "random numbers: the truth), ab (advertisers "
                                            "assigned by a hash), or both."),
    name: str = typer.Option("experiment", help="Report folder and A/B salt."),
    advertisers: Optional[int] = typer.Option(None, help="Run only the first N advertisers."),
    control: Optional[str] = typer.Option(None, help="Control arm (default: the first)."),
    model_version: Optional[str] = typer.Option(None, help="Registry version of the learned "
                                                           "arms (default: the promoted one)."),
    exploration_floor: Optional[float] = typer.Option(None, help="learned_explore's floor."),
    ope_days: Optional[int] = typer.Option(None, help="Days of logged history the off-policy "
                                                      "estimates read."),
    bootstrap: Optional[int] = typer.Option(None, help="Bootstrap resamples."),
    shards: int = typer.Option(2, help="Blocks of advertisers run at once."),
    overwrite: bool = typer.Option(False, help="Replace a report of the same name."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Run guidance policies as arms after the world's history: the paired truth, an A/B test,
    off-policy estimates made before it against the truth, and promised against delivered
    impact. Writes reports/experiments/<name>/ (index.html, results.json, tables)."""
    def job():
        from pipelines.experiments.config import ExperimentConfig
        from pipelines.experiments.job import run_experiment

        given = {"control": control, "model_version": model_version,
                 "advertisers": advertisers, "exploration_floor": exploration_floor,
                 "ope_days": ope_days, "bootstrap": bootstrap}
        cfg = ExperimentConfig(
            root=root or default_root(), name=name, days=days, design=design, shards=shards,
            overwrite=overwrite, arms=tuple(a for a in arms.replace(" ", "").split(",") if a),
            **{k: v for k, v in given.items() if v is not None})
        return run_experiment(cfg, show_progress=not as_json)

    result = run_job(job)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        from pipelines.experiments.analysis import render

        typer.echo(render(result))
