"""The `guidance` command line: a thin layer that parses options into a job's config."""

from __future__ import annotations

import json
from typing import Optional

import typer
from pydantic import ValidationError

from pipelines.errors import GuidanceError
from pipelines.storage.root import ROOT_ENV, default_root

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="Advertiser & seller guidance.")
world_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="The simulated ads world.")
context_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Signals about one advertiser, for people and agents.")
tokens_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Bearer tokens of the guidance service.")
app.add_typer(world_app, name="world")
app.add_typer(context_app, name="context")
app.add_typer(tokens_app, name="tokens")

ROOT_OPTION = typer.Option(None, "--root", envvar=ROOT_ENV,
                           help="Root folder or URI of all data (default .guidance/).")
ADDRESS_OPTION = typer.Option("localhost:9000", "--address", envvar="GUIDANCE_ADDRESS",
                              help="host:port of the service's gRPC endpoint.")
TOKEN_OPTION = typer.Option(..., "--token", envvar="GUIDANCE_TOKEN",
                            help="Bearer token (from `guidance tokens create`).")


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _validation_line(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "config"
    return f"invalid {where}: {err['msg']} (got {err.get('input')!r})"


def run_job(fn):
    """Call `fn`, turning the project's errors into one line and exit code 2."""
    try:
        return fn()
    except ValidationError as e:
        fail(_validation_line(e))
    except GuidanceError as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted", 130)


@world_app.command("generate")
def world_generate(
    scale: str = typer.Option("small", help="tiny, small, medium or large."),
    seed: int = typer.Option(7, help="Seed of every random draw (≥ 0)."),
    shards: int = typer.Option(2, help="Blocks simulated at once (Ray tasks)."),
    advertisers: Optional[int] = typer.Option(None, help="Override the scale's advertisers."),
    days: Optional[int] = typer.Option(None, help="Override the scale's days."),
    overwrite: bool = typer.Option(False, help="Replace a world already under the root."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Simulate the ads world's history and write its raw tables under <root>/raw/."""
    def job():
        from pipelines.world.config import WorldConfig
        from pipelines.world.job import generate

        cfg = WorldConfig(scale=scale, seed=seed, shards=shards, advertisers=advertisers,
                          days=days, overwrite=overwrite, root=root or default_root())
        return generate(cfg, show_progress=not as_json)

    manifest = run_job(job)
    if as_json:
        typer.echo(json.dumps(manifest, indent=2))
    else:
        rows = ", ".join(f"{k} {v:,}" for k, v in manifest["rows"].items()
                         if k in ("advertisers", "campaigns", "daily_performance", "impressions"))
        typer.echo(f"world written in {manifest['seconds']} s: {rows}")


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
        r = manifest["rows"]
        typer.echo(f"snapshot {manifest['version']} written in {manifest['seconds']} s: "
                   f"train {r['train']:,}, validation {r['validation']:,}, test {r['test']:,} "
                   f"examples; {r['online_advertisers']:,} advertisers and "
                   f"{r['online_campaigns']:,} campaigns as of {manifest['as_of_now']}")


def _train_default(field: str):
    from pipelines.models.config import TrainConfig

    return TrainConfig.model_fields[field].default


@app.command("train")
def train_cmd(
    snapshot: Optional[str] = typer.Option(None, help="Snapshot version (default: latest)."),
    epochs: int = typer.Option(_train_default("epochs"), help="Passes over the train split."),
    workers: int = typer.Option(_train_default("workers"), help="Ray Train workers."),
    gpu: bool = typer.Option(False, help="One GPU per worker."),
    batch_size: int = typer.Option(_train_default("batch_size"),
                                   help="Examples per step per worker."),
    members: int = typer.Option(_train_default("members"),
                                help="Ranker ensemble members (online bagging)."),
    average_from_epoch: int = typer.Option(
        _train_default("average_from_epoch"),
        help="Publish the mean of the weights of this epoch (0-based) and every later one."),
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
            gpu=gpu, batch_size=batch_size, members=members, average_from_epoch=average_from_epoch,
            run_name=run_name))

    out = run_job(job)
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        m = out["metrics"]
        typer.echo(f"model {out['version']} registered (snapshot {out['snapshot']}): validation "
                   f"adoption AUC {m['averaged_val_adoption_auc']:.4f} with the weights "
                   f"averaged over epochs {m['average_from_epoch'] + 1}–{m['epoch'] + 1}, "
                   f"dismissal AUC {m['averaged_val_dismissal_auc']:.4f}, "
                   f"{m['examples_per_s']:,.0f} examples/s")


@app.command("evaluate")
def evaluate_cmd(
    version: Optional[str] = typer.Option(None, help="Registry version (default: current)."),
    root: Optional[str] = ROOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print evaluation.json."),
) -> None:
    """Evaluate a registered ranker; writes reports/evaluation/<version>/report.html and .json."""
    def job():
        from pipelines.evaluation.offline import evaluate, write_report
        from pipelines.storage.root import Root

        r = Root(root or default_root())
        result = evaluate(r, version)
        return result, write_report(r, result)

    result, path = run_job(job)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    r, t = result["ranking"], result["targets"]
    typer.echo(f"adoption AUC {r['adoption_auc']:.4f} (popularity {r['popularity_adoption_auc']:.4f}, "
               f"GBDT {r['gbdt_adoption_auc']:.4f}, oracle {r['oracle_adoption_auc']:.4f}; "
               f"{t['adoption_auc_share_of_gap']:.0%} of the gap to the oracle)")
    seeds = r["gbdt_seeds"]
    if "mean" in seeds:
        typer.echo(f"GBDT over {seeds['seeds']} seeds: {seeds['min']:.4f} to {seeds['max']:.4f} "
                   f"(mean {seeds['mean']:.4f}; seeds averaged {seeds['averaged_adoption_auc']:.4f})")
    cov = result["impact"]["interval_coverage"]
    cal = result["calibration"]
    typer.echo(f"ECE {cal['ece_before']:.4f} → {cal['ece_after']:.4f} (sampling noise alone: "
               f"{cal['ece_if_calibrated']['p95']:.4f} at the 95th percentile); "
               "impact interval coverage "
               + ("–" if cov is None else f"{cov:.3f}"))
    typer.echo(f"report: {path}/report.html")


@app.command("signals")
def signals_cmd(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")
                ) -> None:
    """List the signal registry."""
    from pipelines.context.docs import registry_rows

    rows = registry_rows()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['group']:<12}{r['name']:<36}{r['level']:<11}{r['type']:<9}"
                   f"{r['description']}")


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
    root: Optional[str] = ROOT_OPTION,
) -> None:
    """Run the guidance service on a local Ray until interrupted (Ctrl-C or SIGTERM)."""
    def job():
        from serving.run import ServeOptions, run

        run(ServeOptions(config=config, port=port, ranker=ranker, watch=watch,
                         direct_ingress=direct_ingress, root=root or default_root()),
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
    from pipelines.world.taxonomy import SURFACES
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
    from pipelines.world.taxonomy import DISMISS_REASONS

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


if __name__ == "__main__":
    app()
