"""The candidate features both the offline examples and the service compute: windows of whole
UTC days before the moment's own day, same-day events left out on purpose."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pipelines.candidates.features import (
    DISMISSED_WINDOW_DAYS, SHOWN_WINDOW_DAYS, candidate_features, count_before, trending_keys,
)
from pipelines.domain.catalog import interest_item, keyword_item
from pipelines.feedback.records import DAY_MS

HOUR = DAY_MS // 24
NOW = int(pd.Timestamp("2026-03-10 14:00", tz="UTC").value // 1_000_000)
MIDNIGHT = NOW - 14 * HOUR


@pytest.mark.parametrize("event_ms, counted", [
    (NOW - HOUR, False),  # earlier the same day: left to the business rules
    (MIDNIGHT, False),  # the first millisecond of the day belongs to the day
    (MIDNIGHT - 1, True),  # the last millisecond of yesterday
    (MIDNIGHT - SHOWN_WINDOW_DAYS * DAY_MS, True),  # the first millisecond of the window
    (MIDNIGHT - SHOWN_WINDOW_DAYS * DAY_MS - 1, False),
    (NOW + DAY_MS, False),  # the future
])
def test_count_before_counts_whole_days_before_the_moments_own_day(event_ms, counted):
    got = count_before(np.array([7]), np.array([event_ms]), np.array([7, 8]),
                       np.array([NOW, NOW]), SHOWN_WINDOW_DAYS)
    assert got.tolist() == [int(counted), 0]


NO_TRENDS = np.zeros(0, np.int64)


def _features(shown_ms=(), dismissed_ms=(), trending=NO_TRENDS, **over):
    rows = dict(
        advertiser_id=5, advertiser_vertical="travel", campaign_id=np.array([500, 500]),
        item_id=np.array([3, keyword_item(17)]), action_type=np.array(["bid_switch_auto",
                                                                        "keyword_add"]),
        category=np.array(["bidding", "keywords"]), surface="ads_manager", at_ms=NOW,
        items={"param_pct": np.array([None, None]), "entity_kind": np.array([None, "keyword"]),
               "entity_vertical": np.array([None, "travel"])},
        signals={"adoption_rate_bidding_90d": 0.25, "adoption_rate_keywords_90d": None,
                 "dismissal_rate_bidding_90d": 0.5, "dismissal_rate_keywords_90d": 0.0},
        shown={"campaign_id": np.full(len(shown_ms), 500), "item_id": np.full(len(shown_ms), 3),
               "at_ms": np.array(shown_ms, np.int64)},
        dismissed={"advertiser_id": np.full(len(dismissed_ms), 5),
                   "action_type": np.full(len(dismissed_ms), "bid_switch_auto"),
                   "at_ms": np.array(dismissed_ms, np.int64)},
        trending=trending)
    rows.update(over)
    return candidate_features(**rows)


def test_every_candidate_column_with_its_window():
    f = _features(shown_ms=[MIDNIGHT - DAY_MS, MIDNIGHT - 30 * DAY_MS, NOW - HOUR],
                  dismissed_ms=[MIDNIGHT - 60 * DAY_MS, MIDNIGHT - (DISMISSED_WINDOW_DAYS + 1)
                                * DAY_MS])
    assert f["times_shown_same_item_21d"].tolist() == [1.0, 0.0]
    assert f["dismissed_same_action_90d"].tolist() == [1.0, 0.0]
    assert np.isnan(f["item_param_pct"]).all()
    assert np.isnan(f["entity_matches_vertical"][0]) and f["entity_matches_vertical"][1] == 1.0
    assert np.isnan(f["entity_trending"][0]) and f["entity_trending"][1] == 0.0
    assert f["same_category_adoption_rate_90d"][0] == 0.25
    assert np.isnan(f["same_category_adoption_rate_90d"][1])
    assert f["same_category_dismissal_rate_90d"].tolist() == [0.5, 0.0]
    assert f["surface"].tolist() == ["ads_manager"] * 2
    assert f["item_entity_kind"].tolist() == [None, "keyword"]


def test_an_entity_trends_by_the_market_of_the_day_before():
    today = dt.date(2026, 3, 10)
    market = pd.DataFrame({
        "date": [today - dt.timedelta(days=1), today, today - dt.timedelta(days=1)],
        "vertical": ["travel", "travel", "legal"],
        "trending_keyword_ids": [[17], [99], [18]], "trending_interest_ids": [[100_004], [], []]})
    keys = trending_keys(market)
    assert len(keys) == 4
    f = _features(trending=keys,
                  item_id=np.array([keyword_item(18), keyword_item(17)]))
    assert f["entity_trending"][1] == 1.0  # travel's list of the day before
    # a legal keyword on a travel advertiser: not among travel's trending ones
    f = _features(trending=keys, item_id=np.array([3, keyword_item(18)]))
    assert f["entity_trending"][1] == 0.0
    f = _features(trending=keys, item_id=np.array([3, keyword_item(99)]))
    assert f["entity_trending"][1] == 0.0  # today's list is not known yet
    assert interest_item(100_004) in keys % (1 << 27)
