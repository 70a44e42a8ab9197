"""The logged bandit schema: every bad input gets one DataError naming what is wrong; files
round-trip in Parquet (list columns) and CSV (wide columns); `guidance ope` prints one line per
estimator, writes ope.json and ope.html whole, and turns bad data into one line and exit 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.errors import DataError
from pipelines.ope import LoggedBandit, estimate, from_table, read_bandit, write_bandit
from pipelines.ope.data import to_table, write_action_context
from tests.unit.test_ope_estimators import draw, make_world

runner = CliRunner()


def good_frame() -> pd.DataFrame:
    """3 rounds × 2 positions, 3 actions, list columns."""
    return pd.DataFrame({
        "round_id": [0, 0, 1, 1, 2, 2],
        "cluster_id": [7, 7, 7, 7, 9, 9],
        "action": [0, 2, 1, 0, 2, 1],
        "position": [0, 1, 0, 1, 0, 1],
        "reward": [1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
        "pscore": [0.5, 0.25, 0.25, 0.5, 0.25, 0.25],
        "pscore_cascade": [0.5, 0.125, 0.25, 0.125, 0.25, 0.0625],
        "action_dist": [[0.2, 0.3, 0.5]] * 6,
        "estimated_rewards": [[0.1, 0.2, 0.3]] * 6,
        "context_0": [0.1, 0.1, -0.2, -0.2, 0.3, 0.3],
    })


def table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def wide(df: pd.DataFrame, drop: str | None = None) -> pd.DataFrame:
    out = df.drop(columns=["action_dist"])
    for j in range(3):
        out[f"action_dist_{j}"] = [row[j] for row in df["action_dist"]]
    return out.drop(columns=[drop] if drop else [])


def _set(column: str, row: int, value):
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        values = list(df[column])
        values[row] = value
        df[column] = values
        return df
    return mutate


BAD = [  # (name, mutation of the good frame, words the error must hold)
    ("no pscore", lambda df: df.drop(columns=["pscore"]), "missing column 'pscore'"),
    ("no reward", lambda df: df.drop(columns=["reward"]), "missing column 'reward'"),
    ("no action_dist", lambda df: df.drop(columns=["action_dist"]),
     "missing column 'action_dist'"),
    ("pscore 0", _set("pscore", 2, 0.0), "pscore must be in (0, 1]: row 2 has 0.0"),
    ("pscore above 1", _set("pscore", 1, 1.5), "pscore must be in (0, 1]: row 1 has 1.5"),
    ("pscore negative", _set("pscore", 0, -0.1), "pscore must be in (0, 1]: row 0 has -0.1"),
    ("pscore_cascade 0", _set("pscore_cascade", 3, 0.0),
     "pscore_cascade must be in (0, 1]: row 3 has 0.0"),
    ("action_dist sum", _set("action_dist", 4, [0.2, 0.3, 0.4]),
     "action_dist of row 4 sums to 0.9; each row must sum to 1"),
    ("action_dist negative", _set("action_dist", 1, [-0.2, 0.7, 0.5]),
     "action_dist must be in [0, 1]: row 1, action 0 has -0.2"),
    ("list lengths", _set("action_dist", 3, [0.5, 0.5]),
     "action_dist lists have different lengths: row 0 has 3 values, row 3 has 2"),
    ("estimated_rewards length", lambda df: df.assign(estimated_rewards=[[0.1, 0.2]] * 6),
     "estimated_rewards has 2 values per row, action_dist 3"),
    ("action too large", _set("action", 5, 3),
     "action must be in [0, 3) (n_actions from action_dist): row 5 has 3"),
    ("action negative", _set("action", 0, -1), "action must be in [0, 3)"),
    ("action not integer", lambda df: df.assign(action=[0.0, 2.0, 1.5, 0.0, 2.0, 1.0]),
     "action must be an integer: row 2 has 1.5"),
    ("position negative", _set("position", 1, -1), "position must be >= 0 (0 = top): row 1"),
    ("reward NaN", _set("reward", 5, float("nan")), "column reward has a missing value at "
                                                    "row 5"),
    ("duplicate position", _set("position", 3, 0),
     "round 1 has position 0 twice (rows 2 and 3)"),
    ("round split over clusters", _set("cluster_id", 1, 8),
     "round 0 has rows in clusters 7 and 8; a round belongs to one cluster"),
    ("action_dist as text", lambda df: df.assign(action_dist=["0.2,0.3,0.5"] * 6),
     "column action_dist must be a list of numbers per row"),
    ("context text", lambda df: df.assign(context_0=["a"] * 6),
     "column context_0 must be numeric"),
    ("no rows", lambda df: df.iloc[:0], "the table has no rows"),
]


@pytest.mark.parametrize("name, mutate, words", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs_get_one_clear_error(name, mutate, words):
    with pytest.raises(DataError) as e:
        from_table(table(mutate(good_frame())))
    assert words in str(e.value)
    assert "\n" not in str(e.value)


def test_the_good_frame_reads_with_every_column():
    b = from_table(table(good_frame()))
    assert (b.n_rows, b.n_actions, b.n_rounds, b.n_units) == (6, 3, 3, 2)
    assert b.context.shape == (6, 1) and b.estimated_rewards.shape == (6, 3)
    np.testing.assert_array_equal(b.first_of_round, [1, 0, 1, 0, 1, 0])


@pytest.mark.parametrize("drop, words", [
    ("action_dist_1", "wide columns action_dist_0..action_dist_2 lack action_dist_1"),
    ("action_dist_0", "lack action_dist_0"),
])
def test_wide_columns_missing_an_index(drop, words):
    with pytest.raises(DataError, match=words):
        from_table(table(wide(good_frame(), drop)))


def test_reward_nan_in_arrays_and_mismatched_lengths_when_built_directly():
    df = good_frame()
    args = dict(action=df.action.to_numpy(), position=df.position.to_numpy(),
                reward=df.reward.to_numpy(), pscore=df.pscore.to_numpy(),
                action_dist=np.array(df.action_dist.tolist()))
    with pytest.raises(DataError, match="reward is NaN at row 2"):
        LoggedBandit(**{**args, "reward": np.array([1, 0, np.nan, 1, 0, 0.0])})
    with pytest.raises(DataError, match=r"position has shape \[5\], expected \[6\]"):
        LoggedBandit(**{**args, "position": args["position"][:5]})
    with pytest.raises(DataError, match=r"action_dist has shape \[5, 3\], expected \[6, "
                                        r"n_actions\]"):
        LoggedBandit(**{**args, "action_dist": args["action_dist"][:5]})
    b = LoggedBandit(**args)  # no round_id: every row its own round
    assert b.n_rounds == 6 and b.n_units == 6


@pytest.mark.parametrize("name, content, words", [
    ("data.txt", b"x", "unknown extension '.txt'; expected .parquet, .pq or .csv"),
    ("data", b"x", "unknown extension '(none)'"),
    ("missing.parquet", None, "cannot read"),
    ("garbage.parquet", b"not parquet at all", "as parquet"),
    ("empty.csv", b"", "as csv"),
])
def test_unreadable_files(tmp_path, name, content, words):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError) as e:
        read_bandit(path)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_action_context_table(tmp_path):
    pq.write_table(table(good_frame()), tmp_path / "d.parquet")
    ac = pd.DataFrame({"action": [2, 0, 1], "action_context_0": [2.0, 0.0, 1.0]})
    ac.to_csv(tmp_path / "ac.csv", index=False)
    b = read_bandit(tmp_path / "d.parquet", tmp_path / "ac.csv")
    np.testing.assert_array_equal(b.action_context[:, 0], [0, 1, 2])
    ac.iloc[:2].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match="must list every action 0..2 once"):
        read_bandit(tmp_path / "d.parquet", tmp_path / "short.csv")


def synthetic(clusters: bool = True, rounds: int = 300) -> LoggedBandit:
    world = make_world(3, contexts=3, positions=2)
    d = draw(world, 1, rounds, seed=4)
    return d.bandit(0, cluster_id=d.round_id[0] // 5 if clusters else None,
                    context=np.eye(3)[d.context[0]])


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_files_round_trip(tmp_path, ext):
    b = synthetic()
    b = LoggedBandit(**{**{f: getattr(b, f) for f in b.__dataclass_fields__},
                        "estimated_rewards": np.full_like(b.action_dist, 0.3),
                        "action_context": np.arange(8.0).reshape(4, 2)})
    write_bandit(b, tmp_path / f"d.{ext}")
    write_action_context(b, tmp_path / f"ac.{ext}")
    back = read_bandit(tmp_path / f"d.{ext}", tmp_path / f"ac.{ext}")
    for field in b.__dataclass_fields__:
        np.testing.assert_allclose(getattr(back, field), getattr(b, field), rtol=1e-15,
                                   err_msg=field)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    if ext == "csv":
        assert "action_dist_3" in to_table(b, wide=True).column_names


def _one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_the_command_prints_one_line_per_estimator(tmp_path, ext):
    b = synthetic()
    write_bandit(b, tmp_path / f"d.{ext}")
    result = runner.invoke(app, ["ope", "--data", str(tmp_path / f"d.{ext}"),
                                 "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("300 rounds (600 rows, 2.00 positions per round), 4 actions; "
                               "200 bootstrap resamples of 60 clusters")
    assert [line.split()[0] for line in lines[1:]] == ["logged", "ips", "snips", "dr",
                                                       "cascade"]
    ips = estimate(b, ["ips"], n_bootstrap=200)["estimators"]["ips"]
    assert lines[2].startswith(f"ips        {ips['value']:.4f} per round  95% "
                               f"[{ips['ci95_low']:.4f}, {ips['ci95_high']:.4f}]")
    assert "n_eff" in lines[4] and "unavailable" not in result.stdout


def test_the_command_writes_json_and_html_whole(tmp_path):
    b = synthetic(clusters=False)
    write_bandit(b, tmp_path / "d.parquet")
    out = tmp_path / "report"
    args = ["ope", "--data", str(tmp_path / "d.parquet"), "--estimators", "ips,dr",
            "--bootstrap", "100", "--seed", "3", "--out", str(out), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["ope.html", "ope.json"]
    written = json.loads((out / "ope.json").read_text())
    assert printed.pop("out") == str(out)
    assert written == printed and written["resampled"] == "rounds"
    assert list(written["estimators"]) == ["ips", "dr"]
    assert written["estimators"]["dr"]["reward_model"].startswith("ridge regression "
                                                                  "cross-fitted over 5 folds")
    html = (out / "ope.html").read_text()
    assert "plotly" in html and "Importance weights" in html
    assert runner.invoke(app, args).exit_code == 0  # an earlier output folder is replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.parquet", "report"]
    (out / "mine.txt").write_text("keep")
    line = _one_line_error(runner.invoke(app, args))
    assert "is not an earlier ope output folder" in line
    assert (out / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("args, words", [
    (["--data", "{d}/missing.csv"], "cannot read"),
    (["--data", "{d}/bad.csv"], "pscore must be in (0, 1]: row 1 has 0.0"),
    (["--data", "{d}/data.json"], "unknown extension '.json'"),
    (["--data", "{d}/bad.csv", "--estimators", "ips,magic"], "invalid estimators.1"),
    (["--data", "{d}/bad.csv", "--bootstrap", "-1"], "invalid n_bootstrap"),
])
def test_the_command_turns_bad_input_into_one_line(tmp_path, args, words):
    wide(_set("pscore", 1, 0.0)(good_frame())).drop(
        columns=["estimated_rewards"]).to_csv(tmp_path / "bad.csv", index=False)
    (tmp_path / "data.json").write_text("{}")
    result = runner.invoke(app, ["ope", *[a.format(d=tmp_path) for a in args]])
    line = _one_line_error(result)
    assert line.startswith("error: ") and words in line
