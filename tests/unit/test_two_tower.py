"""The two towers learn tastes that popularity cannot see (trained in-process, no Ray)."""

import numpy as np
import pandas as pd
import torch

from pipelines.models import retrieval
from pipelines.models.config import RetrievalConfig
from pipelines.models.features import FeatureSpec
from pipelines.models.two_tower import TwoTower, item_table
from pipelines.world.catalog import global_catalog
from pipelines.world.entities import interests, keywords
from pipelines.domain.vocabulary import SURFACES, VERTICALS


def _examples(items, n, seed):
    """Each vertical's advertisers adopt only five favourite keywords of their vertical."""
    taste = np.random.default_rng(42)  # the same tastes in train and test
    kw = np.flatnonzero(items.kind == 0)
    favourites = {v: taste.choice(kw[items.vertical[kw] == v + 1], 5, replace=False)
                  for v in range(len(VERTICALS))}
    rng = np.random.default_rng(seed)
    vert = rng.integers(0, len(VERTICALS), n)
    rows = np.array([rng.choice(favourites[v]) for v in vert])
    return pd.DataFrame({
        "x": rng.normal(size=n), "vertical": np.array(VERTICALS)[vert],
        "surface": rng.choice(SURFACES, n), "position": 1, "advertiser_id": 1,
        "item_id": items.item_id[rows], "action_type": "keyword_add", "label_adopted": True})


def test_two_tower_beats_popularity_when_tastes_are_strong():
    items = item_table(global_catalog(keywords(1), interests(1)).to_pandas())
    spec = FeatureSpec(["x"], [0.0], [1.0], [], ["vertical", "surface"],
                       {"vertical": list(VERTICALS), "surface": list(SURFACES)})
    train, test = _examples(items, 3000, 0), _examples(items, 400, 1)
    torch.manual_seed(0)
    model = TwoTower(spec.n_numeric, spec.cardinalities, len(items), dim=16, hidden=32)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    pos = retrieval.positives(train, items)
    counts = np.bincount(pos.item_row, minlength=len(items)) + 1.0
    log_q = np.log(counts / counts.sum())
    enc = retrieval._encode(pos, spec, log_q)
    t = {k: torch.from_numpy(v) for k, v in enc.items()}
    tensors = items.tensors()
    gen = torch.Generator().manual_seed(0)
    cfg = RetrievalConfig(batch_size=128, learning_rate=0.01, random_negatives=512)
    for _ in range(6):
        for i in range(0, len(pos), cfg.batch_size):
            batch = {k: v[i:i + cfg.batch_size] for k, v in t.items()}
            retrieval.train_step(model, opt, batch, tensors, cfg, gen, "cpu")
    result = retrieval.summarise(retrieval.ranks(model, spec, items, train, test))
    tower, pop = result["two_tower"]["recall_at_k"], result["popularity"]["recall_at_k"]
    # popularity knows the 60 favourites but not whose they are: it ranks them top-60 overall
    assert tower["10"] > 0.9 and pop["10"] < 0.3
    assert result["two_tower"]["ndcg_at_k"]["10"] > 2 * result["popularity"]["ndcg_at_k"]["10"]
