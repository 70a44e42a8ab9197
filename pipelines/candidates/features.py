"""The ranker's candidate features: one implementation, called by the offline examples
(`guidance prepare`) and by the service for every request.

Each feature is computed as of the start of the UTC day of the moment it describes, from events
strictly before that midnight, as the context signals are: an example shown at 14:00 counts the
history up to 00:00 that day, and so does a request served at 14:00. Events of the same day are
left out on purpose, on both sides: the model was trained without them, and the business rules
(recently shown, dismissed, snoozed; pipelines.policy.eligibility) are what reacts to them within
the day.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipelines.domain.actions import ACTION_INDEX
from pipelines.domain.catalog import interest_item, item_keys, keyword_item
from pipelines.domain.vocabulary import VERTICALS
from pipelines.feedback.records import DAY_MS

# How far back the candidate's own history reaches.
SHOWN_WINDOW_DAYS = 21  # times the campaign was shown the same item
DISMISSED_WINDOW_DAYS = 90  # times the advertiser dismissed the same action type

NUMERIC = ("item_param_pct", "times_shown_same_item_21d", "dismissed_same_action_90d",
           "entity_matches_vertical", "entity_trending", "same_category_adoption_rate_90d",
           "same_category_dismissal_rate_90d")
CATEGORICAL = ("action_type", "action_category", "item_entity_kind", "surface")
TREND_KINDS = ("keyword", "interest")

_DAY_BITS = 20  # epoch days stay below 2**20 (year 4840)
_ITEM_BITS = 27  # item ids stay below 2**27 (> ITEM_KEY_SCALE)
# Names to codes by binary search: this runs for every request, where pandas' map costs more
# than the rest of the features together.
_ACTION_NAMES = np.array(sorted(ACTION_INDEX))
_ACTION_CODES = np.array([ACTION_INDEX[a] for a in _ACTION_NAMES], np.int64)
_VERTICAL_NAMES = np.array(sorted(VERTICALS))
_VERTICAL_CODES = np.array([VERTICALS.index(v) for v in _VERTICAL_NAMES], np.int64)
_EPOCH = pd.Timestamp(0, tz="UTC")


def _codes(values: np.ndarray, names: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """(code of each value, whether it is a known name); unknown values get code 0."""
    values = np.asarray(values).astype(str)
    pos = np.minimum(np.searchsorted(names, values), len(names) - 1)
    known = names[pos] == values
    return np.where(known, codes[pos], 0), known


def epoch_ms(times: pd.Series) -> np.ndarray:
    """Epoch milliseconds of UTC timestamps."""
    return ((times - _EPOCH) // pd.Timedelta(milliseconds=1)).to_numpy(np.int64)


def epoch_day(ms: np.ndarray) -> np.ndarray:
    """UTC day number (days since 1970-01-01) of epoch milliseconds."""
    return np.asarray(ms, np.int64) // DAY_MS


def count_before(event_keys: np.ndarray, event_ms: np.ndarray, query_keys: np.ndarray,
                 query_ms: np.ndarray, window_days: int) -> np.ndarray:
    """For each query, how many events share its key on the `window_days` whole UTC days before
    the query's own day: [midnight − window_days, midnight)."""
    event_keys, query_keys = np.asarray(event_keys), np.asarray(query_keys)
    _, inv = np.unique(np.concatenate([event_keys, query_keys]), return_inverse=True)
    ek, qk = inv[:len(event_keys)].astype(np.int64), inv[len(event_keys):].astype(np.int64)
    scale = np.int64(1 << _DAY_BITS)
    composite = np.sort(ek * scale + epoch_day(event_ms))
    q = qk * scale + epoch_day(query_ms)
    return (np.searchsorted(composite, q, side="left")
            - np.searchsorted(composite, q - window_days, side="left"))


def action_keys(advertiser_id: np.ndarray, action_type: np.ndarray) -> np.ndarray:
    """One int64 per (advertiser, action type name); ValueError on an unknown action type."""
    codes, known = _codes(action_type, _ACTION_NAMES, _ACTION_CODES)
    if not known.all():
        raise ValueError(f"unknown action type {np.asarray(action_type)[~known][0]!r}")
    return np.asarray(advertiser_id, np.int64) * 64 + codes


def trending_keys(market: pd.DataFrame) -> np.ndarray:
    """Sorted int64 keys of (vertical, epoch day, item id) for every keyword and interest item
    among its vertical's trending ones that day, from the raw market table (`date`, `vertical`,
    `trending_keyword_ids`, `trending_interest_ids`)."""
    vertical, _ = _codes(market["vertical"], _VERTICAL_NAMES, _VERTICAL_CODES)
    day = (pd.to_datetime(pd.Series(market["date"])) - pd.Timestamp(0)).dt.days.to_numpy()
    keys = []
    for col, to_item in (("trending_keyword_ids", keyword_item),
                         ("trending_interest_ids", interest_item)):
        ids = pd.Series(market[col])
        n = ids.map(len).to_numpy()
        items = to_item(np.concatenate(ids.to_list()).astype(np.int64)) if n.sum() else \
            np.zeros(0, np.int64)
        keys.append(_trend_key(np.repeat(vertical, n), np.repeat(day, n), items))
    return np.unique(np.concatenate(keys))


def _trend_key(vertical: np.ndarray, day: np.ndarray, item_id: np.ndarray) -> np.ndarray:
    return ((np.asarray(vertical, np.int64) << (_DAY_BITS + _ITEM_BITS))
            | (np.asarray(day, np.int64) << _ITEM_BITS) | np.asarray(item_id, np.int64))


def candidate_features(*, advertiser_id: np.ndarray, advertiser_vertical: np.ndarray,
                       campaign_id: np.ndarray, item_id: np.ndarray, action_type: np.ndarray,
                       category: np.ndarray, surface: np.ndarray, at_ms: np.ndarray,
                       items: Mapping[str, np.ndarray], signals: Mapping,
                       shown: Mapping[str, np.ndarray], dismissed: Mapping[str, np.ndarray],
                       trending: np.ndarray) -> dict[str, np.ndarray]:
    """Every candidate column of the ranker (NUMERIC and CATEGORICAL), one row per candidate.

    Row arrays: the advertiser, its vertical, campaign, item, the item's action type and
    category, the surface and the moment (epoch ms). `items`: the candidates' catalog columns
    `param_pct`, `entity_kind`, `entity_vertical` (row-aligned). `signals`: the advertiser's
    `adoption_rate_<category>_90d` and `dismissal_rate_<category>_90d` signals as of that day,
    each row-aligned or one value for every row. `shown`: impressions (`campaign_id`,
    `item_id`, `at_ms`); `dismissed`: dismissals (`advertiser_id`, `action_type`, `at_ms`);
    `trending`: `trending_keys` of the market table.
    """
    n = len(item_id)
    at_ms = np.broadcast_to(np.asarray(at_ms, np.int64), (n,))
    advertiser_id = np.broadcast_to(np.asarray(advertiser_id, np.int64), (n,))
    advertiser_vertical = np.broadcast_to(np.asarray(advertiser_vertical, object), (n,))
    times_shown = count_before(item_keys(shown["campaign_id"], shown["item_id"]), shown["at_ms"],
                               item_keys(campaign_id, item_id), at_ms, SHOWN_WINDOW_DAYS)
    times_dismissed = count_before(
        action_keys(dismissed["advertiser_id"], dismissed["action_type"]), dismissed["at_ms"],
        action_keys(advertiser_id, action_type), at_ms, DISMISSED_WINDOW_DAYS)
    kind = np.asarray(items["entity_kind"], object)
    entity_vertical = np.asarray(items["entity_vertical"], object)
    has_entity = pd.notna(entity_vertical)
    trend_kind = np.isin(kind.astype(str), TREND_KINDS)
    vertical_code, _ = _codes(advertiser_vertical, _VERTICAL_NAMES, _VERTICAL_CODES)
    # the trending entities of the day before: today's list is published at the day's end
    query = _trend_key(vertical_code, epoch_day(at_ms) - 1, item_id)
    pos = np.minimum(np.searchsorted(trending, query), max(len(trending) - 1, 0))
    is_trending = (trending[pos] == query) if len(trending) else np.zeros(n, bool)
    out = {
        "item_param_pct": np.asarray(items["param_pct"], dtype=float),
        "times_shown_same_item_21d": times_shown.astype(float),
        "dismissed_same_action_90d": times_dismissed.astype(float),
        "entity_matches_vertical": np.where(has_entity, entity_vertical == advertiser_vertical,
                                            np.nan).astype(float),
        "entity_trending": np.where(trend_kind, is_trending, np.nan).astype(float),
    }
    for name in ("adoption", "dismissal"):
        out[f"same_category_{name}_rate_90d"] = _same_category(signals, name, category, n)
    out.update({"action_type": np.asarray(action_type, object),
                "action_category": np.asarray(category, object),
                "item_entity_kind": kind,
                "surface": np.broadcast_to(np.asarray(surface, object), (n,)).copy()})
    return out


def _same_category(signals: Mapping, name: str, category: np.ndarray, n: int) -> np.ndarray:
    """Each row's `<name>_rate_<its category>_90d` signal."""
    values = np.full(n, np.nan)
    category = np.asarray(category, object)
    for cat in pd.unique(category):
        m = category == cat
        # a row-aligned column or one value (None: unknown) for every row
        column = np.asarray(signals[f"{name}_rate_{cat}_90d"], dtype=float)
        values[m] = np.broadcast_to(column, (n,))[m]
    return values
