"""The feedback log: records validated at the boundary, idempotent appends, conflicts, history,
export to partitioned Parquet, concurrency; every behaviour on both stores. What is particular
to the ranker's inputs is in test_ranker_input_log.py."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pyarrow.fs as pafs
import pytest

from pipelines.errors import ConfigError, DataError, StorageError
from pipelines.feedback import FeedbackConflict, FeedbackEvent, Impression, RankerInput, open_log
from pipelines.feedback.delta_log import DeltaFeedbackLog
from pipelines.feedback.log import default_log_uri
from pipelines.feedback.records import encode_row
from pipelines.feedback.sqlite_log import SqliteFeedbackLog
from pipelines.storage.root import Root
from tests.unit.conftest import STORES, uri_of

T0 = 1_717_200_000_000  # 2024-06-01 00:00 UTC
HOUR = 3_600_000
DAY = 24 * HOUR


def impression(rec: str = "r1", **over) -> Impression:
    fields = dict(recommendation_id=rec, slate_id="s1", advertiser_id=7, campaign_id=70,
                  item_id=3, action_type="raise_budget", surface="dashboard", position=1,
                  served_at_ms=T0, policy="plackett_luce", model_version="m-1", score=1.25,
                  propensity=0.4, slate_propensity=0.05, p_adopt=0.3, p_dismiss=0.1,
                  impact_expected=120.0, impact_low=40.0, impact_high=260.0, degraded=False)
    return Impression(**{**fields, **over})


def event(eid: str = "e1", **over) -> FeedbackEvent:
    fields = dict(event_id=eid, recommendation_id="r1", advertiser_id=7, campaign_id=70,
                  item_id=3, action_type="raise_budget", type="clicked", dismiss_reason=None,
                  snooze_days=None, occurred_at_ms=T0 + 1000)
    return FeedbackEvent(**{**fields, **over})


def slate(slate_id: str, advertiser: int, at_ms: int, n: int = 3) -> list[Impression]:
    return [impression(f"{slate_id}-{k}", slate_id=slate_id, advertiser_id=advertiser,
                       position=k + 1, item_id=k, served_at_ms=at_ms) for k in range(n)]


def ranker_input(imp: Impression, features: int = 5, codes: int = 2, **over) -> RankerInput:
    """What the ranker saw and said for `imp`: a row of `features` floats and `codes` codes
    that differ from item to item."""
    k = imp.item_id
    numeric, categorical = encode_row(np.linspace(-1, 1, features, dtype=np.float32) + k,
                                      np.arange(codes) + k)
    fields = dict(recommendation_id=imp.recommendation_id, advertiser_id=imp.advertiser_id,
                  campaign_id=imp.campaign_id, item_id=imp.item_id,
                  action_type=imp.action_type, surface=imp.surface,
                  served_at_ms=imp.served_at_ms, model_version=imp.model_version,
                  numeric=numeric, categorical=categorical, p_adopt=imp.p_adopt,
                  p_dismiss=imp.p_dismiss, impact_low=imp.impact_low,
                  impact_expected=imp.impact_expected, impact_high=imp.impact_high)
    return RankerInput(**{**fields, **over})




# -- records -----------------------------------------------------------------------------------

BAD_RECORDS = [
    (impression, {"recommendation_id": ""}, "Impression.recommendation_id must be a non-empty"),
    (impression, {"slate_id": None}, "Impression.slate_id must be a non-empty string"),
    (impression, {"advertiser_id": -1}, "Impression.advertiser_id must be an integer >= 0"),
    (impression, {"item_id": 2.0}, "Impression.item_id must be an integer >= 0"),
    (impression, {"campaign_id": True}, "Impression.campaign_id must be an integer >= 0"),
    (impression, {"position": 0}, "Impression.position must be an integer >= 1"),
    (impression, {"served_at_ms": "2024-06-01"}, "Impression.served_at_ms must be an integer"),
    (impression, {"score": float("nan")}, "Impression.score must be a finite number"),
    (impression, {"propensity": 0.0}, "Impression.propensity must be a number in (0, 1]"),
    (impression, {"slate_propensity": 1.5}, "Impression.slate_propensity must be a number in (0"),
    (impression, {"p_adopt": -0.1}, "Impression.p_adopt must be a number in [0, 1]"),
    (impression, {"p_dismiss": "0.2"}, "Impression.p_dismiss must be a number in [0, 1]"),
    (impression, {"impact_low": 130.0}, "impact_low <= impact_expected <= impact_high"),
    (impression, {"impact_high": float("inf")}, "Impression.impact_high must be a finite number"),
    (impression, {"degraded": 1}, "Impression.degraded must be a bool"),
    (event, {"event_id": ""}, "FeedbackEvent.event_id must be a non-empty string"),
    (event, {"occurred_at_ms": -5}, "FeedbackEvent.occurred_at_ms must be an integer >= 0"),
    (event, {"type": "liked"}, "FeedbackEvent.type must be one of shown, clicked, applied"),
    (event, {"type": "dismissed"}, "FeedbackEvent.dismiss_reason must be one of not_relevant"),
    (event, {"type": "dismissed", "dismiss_reason": "boring"},
     "FeedbackEvent.dismiss_reason must be one of"),
    (event, {"dismiss_reason": "other"}, "dismiss_reason must be None unless type is dismissed"),
    (event, {"type": "snoozed"}, "FeedbackEvent.snooze_days must be an integer in [1, 365]"),
    (event, {"type": "snoozed", "snooze_days": 0}, "snooze_days must be an integer in [1, 365]"),
    (event, {"snooze_days": 7}, "snooze_days must be None unless type is snoozed"),
]


@pytest.mark.parametrize("make, over, fragment", BAD_RECORDS)
def test_bad_record_is_refused(make, over, fragment):
    with pytest.raises(DataError) as raised:
        make(**over)
    assert type(raised.value) is DataError
    assert fragment in str(raised.value)


def test_good_records_are_normalised():
    row = impression(advertiser_id=np.int64(7), impact_low=40, degraded=np.bool_(True))
    assert type(row.advertiser_id) is int and type(row.impact_low) is float
    assert row.degraded is True
    assert event(type="dismissed", dismiss_reason="too_expensive").dismiss_reason == "too_expensive"
    assert event(type="snoozed", snooze_days=14).snooze_days == 14


BAD_SLATES = [
    ([], "a slate must be a non-empty list of Impression"),
    ([event()], "a slate holds Impression rows, got FeedbackEvent"),
    ([impression("a"), impression("b", slate_id="s2", position=2)],
     "must share one slate_id"),
    ([impression("a"), impression("b", advertiser_id=8, position=2)],
     "must share one advertiser_id"),
    ([impression("a"), impression("a", position=2)], "distinct recommendation_ids"),
    ([impression("a"), impression("b")], "distinct positions, repeated: [1]"),
]


@pytest.mark.parametrize("rows, fragment", BAD_SLATES)
def test_bad_slate_is_refused(log, rows, fragment):
    with pytest.raises(DataError) as raised:
        log.append_slate(rows)
    assert fragment in str(raised.value)
    assert log.history(7, 0) == ([], [])


def test_append_feedback_refuses_an_impression(log):
    with pytest.raises(DataError, match="append_feedback takes a FeedbackEvent"):
        log.append_feedback(impression())


# -- idempotency and conflicts ------------------------------------------------------------------

def test_replays_are_no_ops(log):
    rows = slate("s1", 7, T0)
    log.append_slate(rows)
    log.append_slate(rows)
    log.append_slate(rows[1:])  # a partial replay too
    assert log.append_feedback(event("e1")) is True
    assert log.append_feedback(event("e1")) is False
    impressions, events = log.history(7, 0)
    assert impressions == rows
    assert events == [event("e1")]
    assert log.impression("s1-1") == rows[1]
    assert log.impression("nope") is None


def test_event_conflict_keeps_the_first(log):
    log.append_feedback(event("e1"))
    with pytest.raises(FeedbackConflict, match="event_id 'e1' is already logged"):
        log.append_feedback(event("e1", type="applied"))
    assert log.history(7, 0)[1] == [event("e1")]


def test_slate_conflict_writes_nothing_of_the_slate(log):
    rows = slate("s1", 7, T0, n=2)
    log.append_slate(rows)
    changed = [impression("s1-0", slate_id="s1", item_id=0, score=9.0),
               impression("s1-9", slate_id="s1", item_id=9, position=3)]
    with pytest.raises(FeedbackConflict, match="recommendation_id 's1-0'"):
        log.append_slate(changed)
    assert log.impression("s1-9") is None
    assert log.impression("s1-0") == rows[0]


def test_a_second_log_object_sees_the_first(store_uri):
    with open_log(store_uri) as first, open_log(store_uri) as second:
        first.append_slate(slate("s1", 7, T0))
        assert first.append_feedback(event("e1")) is True
        assert second.append_feedback(event("e1")) is False
        with pytest.raises(FeedbackConflict):
            second.append_feedback(event("e1", type="shown"))
        second.append_slate(slate("s1", 7, T0))
        assert len(second.history(7, 0)[0]) == 3


def test_reopened_log_keeps_everything(store_uri):
    with open_log(store_uri) as log:
        log.append_slate(slate("s1", 7, T0))
        log.append_feedback(event("e1"))
    with open_log(store_uri) as log:
        assert log.append_feedback(event("e1")) is False
        assert [len(x) for x in log.history(7, 0)] == [3, 1]


def test_closed_log_refuses_calls(log):
    log.close()
    with pytest.raises(StorageError, match="closed"):
        log.append_feedback(event())
    with pytest.raises(StorageError, match="closed"):
        log.history(7, 0)


# -- history ------------------------------------------------------------------------------------

def test_history_filters_advertiser_and_time(log):
    log.append_slate(slate("old", 7, T0 - 3 * DAY))
    log.append_slate(slate("new", 7, T0 + HOUR))
    log.append_slate(slate("other", 8, T0 + HOUR))
    for k, (adv, at) in enumerate([(7, T0 - DAY), (7, T0 + 2 * HOUR), (7, T0), (8, T0)]):
        log.append_feedback(event(f"e{k}", advertiser_id=adv, occurred_at_ms=at))
    impressions, events = log.history(7, T0)
    assert [r.recommendation_id for r in impressions] == ["new-0", "new-1", "new-2"]
    assert [e.event_id for e in events] == ["e2", "e1"]  # time order, boundary included
    assert log.history(9, 0) == ([], [])


# -- export -------------------------------------------------------------------------------------

def _files(root: Root) -> list[str]:
    base = root.join("feedback")
    return sorted(p[len(base) + 1:] for p in _walk(root, base))


def _walk(root: Root, base: str) -> list[str]:
    infos = root.fs.get_file_info(pafs.FileSelector(base, recursive=True))
    return [i.path for i in infos if i.type == pafs.FileType.File]


def test_export_layout_and_round_trip(log, tmp_path):
    a = slate("a", 7, T0 + HOUR)
    log.append_slate(a, [ranker_input(r) for r in a[:2]])
    log.append_slate(slate("b", 8, T0 + DAY + HOUR, n=2))
    log.append_feedback(event("e1", occurred_at_ms=T0 + 2 * HOUR))
    log.append_feedback(event("e2", type="dismissed", dismiss_reason="already_done",
                              occurred_at_ms=T0 + DAY + 2 * HOUR))
    root = Root(str(tmp_path / "root"))
    assert log.export(root) == {"impressions": 5, "events": 2, "ranker_inputs": 2}
    assert _files(root) == ["_PUBLISHED.json",  # the marker: the export stands whole
                            "events/date=2024-06-01/part-00000.parquet",
                            "events/date=2024-06-02/part-00000.parquet",
                            "impressions/date=2024-06-01/part-00000.parquet",
                            "impressions/date=2024-06-02/part-00000.parquet",
                            "ranker_inputs/date=2024-06-01/part-00000.parquet"]
    table = root.read_table("feedback/impressions")
    assert table.num_rows == 5
    assert sorted(table["recommendation_id"].to_pylist()) == ["a-0", "a-1", "a-2", "b-0", "b-1"]
    assert table.schema.field("degraded").type == Impression.SCHEMA.field("degraded").type
    events = root.read_table("feedback/events").sort_by("event_id")
    assert events["dismiss_reason"].to_pylist() == [None, "already_done"]
    inputs = root.read_table("feedback/ranker_inputs").select(RankerInput.SCHEMA.names)
    assert inputs.cast(RankerInput.SCHEMA).to_pylist() == [
        dataclasses.asdict(ranker_input(r)) for r in a[:2]]
    assert not _walk(root, root.join("_staging"))


def test_re_export_replaces(log, tmp_path):
    root = Root(str(tmp_path / "root"))
    log.append_slate(slate("a", 7, T0))
    assert log.export(root) == {"impressions": 3, "events": 0, "ranker_inputs": 0}
    b = slate("b", 7, T0 + 2 * DAY)
    log.append_slate(b, [ranker_input(b[0])])
    log.append_feedback(event("e1"))
    assert log.export(root) == {"impressions": 6, "events": 1, "ranker_inputs": 1}
    assert root.read_table("feedback/impressions").num_rows == 6
    assert "impressions/date=2024-06-03/part-00000.parquet" in _files(root)


def test_failed_export_leaves_the_previous_one(log, tmp_path, monkeypatch):
    root = Root(str(tmp_path / "root"))
    log.append_slate(slate("a", 7, T0))
    log.export(root)
    before = _files(root)
    log.append_slate(slate("b", 7, T0 + DAY))
    log.append_feedback(event("e1"))
    written, write = [], root.write_parquet

    def fail_on_second(table, path):
        written.append(path)
        if len(written) == 2:
            raise OSError("disk full")
        write(table, path)

    monkeypatch.setattr(root, "write_parquet", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        log.export(root)
    assert _files(root) == before
    assert root.read_table("feedback/impressions").num_rows == 3
    assert not _walk(root, root.join("_staging"))


def test_both_stores_export_the_same_tables(tmp_path):
    tables = {}
    for store in STORES:
        with open_log(uri_of(store, tmp_path)) as log:
            a = slate("a", 7, T0 + HOUR)
            log.append_slate(a, [ranker_input(r) for r in a])
            log.append_feedback(event("e1"))
            root = Root(str(tmp_path / f"root-{store}"))
            log.export(root)
            tables[store] = [root.read_table(f"feedback/{n}")
                             for n in ("impressions", "events", "ranker_inputs")]
    assert all(s.equals(d) for s, d in zip(tables["sqlite"], tables["delta"]))


# -- concurrency --------------------------------------------------------------------------------

def test_concurrent_appends_land_exactly_once(log, tmp_path):
    threads, per_thread, shared = 16, 40, 20
    results: list[list[bool]] = [[] for _ in range(threads)]

    def work(t: int) -> None:
        for k in range(per_thread):
            results[t].append(log.append_feedback(
                event(f"t{t}-{k}", advertiser_id=t, occurred_at_ms=T0 + k)))
            if k < shared:  # every thread also sends the same shared events (client retries)
                results[t].append(log.append_feedback(event(f"shared-{k}", occurred_at_ms=T0)))
        rows = slate(f"s{t}", t, T0)
        log.append_slate(rows, [ranker_input(r) for r in rows[:2]])

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert sum(sum(r) for r in results) == threads * per_thread + shared
    counts = log.export(Root(str(tmp_path / "root")))
    assert counts == {"impressions": threads * 3, "events": threads * per_thread + shared,
                      "ranker_inputs": threads * 2}
    events = Root(str(tmp_path / "root")).read_table("feedback/events")
    assert len(set(events["event_id"].to_pylist())) == events.num_rows


# -- opening ------------------------------------------------------------------------------------

def test_open_log_picks_the_store(tmp_path):
    for uri, cls in [(f"sqlite:///{tmp_path}/a.db", SqliteFeedbackLog),
                     (str(tmp_path / "b.db"), SqliteFeedbackLog),
                     (f"delta://{tmp_path}/c", DeltaFeedbackLog)]:
        with open_log(uri) as log:
            assert type(log) is cls


@pytest.mark.parametrize("uri", ["postgres://db/log", "log.txt", "delta://", "sqlite://x.db"])
def test_open_log_refuses_unknown_uris(uri):
    with pytest.raises(ConfigError, match="is not supported; use sqlite:///"):
        open_log(uri)


@pytest.mark.parametrize("kind", ["sqlite", "delta"])
def test_a_retry_stamped_later_is_a_duplicate(kind, tmp_path):
    uri = f"sqlite:///{tmp_path}/log.db" if kind == "sqlite" else f"delta://{tmp_path}/delta"
    with open_log(uri) as log:
        first = event("e-retry", occurred_at_ms=T0)
        assert log.append_feedback(first) is True
        assert log.append_feedback(dataclasses.replace(first, occurred_at_ms=T0 + 9_000)) is False


@pytest.mark.parametrize("store", STORES)
def test_an_export_never_replaces_the_folder_holding_the_live_log(store, tmp_path):
    """An export replaces <root>/feedback/ whole: a log kept inside it is refused, not deleted."""
    root = Root(str(tmp_path))
    uri = (f"sqlite:///{tmp_path}/feedback/log.db" if store == "sqlite"
           else f"delta://{tmp_path}/feedback/delta")
    with open_log(uri) as inside:
        inside.append_slate(slate("a", 7, T0 + HOUR))
        with pytest.raises(StorageError, match="lies inside .*feedback.*logs/feedback.db"):
            inside.export(root)
        assert inside.window(Impression, 0, 2 * T0).num_rows == 3
    assert default_log_uri(root) == f"sqlite:///{tmp_path}/logs/feedback.db"
    with open_log(default_log_uri(root)) as beside:
        beside.append_slate(slate("b", 7, T0 + HOUR))
        assert beside.export(root)["impressions"] == 3
        assert beside.window(Impression, 0, 2 * T0).num_rows == 3
