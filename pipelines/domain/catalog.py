"""The guidance catalog's id scheme: item ids are stable functions of what the item is.

Generic items (an action type with an optional percent) take small ids, keywords
1,000,000 + keyword id, interests 2,000,000 + interest id − 100,000, products their product id
(10,000,000 and up). A (campaign, item) pair, the unit every business rule is keyed on, packs
into one int64 key.
"""

from __future__ import annotations

import numpy as np

from pipelines.domain.actions import ACTION_TYPES

KEYWORD_ITEM_BASE = 1_000_000
INTEREST_ITEM_BASE = 2_000_000
INTEREST_ID_BASE = 100_000
PRODUCT_ID_BASE = 10_000_000
ITEM_KEY_SCALE = 100_000_000  # key = campaign_id * scale + item_id, unique per (campaign, item)

# (action type index, percent) of every item that takes no entity, in item-id order.
GENERIC_ITEMS: tuple[tuple[int, float], ...] = tuple(
    (i, float(p)) for i, a in enumerate(ACTION_TYPES) if a.entity is None
    for p in (a.params or (0,))
)
GENERIC_ACTION = np.array([a for a, _ in GENERIC_ITEMS])
GENERIC_PARAM = np.array([p for _, p in GENERIC_ITEMS])


def keyword_item(keyword_id: np.ndarray) -> np.ndarray:
    """Item ids of the keyword_add items for these keyword ids."""
    return KEYWORD_ITEM_BASE + np.asarray(keyword_id)


def interest_item(interest_id: np.ndarray) -> np.ndarray:
    """Item ids of the interest_add items for these interest ids."""
    return INTEREST_ITEM_BASE + np.asarray(interest_id) - INTEREST_ID_BASE


def item_keys(campaign_id: np.ndarray, item_id: np.ndarray) -> np.ndarray:
    """One int64 per (campaign, item). Item ids must lie in [0, ITEM_KEY_SCALE)."""
    return np.asarray(campaign_id, np.int64) * ITEM_KEY_SCALE + np.asarray(item_id, np.int64)


def item_title(action: int, param: float, entity_name: str | None) -> str:
    """The item's title as the catalog shows it ("Raise the daily budget by 20 %")."""
    return ACTION_TYPES[action].title.format(param=param, entity=entity_name)
