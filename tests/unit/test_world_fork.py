"""What experiments rely on in the world loop: a longer world keeps the history's days, a block
forked mid-way lives on exactly as the unforked one, advertisers do not interact (so an A/B
arm can live its own advertisers), the platform's log reads back from the impressions, and a
policy sees only what the platform knew at the start of the day."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipelines.policy.config import PolicyConfig
from pipelines.world.platform_log import PlatformLog, epoch_ms
from pipelines.world.policies import LoggingPolicy, RandomPolicy
from pipelines.world.simulate import BlockSimulation, world_spec

START = dt.date(2025, 10, 1)
DAYS = 30
IDS = np.arange(40)


def _tables(sim: BlockSimulation) -> dict[str, pa.Table]:
    return sim.recorder.output(sim.block, sim.spec).tables


def _assert_same(a: dict[str, pa.Table], b: dict[str, pa.Table], skip=("advertisers",)):
    assert a.keys() == b.keys()
    for name in a:
        if name not in skip:
            assert a[name].equals(b[name]), name


@pytest.fixture(scope="module")
def history():
    sim = BlockSimulation(world_spec(11, START, DAYS, signup_share=0.3), IDS, LoggingPolicy())
    sim.live_until(DAYS)
    return sim


def test_a_longer_world_keeps_the_history_days(history):
    longer = world_spec(11, START, DAYS + 25, signup_share=0.3, signup_days=DAYS)
    sim = BlockSimulation(longer, IDS, LoggingPolicy())
    sim.live_until(DAYS)
    # the advertisers table states tenure at the world's end, and an adoption's impact is
    # measured once 14 days have passed within the world: both move with its length
    short, long_ = _tables(history), _tables(sim)
    measured = ["outcome_conversions_delta", "outcome_cost_delta", "outcome_measured_at"]
    _assert_same({k: v.drop_columns(measured) if k == "impressions" else v
                  for k, v in short.items()},
                 {k: v.drop_columns(measured) if k == "impressions" else v
                  for k, v in long_.items()})
    a, b = short["impressions"].to_pandas(), long_["impressions"].to_pandas()
    known = a.outcome_measured_at.notna()
    assert known.sum() > 10 and (b.outcome_measured_at.notna().sum() > known.sum())
    pd.testing.assert_frame_equal(a.loc[known, measured], b.loc[known, measured])
    assert np.array_equal(longer.market.demand[:, :, :DAYS], history.spec.market.demand)


def test_a_fork_lives_on_as_the_unforked_block():
    spec = world_spec(11, START, DAYS)
    whole = BlockSimulation(spec, IDS, LoggingPolicy())
    whole.live_until(DAYS)
    half = BlockSimulation(spec, IDS, LoggingPolicy())
    half.live_until(DAYS // 2)
    fork = half.fork(LoggingPolicy())
    fork.live_until(DAYS)
    _assert_same(_tables(whole), _tables(fork), skip=())
    # the fork is a copy: the block it came from has not moved
    assert half.day == DAYS // 2 and fork.day == DAYS


def test_forks_under_other_policies_share_the_start_and_then_differ():
    spec = world_spec(11, START, DAYS)
    base = BlockSimulation(spec, IDS, LoggingPolicy())
    base.live_until(DAYS // 2)
    n0 = len(base.recorder.rows("impressions")["impression_id"])
    a, b = base.fork(LoggingPolicy()), base.fork(RandomPolicy())
    a.live_until(DAYS)
    b.live_until(DAYS)
    ia, ib = a.recorder.rows("impressions"), b.recorder.rows("impressions")
    assert np.array_equal(ia["item_id"][:n0], ib["item_id"][:n0])
    assert not np.array_equal(ia["item_id"][n0:n0 + 50], ib["item_id"][n0:n0 + 50])
    # the same advertisers visit the same surfaces on the same days (common random numbers)
    key = lambda r: set(zip(r["advertiser_id"][n0:].tolist(),  # noqa: E731
                            r["slate_id"][n0:].tolist()))
    assert key(ia) == key(ib)


def test_advertisers_do_not_interact(history):
    """A block of some of the advertisers gives each of them the rows the whole block gave:
    what lets an A/B arm run only its own advertisers."""
    some = IDS[IDS % 3 == 1]
    part = BlockSimulation(history.spec, some, LoggingPolicy())
    part.live_until(DAYS)
    mine, whole = _tables(part), _tables(history)
    for name, key in (("impressions", "advertiser_id"), ("daily_performance", "advertiser_id"),
                      ("workflow_events", "advertiser_id")):
        w = whole[name].to_pandas()
        w = w[w[key].isin(some)].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[name].to_pandas(), w, check_like=False)


def test_the_platform_log_reads_back_from_the_impressions(history):
    cfg = PolicyConfig()
    now = int(epoch_ms(history.spec.timestamp(DAYS, 0)))
    live = PlatformLog(cfg)
    imp = history.recorder.rows("impressions")
    live.add_impressions(imp["campaign_id"], imp["item_id"], imp["surface"],
                         epoch_ms(imp["shown_at"]))
    replayed = PlatformLog.replay(cfg, imp).history(now)
    answered = np.isin(imp["outcome"], ["adopted", "dismissed", "snoozed"])
    assert len(replayed.feedback_type) == (answered & (epoch_ms(imp["responded_at"]) <= now)).sum()
    assert set(replayed.feedback_type) <= {"applied", "dismissed", "snoozed"}
    assert np.array_equal(np.sort(replayed.impression_served_at_ms),
                          np.sort(live.history(now).impression_served_at_ms))


def test_a_policy_sees_only_what_the_platform_knew_that_morning(history):
    day = DAYS - 5
    t = history.recorder.platform_tables(history.block, history.spec, day)
    midnight = pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=day)
    imp = t["impressions"]
    assert (imp.responded_at.dropna() < midnight).all()
    assert (imp.outcome_measured_at.dropna() < midnight).all()
    late = imp.shown_at < midnight
    full = _tables(history)["impressions"].to_pandas()
    answered_later = full.responded_at >= midnight
    assert (imp.outcome[answered_later.to_numpy()[:len(imp)]] == "ignored").all()
    assert late.any() and {"advertisers", "campaigns", "daily_performance", "workflow_events",
                           "catalog"} <= t.keys()
