"""The signal registry and point-in-time correctness, on a small world with no Ray."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipelines.candidates import reasons
from pipelines.context import compute, docs, load
from pipelines.context.arrays import peer_sums
from pipelines.context.registry import GROUPS, SIGNALS_BY_NAME
from pipelines.storage.root import Root
from tests.worlds import write_world

DOCS = Path(__file__).resolve().parents[2] / "docs" / "signals.md"
AS_OF = 20  # day index of the cut


def test_registry_covers_every_group_and_window():
    assert len(SIGNALS_BY_NAME) >= 40
    groups = {s.group for s in SIGNALS_BY_NAME.values()}
    assert groups == set(GROUPS)
    names = set(SIGNALS_BY_NAME)
    assert {"spend_7d", "spend_28d", "ctr_trend_14d", "budget_limited_days_7d",
            "ctr_vs_vertical_7d", "adoption_rate_budget_90d", "last_dismiss_reason"} <= names
    for s in SIGNALS_BY_NAME.values():
        assert s.description and s.kind in ("float", "int", "bool", "category")


def test_signal_docs_are_current():
    expected = docs.markdown() + "\n" + reasons.markdown()  # the signals, then their reasons
    assert DOCS.read_text() == expected, "docs/signals.md is stale: run `make docs`"


def test_sentences_read_like_a_person_wrote_them():
    assert SIGNALS_BY_NAME["budget_limited_days_7d"].explain(6.0) == "budget-limited on 6 of the last 7 days"
    assert SIGNALS_BY_NAME["ctr_trend_14d"].explain(-0.35) == \
        "CTR down 35 % over 14 days: creatives are fatiguing"
    assert SIGNALS_BY_NAME["conversions_30d"].explain(float("nan")).endswith("unknown")
    samples = {"float": 0.5, "int": 3, "bool": True, "category": "search"}
    for s in SIGNALS_BY_NAME.values():
        assert isinstance(s.explain(samples[s.kind]), str)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_world(str(tmp_path_factory.mktemp("ctx")), advertisers=120, days=30)


def _tables(root: Root):
    t = load.read_advertisers(root, lo=0, hi=10**9)
    t["market"] = load.dataset(root, "market").to_table().to_pandas()
    return t


def _signals_as_of(t, start, days, day):
    peers = peer_sums(t["daily_performance"], t["campaigns"], t["advertisers"], start, days)
    ctx = load.context_arrays(t, t["market"], peers, start, days)
    n = len(ctx.campaign_id)
    q = compute.query(ctx, ctx.advertiser_id[ctx.camp_adv], ctx.campaign_id, np.full(n, day))
    return compute.compute(ctx, q).to_pandas()


def test_changing_data_after_t_changes_no_signal_as_of_t(world):
    start, days = load.time_range(world)
    t = _tables(world)
    before = _signals_as_of(t, start, days, AS_OF)
    cut = pd.Timestamp(start) + pd.Timedelta(days=AS_OF)
    cut_utc = cut.tz_localize("UTC")
    changed = {k: v.copy() for k, v in t.items()}
    perf = changed["daily_performance"]
    late = pd.to_datetime(perf.date) >= cut
    for col in ("spend", "impressions", "clicks", "conversions", "conversion_value"):
        perf.loc[late, col] = perf.loc[late, col] * 7 + 3
    perf.loc[late, "budget_limited"] = ~perf.loc[late, "budget_limited"]
    perf.loc[late, "creative_age_days"] = 0
    changed["daily_performance"] = perf[~(late & (perf.campaign_id % 2 == 0))]
    imp = changed["impressions"]
    late_shown = imp.shown_at >= cut_utc
    imp.loc[late_shown, "outcome"] = "dismissed"
    imp.loc[late_shown, "dismiss_reason"] = "other"
    imp.loc[late_shown, "responded_at"] = imp.loc[late_shown, "shown_at"]
    changed["impressions"] = imp
    wf = changed["workflow_events"]
    extra = wf.head(50).copy()
    extra["event_time"] = cut_utc + pd.Timedelta(hours=1)
    extra["event_id"] += 10**12
    changed["workflow_events"] = pd.concat([wf[wf.event_time < cut_utc], extra])
    mk = changed["market"]
    mk.loc[pd.to_datetime(mk.date) >= cut, ["demand_index", "cpm_index", "cpc_index"]] *= 3
    after = _signals_as_of(changed, start, days, AS_OF)
    pd.testing.assert_frame_equal(before, after)
    # and the cut is not vacuous: the same change moves signals as of the last day
    assert not _signals_as_of(t, start, days, days).equals(_signals_as_of(changed, start, days, days))


def test_signal_columns_have_their_registered_types(world):
    start, days = load.time_range(world)
    t = _tables(world)
    peers = peer_sums(t["daily_performance"], t["campaigns"], t["advertisers"], start, days)
    ctx = load.context_arrays(t, t["market"], peers, start, days)
    q = compute.query(ctx, ctx.advertiser_id[:5], [-1] * 5, [days] * 5)
    table = compute.compute(ctx, q, level="advertiser")
    kinds = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "category": pa.string()}
    for f in table.schema:
        assert f.type == kinds[SIGNALS_BY_NAME[f.name].kind], f.name
    assert table.column("vertical").null_count == 0
