"""Bad arguments: one clear line, a non-zero exit, and nothing written."""

import os

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


@pytest.mark.parametrize("args, message", [
    (["--scale", "huge"], "invalid scale: Input should be 'tiny', 'small', 'medium' or 'large'"),
    (["--seed", "-1"], "invalid seed: Input should be greater than or equal to 0"),
    (["--shards", "0"], "invalid shards: Input should be greater than or equal to 1"),
    (["--days", "0"], "invalid days: Input should be greater than or equal to 1"),
    (["--advertisers", "-5"], "invalid advertisers: Input should be greater than or equal to 1"),
])
def test_bad_arguments_give_one_line_and_write_nothing(tmp_path, args, message):
    root = tmp_path / "root"
    result = runner.invoke(app, ["world", "generate", "--root", str(root), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message)
    assert not root.exists()


def test_unwritable_root(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        target = "/proc/guidance-root" if os.geteuid() == 0 else str(locked / "root")
        result = runner.invoke(app, ["world", "generate", "--scale", "tiny", "--root", target])
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "is not writable" in lines[0]
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_summary_without_a_world(tmp_path):
    result = runner.invoke(app, ["world", "summary", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: no world under root {str(tmp_path)!r}: run " \
                                    "`guidance world generate`"


@pytest.mark.parametrize("args, message", [
    (["serve"], "no model under root"),
    (["serve", "--ranker", "gpu"], "invalid ranker: Input should be 'deployment' or 'local'"),
    (["serve", "--port", "70000"], "invalid grpc_port: Input should be less than or equal to"),
    (["serve", "--config", "/nonexistent.yaml"], "cannot read serve config"),
    (["tokens", "create", "--name", "x"], "a token needs --advertisers"),
    (["tokens", "create", "--name", "x", "--advertisers", "1,a"], "invalid advertiser list"),
    (["recommend", "--advertiser", "1", "--surface", "fax", "--token", "t"],
     "invalid --surface 'fax'"),
    (["feedback", "--recommendation", "r", "--type", "liked", "--token", "t"],
     "invalid --type 'liked'"),
    (["recommend", "--advertiser", "1", "--token", "t", "--address", "localhost:1"],
     "Recommend: UNAVAILABLE"),
])
def test_service_commands_refuse_bad_input_in_one_line(tmp_path, args, message):
    result = runner.invoke(app, [*args, *(["--root", str(tmp_path)] if args[0] in
                                          ("serve", "tokens") else [])])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
