"""Market conditions per vertical × country × day: demand, auction prices and trends.

Exogenous to advertisers (no advertiser moves the market), so every shard can rebuild the same
market from the seed alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.domain.vocabulary import COUNTRIES, VERTICALS
from pipelines.world import random as wr
from pipelines.world import shocks as world_shocks
from pipelines.world.calibration import COUNTRY_PRICE
from pipelines.world.entities import VERTICAL_PEAK_DOY, TrendEntities

RETAIL_LIKE = np.array([v in ("apparel", "animals_pets", "arts_entertainment", "fitness",
                              "home_improvement") for v in VERTICALS])
TRENDING_TOP = 5


def black_friday(year: int) -> dt.date:
    """The day after the fourth Thursday of November."""
    nov1 = dt.date(year, 11, 1)
    first_thu = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thu + dt.timedelta(days=22)


def holiday_price_multiplier(day: dt.date) -> float:
    """Social CPM multiplier against a normal day (WORLD-FACTS: ≈1.1 early November, 1.5-2.0 at
    Black Friday / Cyber Monday, ≈1.3 in December, January at 0.6-0.8 of December)."""
    bf = black_friday(day.year)
    off = (day - bf).days
    if day.month == 11 and off < -2:
        return 1.10 + 0.20 * (day.day - 1) / max(1, bf.day - 3)
    table = {-2: 1.37, -1: 1.49, 0: 1.75, 1: 1.55, 2: 1.50, 3: 1.66}
    if off in table:
        return table[off]
    if day.month == 12:
        return 1.30 if day.day <= 20 else 1.15
    if day.month == 11:
        return 1.35
    if day.month == 1:
        return 0.85 + 0.15 * (day.day - 1) / 30
    if day.month in (7, 8, 9):
        return 0.97
    return 1.0


def holiday_demand_multiplier(day: dt.date, retail: bool) -> float:
    """Conversion demand against a normal day: retail verticals peak at Black Friday week."""
    price = holiday_price_multiplier(day)
    return 1.0 + (price - 1.0) * (1.1 if retail else 0.35)


@dataclass(frozen=True)
class Market:
    """Daily market arrays indexed [vertical, country, day] plus trend arrays [entity, day]."""

    start: dt.date
    demand: np.ndarray
    price: np.ndarray  # social/display CPM index, country level included
    search_price: np.ndarray  # search CPC index: moves about half as much as social CPM
    keyword_trend: np.ndarray
    interest_trend: np.ndarray
    trending_keywords: np.ndarray  # [vertical, day, TRENDING_TOP] keyword ids
    trending_interests: np.ndarray

    @property
    def days(self) -> int:
        return self.demand.shape[2]

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=int(day))


def _trending(ents: TrendEntities, trend: np.ndarray, n_verticals: int) -> np.ndarray:
    """Top entities per vertical and day by popularity × 14-day growth of the trend."""
    lagged = np.concatenate([np.repeat(trend[:, :1], 14, axis=1), trend[:, :-14]], axis=1)
    score = ents.popularity[:, None] * trend * (trend / lagged) ** 2
    out = np.zeros((n_verticals, trend.shape[1], TRENDING_TOP), dtype=np.int64)
    for v in range(n_verticals):
        rows = np.flatnonzero(ents.vertical == v)
        top = np.argsort(-score[rows], axis=0, kind="stable")[:TRENDING_TOP]
        out[v] = ents.ids[rows][top].T
    return out


def build_market(seed: int, start: dt.date, days: int, keywords: TrendEntities,
                 interests: TrendEntities, shocks: tuple[world_shocks.Shock, ...] = ()) -> Market:
    """The whole market for the world's date range (pure in seed, dates and the market shocks,
    resolved to day indices)."""
    dates = [start + dt.timedelta(days=d) for d in range(days)]
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    nv, nc = len(VERTICALS), len(COUNTRIES)
    price_h = np.array([holiday_price_multiplier(d) for d in dates])
    demand_h = np.array([[holiday_demand_multiplier(d, r) for d in dates] for r in RETAIL_LIKE])
    # Slow vertical seasonality, plus an AR(1) wobble per vertical × country.
    peak = np.array([VERTICAL_PEAK_DOY[v] for v in VERTICALS], dtype=float)
    dist = np.abs(doy[None, :] - peak[:, None])
    dist = np.minimum(dist, 365 - dist)
    season = 1.0 + 0.25 * np.cos(np.pi * dist / 365)
    v_idx, c_idx, d_idx = np.meshgrid(np.arange(nv), np.arange(nc), np.arange(days), indexing="ij")
    noise = 0.03 * wr.normal(seed, "market.shock", v_idx, c_idx, d_idx)
    wobble = np.zeros_like(noise)
    for d in range(days):
        wobble[:, :, d] = (0.8 * wobble[:, :, d - 1] if d else 0.0) + noise[:, :, d]
    country_holiday = np.where(np.array(COUNTRIES) == "US", 1.0, 0.7)[None, :, None]
    price = (1 + (price_h[None, None, :] - 1) * country_holiday) * np.exp(wobble)
    price = price * COUNTRY_PRICE[None, :, None]
    search_price = (1 + 0.5 * (price / COUNTRY_PRICE[None, :, None] - 1)) * COUNTRY_PRICE[None, :, None]
    # a market shock moves CPM and CPC alike, after search's half-swing of the seasons
    shocked = world_shocks.price_factor(shocks, days)[:, None, :]
    price, search_price = price * shocked, search_price * shocked
    demand = (season[:, None, :] * (1 + (demand_h[:, None, :] - 1) * country_holiday)
              * np.exp(0.5 * wobble))
    kw_trend = keywords.trend(doy)
    in_trend = interests.trend(doy)
    return Market(start, demand, price, search_price, kw_trend, in_trend,
                  _trending(keywords, kw_trend, nv), _trending(interests, in_trend, nv))


def market_table(market: Market) -> pa.Table:
    """The `market` raw table, one row per vertical × country × day."""
    nv, nc, nd = market.demand.shape
    v, c, d = (a.ravel() for a in np.meshgrid(np.arange(nv), np.arange(nc), np.arange(nd),
                                               indexing="ij"))
    dates = np.array([market.date(i) for i in range(nd)], dtype="datetime64[D]")
    competition = (market.price / COUNTRY_PRICE[None, :, None]) ** 0.8
    return pa.table({
        "date": pa.array(dates[d], pa.date32()),
        "vertical": pa.array(np.array(VERTICALS)[v]),
        "country": pa.array(np.array(COUNTRIES)[c]),
        "demand_index": pa.array(market.demand.ravel().round(4)),
        "cpm_index": pa.array(market.price.ravel().round(4)),
        "cpc_index": pa.array(market.search_price.ravel().round(4)),
        "competition_index": pa.array(competition.ravel().round(4)),
        "trending_keyword_ids": pa.array(list(market.trending_keywords[v, d]),
                                         pa.list_(pa.int64())),
        "trending_interest_ids": pa.array(list(market.trending_interests[v, d]),
                                          pa.list_(pa.int64())),
    })
