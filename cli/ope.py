"""`guidance ope`: off-policy estimates of an evaluated policy's value from logged bandit data."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli.common import run_job


def ope_cmd(
    data: str = typer.Option(..., "--data", help="Logged bandit data, Parquet or CSV "
                                                 "(schema: docs/ope.md)."),
    action_context: Optional[str] = typer.Option(None, "--action-context",
                                                 help="Action feature table (action, "
                                                      "action_context_<j>)."),
    estimators: str = typer.Option("ips,snips,dr,cascade", help="Comma-separated: ips, snips, "
                                                                "dr, cascade, dm."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples of clusters "
                                                            "(0: no intervals)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    out: Optional[str] = typer.Option(None, help="Folder for ope.json and ope.html (replaced "
                                                 "whole)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Estimate the evaluated policy's value (IPS, self-normalised IPS, doubly robust, cascade)
    with 95 % bootstrap intervals and effective sample sizes."""
    def job():
        from pipelines.ope.job import OpeConfig, run_ope

        names = tuple(x for x in estimators.replace(" ", "").split(",") if x)
        return run_ope(OpeConfig(data=data, action_context=action_context, estimators=names,
                                 n_bootstrap=bootstrap, seed=seed, out=out))

    result = run_job(job)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        from pipelines.ope.job import render

        typer.echo(render(result))
