"""What every `guidance` command shares: the root option and errors turned into one line."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from pipelines.errors import GuidanceError
from pipelines.storage.root import ROOT_ENV

ROOT_OPTION = typer.Option(None, "--root", envvar=ROOT_ENV,
                           help="Root folder or URI of all data (default .guidance/).")


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
