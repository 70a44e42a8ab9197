"""Embedding retrieval of keyword, interest and product items for a request's campaigns.

The context tower embeds each campaign (its surface filled in per request); the FAISS index
returns the nearest catalog items; items owned by another advertiser are dropped, and the
advertiser's own products are scored exactly (a global index rarely ranks one account's few
products among the top of millions).
"""

from __future__ import annotations

import io

import faiss
import numpy as np
import pandas as pd
import torch

from pipelines.candidates.observed import entity_ok
from pipelines.index import ann
from pipelines.models import artifacts, features
from serving.data import ServingData

SEARCH_K = 100  # nearest items asked of the index per campaign
PER_CAMPAIGN = 4  # entity items kept per campaign, best first


class Retriever:
    def __init__(self, files: dict[str, bytes], meta: dict, data: ServingData):
        faiss.omp_set_num_threads(1)
        cat = data.catalog
        catalog = pd.DataFrame({"item_id": cat.item_id, **{
            c: cat[c] for c in ("action_type", "entity_kind", "entity_name", "entity_vertical",
                                "advertiser_id")}})
        self.model, spec, self.items = artifacts.load_two_tower(files, catalog)
        self.encoder = features.SplitEncoder(spec, candidate_columns=("surface",))
        self.context_numeric, self.context_categorical = self.encoder.context(data.context)
        npz = np.load(io.BytesIO(files["items.npz"]))
        self.embeddings = ann.normalise(npz["embedding"])
        info = meta["index"]
        self.index = ann.from_bytes(files["index.faiss"], npz["item_id"], info["kind"],
                                    info["nprobe"], info["recall_at_100"])
        owner = self.items.advertiser_id
        self.product_rows = np.flatnonzero(owner >= 0)
        order = np.argsort(owner[self.product_rows], kind="stable")
        self.product_rows = self.product_rows[order]
        self.product_owner = owner[self.product_rows]
        self.data = data

    def embed(self, camp_rows: np.ndarray, surface: str) -> np.ndarray:
        enc = self.encoder.rows(self.context_numeric, self.context_categorical, camp_rows,
                                {"surface": [surface] * len(camp_rows)})
        with torch.inference_mode():
            return self.model.embed_context(torch.from_numpy(enc["numeric"]),
                                            torch.from_numpy(enc["categorical"])).numpy()

    def retrieve(self, advertiser_id: int, camp_rows: np.ndarray, surface: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(campaign row, item id, similarity) of the best applicable entity items per
        campaign, at most PER_CAMPAIGN each."""
        if len(camp_rows) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        q = self.embed(camp_rows, surface)
        ids, sims = self.index.search(q, min(SEARCH_K, len(self.index.ids)))
        lo, hi = np.searchsorted(self.product_owner, [advertiser_id, advertiser_id + 1])
        own = self.product_rows[lo:hi]
        if len(own):
            own_sims = ann.normalise(q) @ self.embeddings[own].T
            ids = np.concatenate([ids, np.tile(self.items.item_id[own], (len(q), 1))], axis=1)
            sims = np.concatenate([sims, own_sims], axis=1)
        rows = np.repeat(camp_rows, ids.shape[1])
        ids, sims = ids.ravel(), sims.ravel()
        item_rows = self.items.row_of(ids)
        keep = item_rows >= 0
        owner = np.where(keep, self.items.advertiser_id[np.maximum(item_rows, 0)], -2)
        keep &= (owner < 0) | (owner == advertiser_id)
        rows, ids, sims, item_rows = rows[keep], ids[keep], sims[keep], item_rows[keep]
        d = self.data
        ok = entity_ok(d.observed, rows, self.items.action[item_rows], d.has_catalog[rows])
        rows, ids, sims = rows[ok], ids[ok], sims[ok]
        # best first within each campaign, duplicates (own product found twice) once
        order = np.lexsort((-sims, rows))
        rows, ids, sims = rows[order], ids[order], sims[order]
        _, first = np.unique(np.stack([rows, ids]), axis=1, return_index=True)
        first = np.sort(first)
        rows, ids, sims = rows[first], ids[first], sims[first]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        top = rank < PER_CAMPAIGN
        return rows[top], ids[top], sims[top]
