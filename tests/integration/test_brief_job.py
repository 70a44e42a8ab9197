"""`guidance brief --all` on the served world: a brief for every advertiser, published whole
beside the snapshot; one advertiser's online brief equals its rows of the offline table; bad
input gets one line."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.dataset as pads
import pytest
from typer.testing import CliRunner

from cli.main import app
from pipelines.brief.core import BriefConfig, render, words
from pipelines.brief.job import BriefJobConfig, brief_for, read_brief, write_briefs
from pipelines.context import load
from pipelines.errors import StorageError
from pipelines.storage.root import Root

runner = CliRunner()


@pytest.fixture(scope="module")
def briefed(served_root):
    """The served world's briefs, written once by the command (as people run it)."""
    result = runner.invoke(app, ["brief", "--all", "--root", served_root, "--json"])
    assert result.exit_code == 0, result.output
    return Root(served_root), json.loads(result.stdout)


def _table(root: Root, folder: str):
    return pads.dataset(root.join("briefs", "s1", folder), filesystem=root.fs,
                        format="parquet").to_table().to_pandas()


def test_every_advertiser_has_a_brief_published_whole(briefed):
    root, manifest = briefed
    ids = np.sort(load.dataset(root, "advertisers").to_table(columns=["advertiser_id"])
                  .column("advertiser_id").to_numpy())
    accounts = _table(root, "accounts")
    assert len(ids) == 300 and manifest["rows"]["advertisers"] == 300
    np.testing.assert_array_equal(np.sort(accounts.advertiser_id.to_numpy()), ids)
    items, base = _table(root, "items"), _table(root, "baseline")
    assert manifest["rows"]["items"] == len(items) > 0
    assert manifest["snapshot"] == "s1" and manifest["as_of"] == accounts.as_of.iloc[0].isoformat()
    cfg = BriefConfig()
    per = items.groupby("advertiser_id")
    # ranks 1..n, one row per signal, the word budget held, the account row agreeing
    assert all(list(g["rank"]) == list(range(1, len(g) + 1)) for _, g in per)
    assert all(g.signal.is_unique for _, g in per)
    assert per.line.apply(lambda s: sum(words(x) for x in s)).max() <= cfg.words
    assert per.size().max() <= cfg.max_items
    n = per.size().reindex(accounts.advertiser_id, fill_value=0).to_numpy()
    np.testing.assert_array_equal(n, accounts["items"].to_numpy())
    assert (items.unusualness >= cfg.min_unusualness).all()
    assert np.isfinite(items.value).all()
    camp = items.level == "campaign"
    assert items.campaign_id[camp].notna().all() and items.campaign_id[~camp].isna().all()
    assert items.line[camp].str.startswith("Campaign ").all()
    tied = items.bears_on.apply(len) > 0
    assert np.allclose(items.score[tied], 2 * items.unusualness[tied])
    assert np.allclose(items.score[~tied], items.unusualness[~tied])
    # the baseline: at most five per account, ranked by unusualness alone
    assert base.groupby("advertiser_id").size().max() <= cfg.baseline_items
    assert np.allclose(base.score, base.unusualness)
    # published whole: nothing left in staging, and the snapshot itself untouched
    staged = root.fs.get_file_info(root.join("_staging"))
    if staged.type.name == "Directory":
        from pyarrow.fs import FileSelector

        left = [i.path for i in root.fs.get_file_info(FileSelector(root.join("_staging")))]
        assert not [p for p in left if "briefs" in p]
    assert not root.exists("snapshots/s1/briefs")
    assert root.exists("briefs/s1/reference.parquet") and root.exists("briefs/s1/manifest.json")


def test_online_brief_equals_its_offline_rows(briefed):
    root, _ = briefed
    accounts = _table(root, "accounts").sort_values("advertiser_id")
    items = _table(root, "items")
    multi = items[items.level == "campaign"].groupby("advertiser_id").campaign_id.nunique()
    chosen = {int(accounts.advertiser_id.iloc[0]), int(accounts.advertiser_id.iloc[-1]),
              int(multi.idxmax()), *accounts.advertiser_id.sample(3, random_state=1).tolist()}
    for adv in sorted(chosen):
        online = brief_for(root, adv, version="s1")
        offline = read_brief(root, adv, "s1")
        assert online.to_dict() == offline.to_dict(), adv
        assert render(online) == accounts.set_index("advertiser_id").text[adv]
        assert (brief_for(root, adv, version="s1", baseline=True).to_dict()
                == read_brief(root, adv, "s1", kind="extreme").to_dict())
    # the command prints the same brief
    adv = int(multi.idxmax())
    result = runner.invoke(app, ["brief", "--advertiser", str(adv), "--root", root.uri,
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == read_brief(root, adv, "s1").to_dict()


def test_a_second_run_needs_overwrite(briefed):
    root, manifest = briefed
    before = _table(root, "accounts")
    with pytest.raises(StorageError, match="already exists; pass --overwrite"):
        write_briefs(BriefJobConfig(root=root.uri, snapshot="s1"), show_progress=False)
    again = write_briefs(BriefJobConfig(root=root.uri, snapshot="s1", overwrite=True,
                                        advertisers_per_block=120), show_progress=False)
    assert again["rows"] == manifest["rows"]  # cut into other ranges: the same briefs
    after = _table(root, "accounts").sort_values("advertiser_id").reset_index(drop=True)
    assert after.drop(columns="as_of").equals(
        before.sort_values("advertiser_id").reset_index(drop=True).drop(columns="as_of"))


@pytest.mark.parametrize("args, message", [
    (["--advertiser", "987654321"], "advertiser 987654321 not found"),
    (["--advertiser", "1", "--as-of", "2001-01-01"], "as-of date 2001-01-01 is outside the "
                                                      "history"),
    (["--advertiser", "1", "--snapshot", "nope"], "nope"),
    (["--all"], "already exists; pass --overwrite"),
])
def test_bad_input_gets_one_line(briefed, args, message):
    root, _ = briefed
    result = runner.invoke(app, ["brief", "--root", root.uri, *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
