"""FAISS index of item embeddings: exact search for small catalogs, IVF for large ones.

Embeddings are L2-normalised and searched by inner product (cosine). For a large catalog the
IVF index's `nprobe` is the smallest power of two whose recall@100 against exact search, on held-out
queries, reaches the target; that recall is measured at build time and kept with the index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import faiss
import numpy as np

EXACT_MAX_ITEMS = 50_000  # below this, exact search is fast enough and perfect
RECALL_TARGET = 0.95


@dataclass
class ItemIndex:
    index: faiss.Index
    ids: np.ndarray  # row → item id
    kind: str
    nprobe: int | None
    recall_at_100: float
    build_seconds: float

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(item ids [q, k], scores [q, k]) of the k nearest items to each query."""
        scores, rows = self.index.search(normalise(queries), k)
        return np.where(rows >= 0, self.ids[np.maximum(rows, 0)], -1), scores

    def to_bytes(self) -> bytes:
        return faiss.serialize_index(self.index).tobytes()


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def recall_per_query(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Share of each query's exact top-k that the approximate search also returned."""
    return np.array([len(np.intersect1d(f, t)) / len(t) for f, t in zip(found, truth)])


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's exact top-k that the approximate search also returned."""
    return float(np.mean(recall_per_query(found, truth)))


def build(embeddings: np.ndarray, ids: np.ndarray, queries: np.ndarray | None = None,
          exact_max: int = EXACT_MAX_ITEMS, target: float = RECALL_TARGET,
          seed: int = 0) -> ItemIndex:
    """Index `embeddings` (one row per item id). `queries` (default: 1,000 perturbed items) are
    used to measure recall@100 and to choose nprobe."""
    started = time.perf_counter()
    x = normalise(embeddings)
    n, d = x.shape
    rng = np.random.default_rng(seed)
    if queries is None:
        sample = x[rng.choice(n, size=min(1000, n), replace=False)]
        queries = sample + 0.3 * rng.normal(size=sample.shape).astype(np.float32) / np.sqrt(d)
    q = normalise(queries)
    exact = faiss.IndexFlatIP(d)
    exact.add(x)
    if n <= exact_max:
        return ItemIndex(exact, np.asarray(ids), "flat", None, 1.0, time.perf_counter() - started)
    nlist = int(min(4096, max(64, 4 * np.sqrt(n))))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    train = x[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
    ivf.train(train)
    ivf.add(x)
    k = min(100, n)
    _, truth = exact.search(q, k)
    nprobe, recall = nlist, 1.0
    for probe in (2 ** i for i in range(0, int(np.log2(nlist)) + 1)):
        ivf.nprobe = probe
        _, found = ivf.search(q, k)
        recall = recall_at_k(found, truth)
        if recall >= target:
            nprobe = probe
            break
    ivf.nprobe = nprobe
    return ItemIndex(ivf, np.asarray(ids), "ivf_flat", nprobe, recall,
                     time.perf_counter() - started)


def from_bytes(data: bytes, ids: np.ndarray, kind: str, nprobe: int | None,
               recall: float) -> ItemIndex:
    index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    if nprobe is not None:
        faiss.extract_index_ivf(index).nprobe = nprobe
    return ItemIndex(index, ids, kind, nprobe, recall, 0.0)


def query_recall(index: ItemIndex, embeddings: np.ndarray, queries: np.ndarray,
                 k: int = 100) -> np.ndarray:
    """recall@k of `index` against exact search over `embeddings`, per query."""
    x = normalise(embeddings)
    exact = faiss.IndexFlatIP(x.shape[1])
    exact.add(x)
    k = min(k, len(x))
    _, truth = exact.search(normalise(queries), k)
    found, _ = index.search(queries, k)
    return recall_per_query(found, index.ids[truth])
