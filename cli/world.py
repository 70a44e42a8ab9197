"""`guidance world`: the simulated ads world, the one part of the CLI that imports the simulator
(a platform that plugs in its own warehouse has no use for it)."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from cli.common import ROOT_OPTION, run_job
from pipelines.storage.root import default_root

world_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="The simulated ads world.")
SHOCK_OPTION = typer.Option(
    None, "--shock", help="A shock from a day on, kind:field=value,... (repeatable), e.g. "
    "market:vertical=legal,from_day=20,price_factor=1.6; "
    "signup_mix:tier=enterprise,from_day=20,share_factor=3 (needs --signup-share); "
    "tracking_outage:from_day=2025-10-12,share=0.3. See docs/world.md, Shocks.")


@world_app.command("generate")
def world_generate(
    scale: str = typer.Option("small", help="tiny, small, medium or large."),
    seed: int = typer.Option(7, help="Seed of every random draw (≥ 0)."),
    shards: int = typer.Option(2, help="Blocks simulated at once (Ray tasks)."),
    advertisers: Optional[int] = typer.Option(None, help="Override the scale's advertisers."),
    days: Optional[int] = typer.Option(None, help="Override the scale's days."),
    overwrite: bool = typer.Option(False, help="Replace a world already under the root."),
    signup_share: float = typer.Option(
        0.0, help="Share of the advertisers whose account opens during the history."),
    shock: Optional[List[str]] = SHOCK_OPTION,
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Simulate the ads world's history and write its raw tables under <root>/raw/."""
    def job():
        from pipelines.world.config import WorldConfig
        from pipelines.world.job import generate
        from pipelines.world.shocks import parse

        cfg = WorldConfig(scale=scale, seed=seed, shards=shards, advertisers=advertisers,
                          days=days, overwrite=overwrite, root=root or default_root(),
                          signup_share=signup_share,
                          shocks=tuple(parse(s) for s in shock or ()))
        return generate(cfg, show_progress=not as_json)

    manifest = run_job(job)
    if as_json:
        typer.echo(json.dumps(manifest, indent=2))
    else:
        from pipelines.world.job import render

        typer.echo(render(manifest))


@world_app.command("summary")
def world_summary(
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print the world's marginals beside the public ranges it aims for."""
    def job():
        from pipelines.storage.root import Root
        from pipelines.world.summary import summarize

        return summarize(Root(root or default_root()))

    summary = run_job(job)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        from pipelines.world.summary import render

        typer.echo(render(summary))


@world_app.command("judge-briefs")
def world_judge_briefs(
    version: Optional[str] = typer.Option(None, help="Snapshot whose briefs to judge (default: "
                                                     "the latest)."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Judge the account briefs (`guidance brief --all`) against the world's truth: do their
    first five items bear on each account's two most valuable actions? Beside the five most
    extreme signals."""
    def job():
        from pipelines.experiments.brief_truth import judge
        from pipelines.experiments.job import world_facts
        from pipelines.storage.root import Root
        from pipelines.world.job import read_manifest

        r = Root(root or default_root())
        return judge(r, world_facts(read_manifest(r)), version)

    result = run_job(job)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        from pipelines.experiments.brief_truth import render

        typer.echo(render(result))
