"""Bad raw data stops `guidance prepare` before Ray starts, naming table, column and rows."""

import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.errors import DataError
from pipelines.labels.config import PrepareConfig
from pipelines.labels.prepare import prepare
from tests.worlds import write_world


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return write_world(str(tmp_path_factory.mktemp("clean")), advertisers=60, days=20).path


def _edit(root, table, fn):
    path = f"{root}/raw/{table}/part-00000.parquet"
    pq.write_table(fn(pq.read_table(path)), path)


def _drop(col):
    return lambda t: t.drop_columns([col])


def _as_string(col):
    return lambda t: t.set_column(t.schema.get_field_index(col), col,
                                  pc.cast(t.column(col), pa.string()))


def _negate_first(col):
    def fn(t):
        values = t.column(col).to_numpy(zero_copy_only=False).copy()
        values[0] = -5.0
        return t.set_column(t.schema.get_field_index(col), col, pa.array(values))
    return fn


def _duplicate_first(t):
    return pa.concat_tables([t, t.slice(0, 1)])


def _null_key(col):
    def fn(t):
        values = t.column(col).to_pylist()
        values[0] = None
        return t.set_column(t.schema.get_field_index(col), col, pa.array(values, pa.int64()))
    return fn


CASES = [
    ("daily_performance", _drop("spend"), "table daily_performance, column spend: missing"),
    ("daily_performance", _as_string("spend"),
     "table daily_performance, column spend: expected double, found string"),
    ("daily_performance", _negate_first("spend"),
     "table daily_performance, column spend: 1 negative values, e.g. {'campaign_id'"),
    ("impressions", _duplicate_first,
     "table impressions, column impression_id: duplicate keys, e.g. {'impression_id'"),
    ("campaigns", _null_key("campaign_id"), "table campaigns, column campaign_id: null keys"),
    ("impressions", _negate_first("propensity"),
     "table impressions, column propensity: 1 values outside (0, 1]"),
]


@pytest.mark.parametrize("table, corrupt, message", CASES)
def test_bad_data_stops_the_job_and_writes_nothing(clean, tmp_path, table, corrupt, message):
    root = str(tmp_path / "root")
    shutil.copytree(clean, root)
    _edit(root, table, corrupt)
    with pytest.raises(DataError) as e:
        prepare(PrepareConfig(root=root, version="v1"), show_progress=False)
    assert str(e.value).startswith(message)
    assert not (tmp_path / "root" / "snapshots").exists()


def test_missing_table(clean, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(clean, root)
    shutil.rmtree(root / "raw" / "workflow_events")
    with pytest.raises(DataError, match="table workflow_events: missing"):
        prepare(PrepareConfig(root=str(root), version="v1"), show_progress=False)
