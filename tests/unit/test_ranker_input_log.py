"""What the ranker saw and said, logged beside the slate: the RankerInput record and its byte
rows, appends together with the impressions (idempotent, conflicts write nothing, inputs must
belong to the slate), reads of a time window, and the order of Delta's two commits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from pipelines.errors import DataError, StorageError
from pipelines.feedback import FeedbackConflict, FeedbackEvent, Impression, RankerInput, open_log
from pipelines.feedback import delta_log
from pipelines.feedback.records import decode, encode_row, from_table
from tests.unit.test_feedback_log import (
    DAY, HOUR, T0, event, impression, ranker_input, slate,
)


def served(slate_id: str, at_ms: int, n: int = 3, advertiser: int = 7
           ) -> tuple[list[Impression], list[RankerInput]]:
    rows = slate(slate_id, advertiser, at_ms, n)
    return rows, [ranker_input(r) for r in rows]


def _all(log, cls) -> list:
    return from_table(cls, log.window(cls, 0, 2**62))


# -- the record and its rows ----------------------------------------------------------------

ONE = impression()
BAD_INPUTS = [
    ({"numeric": b"\x00" * 6}, "RankerInput.numeric must be bytes holding whole <f4 values "
                               "(4 bytes each), got 6 bytes"),
    ({"numeric": np.zeros(3, np.float32)}, "RankerInput.numeric must be bytes holding whole"),
    ({"categorical": "1,2"}, "RankerInput.categorical must be bytes holding whole <i4 values"),
    ({"numeric": np.array([0.5, np.nan], "<f4").tobytes()},
     "RankerInput.numeric must hold finite values"),
    ({"categorical": np.array([3, -1], "<i4").tobytes()},
     "RankerInput.categorical must hold codes >= 0"),
    ({"recommendation_id": ""}, "RankerInput.recommendation_id must be a non-empty string"),
    ({"served_at_ms": -1}, "RankerInput.served_at_ms must be an integer >= 0"),
    ({"p_adopt": 1.5}, "RankerInput.p_adopt must be a number in [0, 1]"),
    ({"p_dismiss": float("nan")}, "RankerInput.p_dismiss must be a number in [0, 1]"),
    ({"impact_high": 100.0}, "RankerInput.impact_low <= impact_expected <= impact_high"),
]


@pytest.mark.parametrize("over, fragment", BAD_INPUTS)
def test_bad_ranker_input_is_refused(over, fragment):
    with pytest.raises(DataError) as raised:
        ranker_input(ONE, **over)
    assert fragment in str(raised.value)


def test_encode_row_stores_little_endian_float32_and_int32():
    numeric, categorical = encode_row(np.array([1.5, -2.0]), np.array([3, 70000], np.int64))
    assert numeric == np.array([1.5, -2.0], "<f4").tobytes() and len(numeric) == 8
    assert categorical == np.array([3, 70000], "<i4").tobytes() and len(categorical) == 8


@pytest.mark.parametrize("numeric, categorical, fragment", [
    (np.zeros((2, 3)), np.zeros(2, int), "encode_row takes one row"),
    (np.zeros(3), np.array([1.0, 2.0]), "categorical codes must be integers, got float64"),
    (np.zeros(3), np.array([1, -2]), "categorical codes must lie in [0, 2**31), got -2..1"),
    (np.zeros(3), np.array([2**31]), "categorical codes must lie in [0, 2**31)"),
])
def test_encode_row_refuses(numeric, categorical, fragment):
    with pytest.raises(DataError) as raised:
        encode_row(numeric, categorical)
    assert fragment in str(raised.value)


def _table(rows: list[RankerInput]) -> pa.Table:
    return pa.Table.from_pylist([dataclasses.asdict(r) for r in rows], schema=RankerInput.SCHEMA)


def test_decode_gives_the_encoded_rows_back():
    rows = [ranker_input(r, features=4, codes=3) for r in slate("s", 7, T0, n=5)]
    two_chunks = pa.concat_tables([_table(rows[:2]), _table(rows[2:])])
    for table, want in [(two_chunks, rows), (two_chunks.slice(1, 3), rows[1:4])]:
        numeric, categorical = decode(table)
        assert numeric.dtype == np.float32 and numeric.shape == (len(want), 4)
        assert categorical.dtype == np.int32 and categorical.shape == (len(want), 3)
        np.testing.assert_array_equal(
            numeric, [np.linspace(-1, 1, 4, dtype=np.float32) + r.item_id for r in want])
        np.testing.assert_array_equal(categorical, [np.arange(3) + r.item_id for r in want])
    numeric, categorical = decode(_table([]))
    assert numeric.shape == (0, 0) and categorical.shape == (0, 0)


@pytest.mark.parametrize("rows, fragment", [
    ([ranker_input(ONE, features=4), ranker_input(impression("r2"), features=5)],
     "RankerInput.numeric rows must hold the same whole number of <f4 values: row 0 has 16 "
     "bytes, row 1 20"),
    ([ranker_input(ONE, codes=2), ranker_input(impression("r2"), codes=1)],
     "RankerInput.categorical rows must hold the same whole number"),
])
def test_decode_refuses_rows_of_unequal_length(rows, fragment):
    with pytest.raises(DataError) as raised:
        decode(_table(rows))
    assert fragment in str(raised.value)


def test_decode_refuses_a_table_that_is_not_ranker_inputs():
    with pytest.raises(DataError, match="decode needs a 'numeric' column"):
        decode(pa.table({"categorical": pa.array([b""], pa.binary())}))
    with pytest.raises(DataError, match="rows must hold the same whole number of <f4 values"):
        decode(pa.table({"numeric": pa.array([b"\x00" * 3], pa.binary()),
                         "categorical": pa.array([b""], pa.binary())}))
    with pytest.raises(DataError, match="RankerInput.numeric has 1 null rows"):
        decode(pa.table({"numeric": pa.array([None], pa.binary()),
                         "categorical": pa.array([b""], pa.binary())}))


# -- appends -----------------------------------------------------------------------------------

def test_inputs_round_trip_through_window(log):
    early, early_in = served("a", T0)
    late, late_in = served("b", T0 + DAY, n=2)
    log.append_slate(late, late_in)
    log.append_slate(early, early_in[1:])  # an input for some items only
    log.append_feedback(event("e1", occurred_at_ms=T0 + HOUR))
    table = log.window(RankerInput, T0, T0 + DAY + 1)
    assert table.schema == RankerInput.SCHEMA
    assert from_table(RankerInput, table) == early_in[1:] + late_in  # time, then key
    numeric, _ = decode(table)
    np.testing.assert_array_equal(numeric[:, 0], [-1 + r.item_id for r in early_in[1:] + late_in])
    # [since, until): the first millisecond in, the last out
    assert from_table(RankerInput, log.window(RankerInput, T0 + 1, T0 + DAY)) == []
    assert from_table(RankerInput, log.window(RankerInput, T0, T0 + 1)) == early_in[1:]
    assert from_table(Impression, log.window(Impression, T0, T0 + DAY)) == early
    assert from_table(FeedbackEvent, log.window(FeedbackEvent, T0, T0 + DAY)) == [
        event("e1", occurred_at_ms=T0 + HOUR)]
    empty = log.window(Impression, T0 + 2 * DAY, T0 + 3 * DAY)
    assert empty.num_rows == 0 and empty.schema == Impression.SCHEMA


def test_newest_ms_is_the_latest_time_of_a_record_class(log):
    assert [log.newest_ms(cls) for cls in (Impression, FeedbackEvent, RankerInput)] == [None] * 3
    rows, inputs = served("a", T0 + DAY)
    log.append_slate(rows, inputs[:1])
    log.append_slate(*served("b", T0))
    log.append_feedback(event("e1", occurred_at_ms=T0 + 5))
    assert log.newest_ms(Impression) == T0 + DAY and log.newest_ms(RankerInput) == T0 + DAY
    assert log.newest_ms(FeedbackEvent) == T0 + 5
    with pytest.raises(DataError, match="the log holds Impression, FeedbackEvent, RankerInput"):
        log.newest_ms(str)


def test_replays_are_no_ops_and_a_later_replay_may_add_inputs(log):
    rows, inputs = served("a", T0)
    log.append_slate(rows, inputs[:1])
    log.append_slate(rows, inputs[:1])
    log.append_slate(rows[1:], inputs[1:2])  # a partial replay bringing another item's input
    log.append_slate(rows, inputs)
    assert _all(log, Impression) == rows
    assert _all(log, RankerInput) == inputs


@pytest.mark.parametrize("change", ["input", "impression"])
def test_a_conflict_writes_nothing_of_the_slate(log, change):
    rows, inputs = served("a", T0, n=2)
    log.append_slate(rows, inputs[:1])
    new = impression("a-9", slate_id="a", item_id=9, position=3)
    changed_rows, changed_inputs = rows + [new], [*inputs, ranker_input(new)]
    if change == "input":  # the same item's input, other numbers
        changed_inputs[0] = ranker_input(rows[0], p_adopt=0.9)
    else:
        changed_rows[1] = dataclasses.replace(rows[1], score=9.0)
    with pytest.raises(FeedbackConflict, match="recommendation_id 'a-[01]' is already logged"):
        log.append_slate(changed_rows, changed_inputs)
    assert _all(log, Impression) == rows
    assert _all(log, RankerInput) == inputs[:1]


def test_a_second_log_object_sees_the_inputs_of_the_first(store_uri):
    rows, inputs = served("a", T0)
    with open_log(store_uri) as first, open_log(store_uri) as second:
        first.append_slate(rows, inputs)
        second.append_slate(rows, inputs)  # a retry through another process: a no-op
        with pytest.raises(FeedbackConflict):
            second.append_slate(rows, [ranker_input(rows[0], features=6)])
        assert _all(second, RankerInput) == inputs
    with open_log(store_uri) as reopened:
        assert _all(reopened, RankerInput) == inputs


OTHER = impression("x-0", slate_id="x", advertiser_id=8)
STRANGERS = [
    ([ranker_input(impression("zz"))], "ranker inputs must belong to the slate's impressions; "
                                       "recommendation_ids not in the slate: ['zz']"),
    ([ranker_input(impression("a-0", advertiser_id=8))],
     "ranker inputs must belong to the slate's advertiser 7, got advertiser_ids [8]"),
    ([ranker_input(impression("a-0")), ranker_input(impression("a-0"))],
     "need distinct recommendation_ids, repeated: ['a-0']"),
    ([impression("a-0")], "a slate's ranker inputs are RankerInput rows, got Impression"),
    (ranker_input(impression("a-0")), "must be a list of RankerInput"),
]


@pytest.mark.parametrize("inputs, fragment", STRANGERS)
def test_inputs_that_do_not_belong_to_the_slate_are_refused(log, inputs, fragment):
    rows = slate("a", 7, T0)
    with pytest.raises(DataError) as raised:
        log.append_slate(rows, inputs)
    assert fragment in str(raised.value)
    assert _all(log, Impression) == [] and _all(log, RankerInput) == []


@pytest.mark.parametrize("args, fragment", [
    ((Impression, T0 + 1, T0), "until_ms must be >= since_ms"),
    ((RankerInput, float(T0), T0 + 1), "since_ms must be an integer (UTC epoch ms)"),
    ((RankerInput, T0, True), "until_ms must be an integer"),
    ((dict, 0, 1), "the log holds Impression, FeedbackEvent, RankerInput; got <class 'dict'>"),
])
def test_bad_windows_are_refused(log, args, fragment):
    with pytest.raises(DataError) as raised:
        log.window(*args)
    assert fragment in str(raised.value)


def test_delta_commits_the_inputs_before_the_impressions(tmp_path, monkeypatch):
    """Delta has no transaction across tables: when the impressions' commit fails the inputs
    stand alone until the slate is retried, never the other way round."""
    rows, inputs = served("a", T0)
    write = delta_log.write_deltalake
    tables = []

    def impressions_fail(table, data, **kw):
        tables.append(table.table_uri.rstrip("/").rsplit("/", 1)[-1])
        if tables[-1] == "impressions":
            raise OSError("the store went away")
        return write(table, data, **kw)

    with open_log(f"delta://{tmp_path}/delta") as log:
        monkeypatch.setattr(delta_log, "write_deltalake", impressions_fail)
        with pytest.raises(StorageError, match="impressions: commit failed: the store went away"):
            log.append_slate(rows, inputs)
        assert tables == ["ranker_inputs", "impressions"]
        assert _all(log, RankerInput) == inputs and _all(log, Impression) == []
        monkeypatch.setattr(delta_log, "write_deltalake", write)
        log.append_slate(rows, inputs)  # the retry
        assert _all(log, RankerInput) == inputs and _all(log, Impression) == rows


# -- the service's side --------------------------------------------------------------------------

def _core():
    import torch

    from pipelines.models import artifacts
    from pipelines.models.calibration import Isotonic
    from pipelines.models.ranker import MultiTaskRanker
    from serving.ranker import RankerCore
    from tests.unit.test_serving_units import SPEC, _candidates, _examples

    df = _examples(12, np.random.default_rng(3)).assign(campaign_id=np.arange(12))
    model = MultiTaskRanker(SPEC.n_numeric, SPEC.cardinalities, hidden=8, n_experts=2, members=1)
    cal = Isotonic([0.0, 1.0], [0.05, 0.9])
    files = artifacts.to_files(model.state_dict(), SPEC,
                               {"hidden": 8, "experts": 2, "members": 1, "seed": 0},
                               {"adopt": cal, "dismiss": cal})
    threads = torch.get_num_threads()
    try:
        core = RankerCore("v1", files, df[["campaign_id", "spend_7d", "ctr_7d", "vertical"]])
    finally:
        torch.set_num_threads(threads)
    return core, df.campaign_id.to_numpy(), _candidates(df)


def test_the_ranker_hands_back_the_rows_it_scored_only_when_asked():
    core, campaigns, candidates = _core()
    plain = core.score(campaigns, candidates)
    asked = core.score(campaigns, candidates, with_inputs=True)
    assert set(plain) == {"p_adopt", "p_dismiss", "impact"}
    assert set(asked) == set(plain) | {"numeric", "categorical"}
    enc = core.inputs(campaigns, candidates)
    np.testing.assert_array_equal(asked["numeric"], enc["numeric"])
    np.testing.assert_array_equal(asked["categorical"], enc["categorical"])
    assert asked["numeric"].shape == (12, core.loaded.spec.n_numeric)
    for k in plain:
        np.testing.assert_array_equal(asked[k], plain[k])


def test_ranker_inputs_are_the_chosen_rows_with_the_ranker_s_version():
    from serving.service import ranker_inputs

    core, campaigns, candidates = _core()
    scores = core.score(campaigns, candidates, with_inputs=True)
    chosen = np.array([7, 2, 9])
    served = [impression(f"s-{k}", slate_id="s", position=k + 1, item_id=int(i),
                         campaign_id=int(campaigns[i]), model_version="ingress-version")
              for k, i in enumerate(chosen)]
    rows = ranker_inputs(served, chosen, scores, "v1")
    assert [r.recommendation_id for r in rows] == ["s-0", "s-1", "s-2"]
    assert {r.model_version for r in rows} == {"v1"}
    numeric, categorical = decode(_table(rows))
    np.testing.assert_array_equal(numeric, scores["numeric"][chosen])
    np.testing.assert_array_equal(categorical, scores["categorical"][chosen])
    assert [r.p_adopt for r in rows] == scores["p_adopt"][chosen].tolist()
    assert [[r.impact_low, r.impact_expected, r.impact_high] for r in rows] == \
        scores["impact"][chosen].tolist()


def _service(tmp_path, share: float, remote=None):
    from serving.config import ServeConfig
    from serving.service import GuidanceService

    service = GuidanceService(ServeConfig(root=str(tmp_path), ranker_input_share=share), remote)
    service.rng = np.random.default_rng(5)
    return service


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_a_share_of_0_or_1_decides_without_a_draw(tmp_path, share):
    service = _service(tmp_path, share)
    before = service.rng.bit_generator.state
    assert {service._log_inputs() for _ in range(100)} == {bool(share)}
    assert service.rng.bit_generator.state == before  # the slates' draws stay as they were


def test_a_share_logs_that_share_of_requests(tmp_path):
    service = _service(tmp_path, 0.25)
    logged = [service._log_inputs() for _ in range(4000)]
    assert logged == (np.random.default_rng(5).random(4000) < 0.25).tolist()
    assert abs(np.mean(logged) - 0.25) < 0.02


def test_only_a_sampled_request_asks_the_remote_ranker_for_its_rows(tmp_path):
    import asyncio
    import types

    from serving.engine import Engine
    from tests.unit.test_serving_units import _plan

    asked = []

    async def remote(campaign_ids, candidates, *with_inputs):
        asked.append(with_inputs)
        return {"p_adopt": np.full(len(campaign_ids), 0.5), "version": "v1",
                **({"numeric": np.zeros((len(campaign_ids), 2), np.float32)}
                   if with_inputs else {})}

    service = _service(tmp_path, 1.0, remote)
    state = types.SimpleNamespace(engine=Engine, version="v1", ranker=None)
    plain, _, _ = asyncio.run(service._scores(state, _plan()))
    sampled, _, _ = asyncio.run(service._scores(state, _plan(), True))
    assert asked == [(), (True,)]
    assert "numeric" not in plain and sampled["numeric"].shape == (3, 2)
