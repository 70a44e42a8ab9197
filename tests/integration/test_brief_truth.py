"""The account briefs judged against the world's truth (issue 18, item 3) on the served
fixture's world: the first five items of a brief bear on one of the account's two most valuable
actions far more often than the five most extreme signals do."""

import json

import numpy as np
from typer.testing import CliRunner

from cli.main import app
from pipelines.experiments.action_values import action_values, most_valuable
from pipelines.experiments.job import world_facts
from pipelines.storage.root import Root
from pipelines.world.job import read_manifest


def test_the_worlds_most_valuable_actions_are_worth_something(served_root):
    facts = world_facts(read_manifest(Root(served_root)))
    values = action_values(facts.spec(1), np.arange(50), facts.days)
    best = most_valuable(values)
    assert len(values) > 500 and best.advertiser_id.nunique() > 20
    assert (best.delta_profit > 0).all() and best["rank"].isin([1, 2]).all()
    # the best of each account is its largest true profit among what applies
    top = values.groupby("advertiser_id").delta_profit.max()
    first = best[best["rank"] == 1].set_index("advertiser_id").delta_profit
    np.testing.assert_allclose(first, top[first.index])


def test_briefs_point_at_what_is_worth_doing(served_root):
    if not Root(served_root).exists("briefs/s1"):
        written = CliRunner().invoke(app, ["brief", "--all", "--root", served_root, "--json"])
        assert written.exit_code == 0, written.output
    out = CliRunner().invoke(app, ["world", "judge-briefs", "--root", served_root, "--json"])
    assert out.exit_code == 0, out.output
    r = json.loads(out.output[out.output.index("{"):])
    print(f"{r['accounts']} accounts: guided {r['guided']:.1%}, extreme signals "
          f"{r['baseline']:.1%}")
    assert r["accounts"] > 150 and r["snapshot"] == "s1"
    assert r["guided"] >= r["target"] and r["met"]
    assert r["guided"] > r["baseline"] + 0.2


def test_judging_without_briefs_is_one_line(served_root):
    out = CliRunner().invoke(app, ["world", "judge-briefs", "--root", served_root,
                                   "--version", "nope"])
    assert out.exit_code == 2 and "guidance brief --all" in out.output
    assert "Traceback" not in out.output
