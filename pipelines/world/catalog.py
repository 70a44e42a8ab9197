"""The world's guidance catalog table: every item an advertiser can be shown, with a readable
title, its ids from the product's id scheme (pipelines.domain.catalog)."""

from __future__ import annotations

import pyarrow as pa

from pipelines.domain.actions import ACTION_INDEX, ACTION_TYPES
from pipelines.domain.catalog import GENERIC_ITEMS, interest_item, item_title, keyword_item
from pipelines.domain.contract import arrow_schema, to_table
from pipelines.domain.vocabulary import VERTICALS
from pipelines.world.entities import TrendEntities
from pipelines.world.state import AdvertiserState, Products

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
        rows["title"].append(item_title(action, p, name))
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
