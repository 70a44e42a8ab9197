import numpy as np

from pipelines.index import ann


def _clustered(n, d=32, clusters=200, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    return (centres[rng.integers(0, clusters, n)] + 0.4 * rng.normal(size=(n, d))).astype(np.float32)


def test_small_catalogs_get_exact_search():
    x = _clustered(2_000)
    idx = ann.build(x, np.arange(2_000) + 100)
    assert idx.kind == "flat" and idx.recall_at_100 == 1.0
    ids, _ = idx.search(x[:5], 1)
    assert ids[:, 0].tolist() == [100, 101, 102, 103, 104]


def test_large_catalogs_get_ivf_with_measured_recall_and_survive_a_round_trip():
    x = _clustered(30_000)
    idx = ann.build(x, np.arange(30_000), exact_max=10_000)
    assert idx.kind == "ivf_flat" and idx.recall_at_100 >= 0.95 and idx.nprobe < 256
    back = ann.from_bytes(idx.to_bytes(), idx.ids, idx.kind, idx.nprobe, idx.recall_at_100)
    a, _ = idx.search(x[:50], 10)
    b, _ = back.search(x[:50], 10)
    assert np.array_equal(a, b)
