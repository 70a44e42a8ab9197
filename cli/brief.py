"""`guidance brief`: one account's brief, or the brief table of every account."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli.common import ROOT_OPTION, run_job
from pipelines.storage.root import default_root


def brief_cmd(
    advertiser: Optional[int] = typer.Option(None, help="Advertiser id: print its brief."),
    all_accounts: bool = typer.Option(False, "--all", help="Write the brief of every account "
                                      "as of the snapshot's day to <root>/briefs/<snapshot>/."),
    as_of: Optional[str] = typer.Option(None, help="YYYY-MM-DD (default: the snapshot's day); "
                                                   "with --advertiser only."),
    snapshot: Optional[str] = typer.Option(None, help="Snapshot version (default: latest)."),
    words: int = typer.Option(400, help="Word budget of the brief's items."),
    baseline: bool = typer.Option(False, help="With --advertiser: the five most extreme "
                                              "signals, whatever guidance they bear on."),
    advertisers_per_block: int = typer.Option(500, help="With --all: advertisers per Ray Data "
                                                        "task."),
    overwrite: bool = typer.Option(False, help="With --all: replace the snapshot's briefs."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The signals of an account that matter now: unusual against its own past and its peers,
    tied to the guidance it can take, each with its sentence and numbers."""
    def job():
        import datetime as dt

        from pipelines.brief.core import BriefConfig
        from pipelines.brief.job import BriefJobConfig, brief_for, write_briefs
        from pipelines.errors import ConfigError
        from pipelines.storage.root import Root

        if (advertiser is None) == (not all_accounts):
            raise ConfigError("give either --advertiser ID or --all")
        if all_accounts and (as_of or baseline):
            raise ConfigError("--all briefs every account as of the snapshot's day (and writes "
                              "the baseline beside it): drop --as-of and --baseline")
        cfg = BriefConfig(words=words)
        if all_accounts:
            return write_briefs(BriefJobConfig(
                root=root or default_root(), snapshot=snapshot, overwrite=overwrite,
                advertisers_per_block=advertisers_per_block, brief=cfg),
                show_progress=not as_json)
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise ConfigError(f"invalid --as-of {as_of!r}: expected YYYY-MM-DD") from None
        return brief_for(Root(root or default_root()), advertiser, day, snapshot, cfg,
                         baseline=baseline)

    out = run_job(job)
    if all_accounts:
        from pipelines.brief.job import render_summary

        typer.echo(json.dumps(out, indent=2) if as_json else render_summary(out))
    else:
        from pipelines.brief.core import render

        typer.echo(json.dumps(out.to_dict(), indent=2) if as_json else render(out))
