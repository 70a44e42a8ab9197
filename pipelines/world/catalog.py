"""The guidance catalog: every item an advertiser can be shown, with a readable title.

Item ids are stable functions of what the item is: generic items (an action type with an optional
percent) take small ids, keywords 1,000,000 + keyword id, interests 2,000,000 + interest index,
products their product id (10,000,000 and up).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.world.entities import TrendEntities
from pipelines.world.schema import arrow_schema, to_table
from pipelines.world.state import AdvertiserState, Products
from pipelines.world.taxonomy import ACTION_INDEX, ACTION_TYPES, VERTICALS

KEYWORD_ITEM_BASE = 1_000_000
INTEREST_ITEM_BASE = 2_000_000
INTEREST_ID_BASE = 100_000

# (action type index, percent) of every item that takes no entity.
GENERIC_ITEMS: tuple[tuple[int, float], ...] = tuple(
    (i, float(p)) for i, a in enumerate(ACTION_TYPES) if a.entity is None
    for p in (a.params or (0,))
)
GENERIC_ACTION = np.array([a for a, _ in GENERIC_ITEMS])
GENERIC_PARAM = np.array([p for _, p in GENERIC_ITEMS])


def keyword_item(keyword_id: np.ndarray) -> np.ndarray:
    return KEYWORD_ITEM_BASE + np.asarray(keyword_id)


def interest_item(interest_id: np.ndarray) -> np.ndarray:
    return INTEREST_ITEM_BASE + np.asarray(interest_id) - INTEREST_ID_BASE


_SCHEMA_FIELDS = tuple(arrow_schema("catalog").names)


def _table(rows: dict[str, list]) -> pa.Table:
    return to_table("catalog", rows)


def _rows(item_ids, action, params, kind, entity_ids, names, verticals, adv_ids):
    a = ACTION_TYPES[action]
    rows = {k: [] for k in _SCHEMA_FIELDS}
    for item, p, ent, name, vert, adv in zip(item_ids, params, entity_ids, names, verticals,
                                            adv_ids):
        rows["item_id"].append(int(item))
        rows["action_type"].append(a.name)
        rows["category"].append(a.category)
        rows["param_pct"].append(float(p) if a.params else None)
        rows["entity_kind"].append(kind)
        rows["entity_id"].append(None if ent is None else int(ent))
        rows["entity_name"].append(name)
        rows["entity_vertical"].append(vert)
        rows["advertiser_id"].append(adv)
        rows["title"].append(a.title.format(param=p, entity=name))
        rows["description"].append(a.description)
    return rows


def global_catalog(keywords: TrendEntities, interests: TrendEntities) -> pa.Table:
    """Items every advertiser may get: generic actions, keywords and interests."""
    parts = []
    for item, (action, p) in enumerate(GENERIC_ITEMS):
        parts.append(_rows([item], action, [p], None, [None], [None], [None], [None]))
    parts.append(_rows(keyword_item(keywords.ids), ACTION_INDEX["keyword_add"],
                       [0] * len(keywords.ids), "keyword", keywords.ids, keywords.names,
                       [VERTICALS[v] for v in keywords.vertical], [None] * len(keywords.ids)))
    parts.append(_rows(interest_item(interests.ids), ACTION_INDEX["interest_add"],
                       [0] * len(interests.ids), "interest", interests.ids, interests.names,
                       [VERTICALS[v] for v in interests.vertical], [None] * len(interests.ids)))
    return pa.concat_tables([_table(p) for p in parts])


def product_catalog(products: Products, adv: AdvertiserState) -> pa.Table:
    """Items that promote one advertiser's own products."""
    return _table(_rows(products.product_id, ACTION_INDEX["product_promote"],
                        [0] * len(products.product_id), "product", products.product_id,
                        products.name, [VERTICALS[v] for v in adv.vertical[products.adv]],
                        adv.advertiser_id[products.adv].tolist()))
