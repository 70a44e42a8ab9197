"""Two-tower retrieval for the large entity catalogs (keywords, interests, products).

A context tower embeds the advertiser and campaign signals; an item tower embeds the item from
its catalog facts (id, action type, entity kind and vertical, parameter, title words). Trained on
adoptions with in-batch negatives: the other adopted items of the batch. Popular items appear as
negatives more often than their share of the catalog, which would push them down; subtracting
log q(item), the item's share of the training positives, from its logit corrects that (the
"logQ" correction of sampled softmax).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from pipelines.domain.actions import ACTION_TYPES, ENTITY_ACTIONS
from pipelines.domain.vocabulary import VERTICALS

TOKEN_BUCKETS = 1 << 14
MAX_TOKENS = 8
_KINDS = ("keyword", "interest", "product")
# rows of each item fact's embedding table: an item's facts must be below these
ITEM_FACT_SIZES = {"action": len(ACTION_TYPES), "kind": len(_KINDS),
                   "vertical": len(VERTICALS) + 1, "tokens": TOKEN_BUCKETS}


@dataclass
class ItemTable:
    """Catalog facts of the retrievable items, as arrays aligned with `item_id`."""

    item_id: np.ndarray
    advertiser_id: np.ndarray  # owner of a product item, -1 for items open to everyone
    action: np.ndarray
    kind: np.ndarray
    vertical: np.ndarray  # 0 = none
    tokens: np.ndarray  # [item, MAX_TOKENS] hashed title words, 0 = padding

    def __len__(self) -> int:
        return len(self.item_id)

    def row_of(self, item_ids: np.ndarray) -> np.ndarray:
        """Rows of `item_ids` (-1 for items not in the table)."""
        pos = np.searchsorted(self.item_id, item_ids)
        pos = np.minimum(pos, len(self.item_id) - 1)
        return np.where(self.item_id[pos] == item_ids, pos, -1)

    def tensors(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        return fact_tensors(self, device)


def fact_tensors(items, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """The item facts of `items` (anything with the ITEM_FACT_SIZES arrays as attributes) as
    int64 tensors on `device`, as `TwoTower.embed_items` indexes them."""
    return {k: torch.from_numpy(np.asarray(getattr(items, k), dtype=np.int64)).to(device)
            for k in ITEM_FACT_SIZES}


def _tokens(text: str) -> list[int]:
    words = re.findall(r"[a-z0-9]+", text.lower())[:MAX_TOKENS]
    return [1 + zlib.crc32(w.encode()) % (TOKEN_BUCKETS - 1) for w in words]


def item_table(catalog: pd.DataFrame) -> ItemTable:
    """The entity items of the catalog, sorted by id."""
    c = catalog[catalog.action_type.isin(ENTITY_ACTIONS)].sort_values("item_id")
    action_index = {a.name: i for i, a in enumerate(ACTION_TYPES)}
    tokens = np.zeros((len(c), MAX_TOKENS), dtype=np.int64)
    for i, name in enumerate(c.entity_name.fillna("")):
        t = _tokens(name)
        tokens[i, :len(t)] = t
    return ItemTable(
        item_id=c.item_id.to_numpy(np.int64),
        advertiser_id=c.advertiser_id.fillna(-1).to_numpy(np.int64),
        action=c.action_type.map(action_index).to_numpy(np.int64),
        kind=c.entity_kind.map({k: i for i, k in enumerate(_KINDS)}).to_numpy(np.int64),
        vertical=c.entity_vertical.map({v: i + 1 for i, v in enumerate(VERTICALS)})
        .fillna(0).to_numpy(np.int64),
        tokens=tokens,
    )


class TwoTower(nn.Module):
    def __init__(self, n_numeric: int, cardinalities: list[int], n_items: int, dim: int = 32,
                 hidden: int = 128):
        super().__init__()
        self.ctx_embeddings = nn.ModuleList(nn.Embedding(c, min(8, c)) for c in cardinalities)
        d_ctx = n_numeric + sum(min(8, c) for c in cardinalities)
        self.context = nn.Sequential(nn.Linear(d_ctx, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.item_id = nn.Embedding(n_items, dim)
        self.action = nn.Embedding(ITEM_FACT_SIZES["action"], dim)
        self.kind = nn.Embedding(ITEM_FACT_SIZES["kind"], dim)
        self.vertical = nn.Embedding(ITEM_FACT_SIZES["vertical"], dim)
        self.words = nn.EmbeddingBag(ITEM_FACT_SIZES["tokens"], dim, mode="mean", padding_idx=0)
        self.item = nn.Sequential(nn.ReLU(), nn.Linear(dim, dim))
        nn.init.normal_(self.item_id.weight, std=0.01)

    def embed_context(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        parts = [numeric] + [e(categorical[:, i]) for i, e in enumerate(self.ctx_embeddings)]
        return nn.functional.normalize(self.context(torch.cat(parts, 1)), dim=1)

    def embed_items(self, rows: torch.Tensor, items: dict[str, torch.Tensor]) -> torch.Tensor:
        x = (self.item_id(rows) + self.action(items["action"][rows])
             + self.kind(items["kind"][rows]) + self.vertical(items["vertical"][rows])
             + self.words(items["tokens"][rows]))
        return nn.functional.normalize(self.item(x), dim=1)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, rows: torch.Tensor,
                items: dict[str, torch.Tensor], negative_rows: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Embeddings of the contexts, of their adopted items (`rows` of `items`) and of the
        extra negatives (None without them): one call, so that under DDP (several workers) the
        gradients of every part are synchronised, which calling the embed methods on the
        unwrapped module would skip."""
        ctx, item = self.embed_context(numeric, categorical), self.embed_items(rows, items)
        extra = None if negative_rows is None else self.embed_items(negative_rows, items)
        return ctx, item, extra


def in_batch_loss(ctx: torch.Tensor, item: torch.Tensor, log_q: torch.Tensor,
                  extra: torch.Tensor | None = None, extra_log_q: float = 0.0,
                  temperature: float = 0.05) -> torch.Tensor:
    """Softmax over the batch's items for each context, positives on the diagonal, each logit
    lowered by log q(item). `extra` are items drawn uniformly from the whole catalog (mixed
    negative sampling): without them an item nobody adopted is never a negative and the model
    never learns to push the long tail down; their logits are lowered by log(1 / catalog size)."""
    logits = ctx @ item.T / temperature - log_q.unsqueeze(0)
    if extra is not None:
        logits = torch.cat([logits, ctx @ extra.T / temperature - extra_log_q], dim=1)
    return nn.functional.cross_entropy(logits, torch.arange(len(ctx), device=ctx.device))


def uniform_negatives(n_items: int, k: int, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, float]:
    """k item rows drawn uniformly, and the log-probability to correct their logits with."""
    return torch.randint(0, n_items, (k,), generator=generator), float(np.log(1.0 / n_items))
