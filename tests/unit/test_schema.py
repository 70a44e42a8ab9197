from pathlib import Path

import numpy as np
import pytest

from pipelines.world import schema

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data.md"


def test_data_contract_doc_is_current():
    assert DOCS.read_text() == schema.markdown(), "docs/data.md is stale: run `make docs`"


def test_every_column_is_documented():
    for tables in (schema.TABLES, schema.TRUTH):
        for name, (doc, cols) in tables.items():
            assert doc and all(d for _, _, d in cols), name
            assert len({c for c, _, _ in cols}) == len(cols), name


def test_to_table_refuses_columns_that_do_not_match():
    with pytest.raises(KeyError, match="advertisers"):
        schema.to_table("advertisers", {"advertiser_id": np.arange(3)})
