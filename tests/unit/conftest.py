"""Unit tests never start Ray: a test that tries fails loudly. The feedback log tests share their
stores here."""

import pytest
import ray

from pipelines.feedback import open_log

STORES = ["sqlite", "delta"]  # the feedback log's stores


def uri_of(store: str, tmp_path) -> str:
    return f"sqlite:///{tmp_path}/log.db" if store == "sqlite" else f"delta://{tmp_path}/delta"


@pytest.fixture(params=STORES)
def store_uri(request, tmp_path) -> str:
    return uri_of(request.param, tmp_path)


@pytest.fixture
def log(store_uri):
    with open_log(store_uri) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _no_ray(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("unit tests must not start Ray; move the test to tests/integration")

    monkeypatch.setattr(ray, "init", refuse)
