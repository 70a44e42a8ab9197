"""The `guidance` command line: a thin layer that parses options into a job's config."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli.brief import brief_cmd
from cli.common import ROOT_OPTION, run_job
from cli.experiment import experiment_cmd
from cli.mcp import mcp_cmd
from cli.monitor import monitor_app
from cli.ope import ope_cmd
from cli.world import world_app
from pipelines.storage.root import default_root

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="Advertiser & seller guidance.")
context_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Signals about one advertiser, for people and agents.")
tokens_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Bearer tokens of the guidance service.")
app.add_typer(world_app, name="world")  # the one part of the CLI that imports the simulator
app.add_typer(context_app, name="context")
app.add_typer(tokens_app, name="tokens")
app.add_typer(monitor_app, name="monitor")
app.command("ope")(ope_cmd)
app.command("experiment")(experiment_cmd)
app.command("brief")(brief_cmd)
app.command("mcp")(mcp_cmd)

ADDRESS_OPTION = typer.Option("localhost:9000", "--address", envvar="GUIDANCE_ADDRESS",
                              help="host:port of the service's gRPC endpoint.")
TOKEN_OPTION = typer.Option(..., "--token", envvar="GUIDANCE_TOKEN",
                            help="Bearer token (from `guidance tokens create`).")


@app.command("prepare")
def prepare_cmd(
    version: Optional[str] = typer.Option(None, help="Snapshot name (default: a UTC timestamp)."),
    advertisers_per_block: int = typer.Option(500, help="Advertisers per Ray Data task."),
    overwrite: bool = typer.Option(False, help="Replace a snapshot of the same version."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Build a versioned snapshot: point-in-time training examples and the online context."""
    def job():
        from pipelines.labels.config import PrepareConfig
        from pipelines.labels.prepare import prepare

        extra = {"version": version} if version else {}
        cfg = PrepareConfig(root=root or default_root(), overwrite=overwrite,
                            advertisers_per_block=advertisers_per_block, **extra)
        return prepare(cfg, show_progress=not as_json)

    manifest = run_job(job)
    if as_json:
        typer.echo(json.dumps(manifest, indent=2))
    else:
        from pipelines.labels.prepare import render

        typer.echo(render(manifest))


def _train_default(field: str, retrieval: bool = False):
    from pipelines.models.config import RetrievalConfig, TrainConfig

    return (RetrievalConfig if retrieval else TrainConfig).model_fields[field].default


@app.command("train")
def train_cmd(
    snapshot: Optional[str] = typer.Option(None, help="Snapshot version (default: latest)."),
    epochs: int = typer.Option(_train_default("epochs"), help="Passes over the train split."),
    workers: int = typer.Option(_train_default("workers"), help="Ray Train workers."),
    gpu: bool = typer.Option(False, help="One GPU per worker."),
    spread: bool = typer.Option(False, help="Workers on as many nodes as possible (SPREAD)."),
    batch_size: int = typer.Option(_train_default("batch_size"),
                                   help="Examples per step per worker."),
    members: int = typer.Option(_train_default("members"),
                                help="Ranker ensemble members (online bagging)."),
    average_from_epoch: Optional[int] = typer.Option(
        None, help="Publish the mean of the weights of this epoch (0-based) and every later "
        "one; below --epochs (default: 4, or the last epoch of a shorter run)."),
    retrieval_epochs: int = typer.Option(_train_default("epochs", retrieval=True),
                                         help="Passes of the two-tower retrieval model."),
    run_name: Optional[str] = typer.Option(None, help="Ray Train run; rerun it to resume."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Train the multi-task ranker with Ray Train, calibrate it and register it."""
    def job():
        from pipelines.models.config import TrainConfig
        from pipelines.models.job import fit_and_register

        return fit_and_register(TrainConfig(
            root=root or default_root(), snapshot=snapshot, epochs=epochs, workers=workers,
            gpu=gpu, spread=spread, batch_size=batch_size, members=members,
            average_from_epoch=average_from_epoch,
            run_name=run_name, retrieval={"epochs": retrieval_epochs}),
            show_progress=not as_json)

    out = run_job(job)
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        from pipelines.models.job import render

        typer.echo(render(out))


@app.command("evaluate")
def evaluate_cmd(
    version: Optional[str] = typer.Option(None, help="Registry version (default: the newest "
                                                     "registered)."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print evaluation.json."),
) -> None:
    """Evaluate a registered ranker and judge the promotion gates; writes
    reports/evaluation/<version>/report.html and evaluation.json."""
    def job():
        from pipelines.evaluation.evaluate import evaluate
        from pipelines.evaluation.report import write_report
        from pipelines.storage.root import Root

        r = Root(root or default_root())
        result = evaluate(r, version, show_progress=not as_json)
        return result, write_report(r, result)

    result, path = run_job(job)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        from pipelines.evaluation.evaluate import render

        typer.echo(render(result, path))


@app.command("promote")
def promote_cmd(
    version: Optional[str] = typer.Option(None, help="Registry version (default: the newest "
                                                     "registered)."),
    force: bool = typer.Option(False, help="Promote even if a gate fails or the evaluation is "
                                           "missing or stale (recorded)."),
    reason: Optional[str] = typer.Option(None, help="Why (required with --force; recorded)."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the promotion record."),
) -> None:
    """Make a registered version the one served, if its evaluation passes the gates."""
    def job():
        from pipelines.promotion.promote import PromoteConfig, promote

        return promote(PromoteConfig(root=root or default_root(), version=version, force=force,
                                     reason=reason))

    record = run_job(job)
    if as_json:
        typer.echo(json.dumps(record, indent=2))
    else:
        from pipelines.promotion.promote import render

        typer.echo(render(record))


@app.command("signals")
def signals_cmd(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")
                ) -> None:
    """List the signal registry."""
    from pipelines.context.docs import registry_rows, render

    rows = registry_rows()
    typer.echo(json.dumps(rows, indent=2) if as_json else render(rows))


@context_app.command("show")
def context_show(
    advertiser: int = typer.Option(..., help="Advertiser id."),
    as_of: Optional[str] = typer.Option(None, help="YYYY-MM-DD (default: now, after the history)."),
    snapshot: Optional[str] = typer.Option(None, help="Snapshot version (default: latest)."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print an advertiser's signals grouped by source, each with its sentence."""
    def job():
        import datetime as dt

        from pipelines.context.online import context_for
        from pipelines.errors import ConfigError
        from pipelines.storage.root import Root

        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise ConfigError(f"invalid --as-of {as_of!r}: expected YYYY-MM-DD") from None
        return context_for(Root(root or default_root()), advertiser, day, snapshot)

    context = run_job(job)
    if as_json:
        typer.echo(json.dumps(context, indent=2, default=str))
    else:
        from pipelines.context.online import render

        typer.echo(render(context))


def _ids(text: str | None) -> list[int]:
    from pipelines.errors import ConfigError

    try:
        return [int(x) for x in (text or "").replace(" ", "").split(",") if x]
    except ValueError:
        raise ConfigError(f"invalid advertiser list {text!r}: expected ids like 17,18,40") from None


@tokens_app.command("create")
def tokens_create(
    name: str = typer.Option(..., help="Who or what the token is for."),
    advertisers: Optional[str] = typer.Option(None, help="Comma-separated advertiser ids."),
    book: Optional[str] = typer.Option(None, help="Name of the sales rep's book these "
                                                  "advertisers form."),
    all_advertisers: bool = typer.Option(False, "--all", help="Every account (internal use)."),
    root: Optional[str] = ROOT_OPTION,
) -> None:
    """Create a bearer token scoped to advertisers or a book; prints it once (only its hash is
    stored)."""
    def job():
        from pipelines.storage.root import Root
        from serving.auth import create

        return create(Root(root or default_root()), name, _ids(advertisers), book,
                      all_advertisers)

    typer.echo(run_job(job))


@app.command("serve")
def serve_cmd(
    config: Optional[str] = typer.Option(None, help="ServeConfig YAML (the `args` of "
                                                    "serving/serve_config.yaml)."),
    port: Optional[int] = typer.Option(None, help="gRPC port (default 9000)."),
    ranker: Optional[str] = typer.Option(None, help="deployment or local."),
    watch: bool = typer.Option(True, help="Hot-swap to each model the registry promotes."),
    direct_ingress: bool = typer.Option(False, help="Also answer on the ingress replica's own "
                                                    "port (Serve's direct ingress)."),
    metrics_port: Optional[int] = typer.Option(None, help="Port of the Prometheus endpoint "
                                                          "(/metrics; default: one Ray picks)."),
    mcp_port: Optional[int] = typer.Option(None, help="Also serve the MCP server for agents "
                                                      "(streamable HTTP at "
                                                      "http://127.0.0.1:PORT/mcp)."),
    root: Optional[str] = ROOT_OPTION,
) -> None:
    """Run the guidance service on a local Ray until interrupted (Ctrl-C or SIGTERM)."""
    def job():
        from serving.run import ServeOptions, run

        run(ServeOptions(config=config, port=port, ranker=ranker, watch=watch,
                         direct_ingress=direct_ingress, metrics_port=metrics_port,
                         mcp_port=mcp_port, root=root or default_root()),
            echo=typer.echo)

    run_job(job)


def _client(address: str, token: str):
    from serving.client import Client

    return Client(address, token)


@app.command("recommend")
def recommend_cmd(
    advertiser: int = typer.Option(..., help="Advertiser id."),
    surface: str = typer.Option("ads_manager", help="ads_manager, business_assistant, "
                                                    "notification or sales_workflow."),
    campaign: int = typer.Option(0, help="Only this campaign (0: all)."),
    max_items: int = typer.Option(0, help="Slate size (0: the surface's default)."),
    address: str = ADDRESS_OPTION,
    token: str = TOKEN_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Ask the running service for an advertiser's guidance and print the slate."""
    from pipelines.domain.vocabulary import SURFACES
    from serving.client import as_dict, render_slate

    def job():
        from pipelines.errors import ConfigError

        if surface not in SURFACES:
            raise ConfigError(f"invalid --surface {surface!r}: expected one of "
                              f"{', '.join(SURFACES)}")
        return _client(address, token).recommend(advertiser, surface, campaign, max_items)

    r = run_job(job)
    typer.echo(json.dumps(as_dict(r), indent=2) if as_json else render_slate(r))


@app.command("book")
def book_cmd(
    advertisers: Optional[str] = typer.Option(None, help="Comma-separated ids (default: the "
                                                         "token's whole book)."),
    max_accounts: int = typer.Option(0, help="Accounts to list (0: 20)."),
    items: int = typer.Option(0, help="Items per account (0: 3)."),
    address: str = ADDRESS_OPTION,
    token: str = TOKEN_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """A sales rep's accounts, most expected impact still available first, with what to say."""
    from serving.client import as_dict, render_book

    r = run_job(lambda: _client(address, token).book(_ids(advertisers), max_accounts, items))
    typer.echo(json.dumps(as_dict(r), indent=2) if as_json else render_book(r))


@app.command("feedback")
def feedback_cmd(
    recommendation: str = typer.Option(..., help="Recommendation id from a slate."),
    kind: str = typer.Option(..., "--type", help="shown, clicked, applied, dismissed, snoozed "
                                                 "or ignored."),
    reason: str = typer.Option("", help="For a dismissal: not_relevant, already_done, "
                                        "too_expensive, disagree_with_estimate or other."),
    snooze_days: int = typer.Option(0, help="For a snooze (0: 14 days)."),
    event_id: Optional[str] = typer.Option(None, help="Idempotency key (default: random)."),
    address: str = ADDRESS_OPTION,
    token: str = TOKEN_OPTION,
) -> None:
    """Tell the service what the advertiser did with a recommendation."""
    import uuid

    from pipelines.errors import ConfigError
    from pipelines.feedback.records import FEEDBACK_TYPES
    from pipelines.domain.vocabulary import DISMISS_REASONS

    def job():
        if kind not in FEEDBACK_TYPES:
            raise ConfigError(f"invalid --type {kind!r}: expected one of "
                              f"{', '.join(FEEDBACK_TYPES)}")
        if reason and reason not in DISMISS_REASONS:
            raise ConfigError(f"invalid --reason {reason!r}: expected one of "
                              f"{', '.join(DISMISS_REASONS)}")
        return _client(address, token).feedback(event_id or uuid.uuid4().hex, recommendation,
                                                kind, reason, snooze_days)

    r = run_job(job)
    typer.echo("already logged (a retry)" if r.duplicate else "logged")


@app.command("explain")
def explain_cmd(
    recommendation: str = typer.Option(..., help="Recommendation id from a slate."),
    address: str = ADDRESS_OPTION,
    token: str = TOKEN_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Why a served recommendation was shown: its reasons, probabilities, impact interval and
    the model and signals it is based on."""
    from serving.client import as_dict, render_explanation

    r = run_job(lambda: _client(address, token).explain(recommendation))
    typer.echo(json.dumps(as_dict(r), indent=2) if as_json else render_explanation(r))


if __name__ == "__main__":
    app()
