"""Dense, cumulative day arrays of a set of advertisers: what every signal reads.

Day index d is an as-of point: the start of day `start + d`. Every cumulative array has D + 1
columns where column d sums days strictly before d, so a trailing window [d - w, d) is
`cum[:, d] - cum[:, max(d - w, 0)]` and nothing on or after day d can leak into a signal as of d.
"Last known" state arrays hold, at column d, the value observed on the last day before d.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cached_property

import numpy as np
import pandas as pd

from pipelines.domain.vocabulary import CATEGORIES, CHANNELS, COUNTRIES, DISMISS_REASONS, VERTICALS

PERF_SUMS = ("spend", "impressions", "clicks", "conversions", "conversion_value", "tracked_spend",
             "tracked_clicks", "limited", "exhausted_hour", "live", "budget")
PERF_STATES = ("daily_budget", "auto", "tracking", "targeting_breadth", "creative_count",
               "creative_age_days", "creative_fatigue", "disapproved_share")
PEER_METRICS = ("clicks", "impressions", "spend", "conversions", "tracked_clicks")
WORKFLOW_COUNTS = ("sessions", "page_views", "edits", "recommendation_views",
                   "error_payment_failed", "error_ad_disapproved", "error_feed_error")
TRACKING_LEVEL = {"none": 0, "pixel": 1, "pixel_and_server": 2}


def _cum(daily: np.ndarray) -> np.ndarray:
    """[..., D] daily values → [..., D + 1] sums of the days before each index."""
    out = np.zeros(daily.shape[:-1] + (daily.shape[-1] + 1,))
    np.cumsum(daily, axis=-1, out=out[..., 1:])
    return out


def _last_known(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """[n, D] values seen on `present` days → [n, D + 1] value on the last present day before
    each index (NaN before the first)."""
    n, days = values.shape
    idx = np.where(present, np.arange(days)[None, :], -1)
    idx = np.maximum.accumulate(idx, axis=1)
    out = np.full((n, days + 1), np.nan)
    got = idx >= 0
    rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)
    out[:, 1:][got] = values[rows[got], idx[got]]
    return out


def _last_day(present: np.ndarray) -> np.ndarray:
    """[n, D] flags → [n, D + 1] index of the last flagged day before each index (-1: none)."""
    days = present.shape[1]
    idx = np.where(present, np.arange(days)[None, :], -1)
    out = np.full((present.shape[0], days + 1), -1, dtype=np.int64)
    out[:, 1:] = np.maximum.accumulate(idx, axis=1)
    return out


def _sum_rows(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """[row, D] → [group, D] sums (groups need not be contiguous)."""
    out = np.zeros((n_groups, values.shape[1]))
    if len(group):
        order = np.argsort(group, kind="stable")
        g = group[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        out[g[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


class _Lazy(Mapping):
    """A read-only mapping whose values are built on first access."""

    def __init__(self, keys, build):
        self._keys, self._build, self._cache = tuple(keys), build, {}

    def __getitem__(self, key):
        if key not in self._cache:
            if key not in self._keys:
                raise KeyError(key)
            self._cache[key] = self._build(key)
        return self._cache[key]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class ContextArrays:
    """Everything the signals of a set of advertisers read, indexed by row and as-of day.

    Built from the raw tables of those advertisers (already filtered to them). Each array is
    built on first use, so a caller that needs a few signals pays only for their arrays.
    `impressions` needs an `action_category` column; `peers` comes from `peer_sums` over every
    advertiser of the world.
    """

    def __init__(self, advertisers: pd.DataFrame, campaigns: pd.DataFrame, perf: pd.DataFrame,
                 workflow: pd.DataFrame, impressions: pd.DataFrame, market: pd.DataFrame,
                 peers: np.ndarray, start: dt.date, days: int):
        self.start, self.days = start, days
        self.adv_static = advertisers.sort_values("advertiser_id").reset_index(drop=True)
        self.camp_static = campaigns.sort_values("campaign_id").reset_index(drop=True)
        self.advertiser_id = self.adv_static.advertiser_id.to_numpy()
        self.campaign_id = self.camp_static.campaign_id.to_numpy()
        self.camp_adv = _rows(self.advertiser_id, self.camp_static.advertiser_id.to_numpy())
        self._frames = {"perf": perf, "workflow": workflow, "impressions": impressions,
                        "market": market}
        self._peers = peers
        self.perf = _Lazy(PERF_SUMS, lambda k: _cum(self._perf_daily(k)))
        self.state = _Lazy((*PERF_STATES, "last_live_day"), self._state)
        self.adv_perf = _Lazy(("spend", "conversions", "clicks", "impressions",
                               "conversion_value", "tracked_spend", "live"),
                              lambda k: _cum(_sum_rows(self._perf_daily(k), self.camp_adv,
                                                       len(self.advertiser_id))))
        self.workflow = _Lazy(WORKFLOW_COUNTS, lambda k: _cum(self._workflow_daily(k)))
        self.market = _Lazy(("demand_index", "cpm_index", "cpc_index"), self._market)
        self.peers = _Lazy(PEER_METRICS, lambda k: _cum(self._peers[:, :, PEER_METRICS.index(k), :]))

    def date(self, d: int) -> dt.date:
        return self.start + dt.timedelta(days=int(d))

    # ---------------------------------------------------------------- daily performance
    @cached_property
    def _perf_rows(self) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        p = self._frames["perf"]
        r = np.searchsorted(self.campaign_id, p.campaign_id.to_numpy())
        d = _day_index(p.date, self.start)
        ok = (d >= 0) & (d < self.days)
        return r[ok], d[ok], p[ok]

    @cached_property
    def _present(self) -> np.ndarray:
        r, d, _ = self._perf_rows
        out = np.zeros((len(self.campaign_id), self.days), dtype=bool)
        out[r, d] = True
        return out

    def _perf_values(self, key: str) -> np.ndarray:
        _, _, p = self._perf_rows
        tracked = p.conversions.notna().to_numpy()
        col = {"spend": "spend", "impressions": "impressions", "clicks": "clicks",
               "budget": "daily_budget", "daily_budget": "daily_budget",
               "targeting_breadth": "targeting_breadth", "creative_count": "creative_count",
               "creative_age_days": "creative_age_days", "creative_fatigue": "creative_fatigue",
               "disapproved_share": "disapproved_share"}.get(key)
        if col:
            return p[col].to_numpy(float)
        if key in ("conversions", "conversion_value", "exhausted_hour"):
            name = "budget_exhausted_hour" if key == "exhausted_hour" else key
            return np.nan_to_num(p[name].to_numpy(float))
        if key == "tracked_spend":
            return np.where(tracked, p.spend.to_numpy(float), 0.0)
        if key == "tracked_clicks":
            return np.where(tracked, p.clicks.to_numpy(float), 0.0)
        if key == "limited":
            return p.budget_limited.to_numpy(float)
        if key == "live":
            return np.ones(len(p))
        if key == "auto":
            return (p.bid_strategy == "automatic").to_numpy(float)
        if key == "tracking":
            return p.conversion_tracking.map(TRACKING_LEVEL).to_numpy(float)
        raise KeyError(key)

    def _perf_daily(self, key: str) -> np.ndarray:
        r, d, _ = self._perf_rows
        out = np.zeros((len(self.campaign_id), self.days))
        out[r, d] = self._perf_values(key)
        return out

    def _state(self, key: str) -> np.ndarray:
        if key == "last_live_day":
            return _last_day(self._present).astype(float)
        return _last_known(self._perf_daily(key), self._present)

    # ---------------------------------------------------------------- workflow
    @cached_property
    def _workflow_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        w = self._frames["workflow"]
        a = _rows(self.advertiser_id, w.advertiser_id.to_numpy())
        d = _day_index(w.event_time, self.start)
        ok = (d >= 0) & (d < self.days)
        return a[ok], d[ok], w.event_type.to_numpy()[ok], w.detail.to_numpy()[ok]

    def _workflow_daily(self, key: str) -> np.ndarray:
        a, d, et, detail = self._workflow_rows
        mask = {
            "sessions": et == "session_start",
            "page_views": et == "page_view",
            "edits": et == "edit",
            "recommendation_views": (et == "page_view") & (detail == "recommendations"),
            "error_payment_failed": (et == "error") & (detail == "payment_failed"),
            "error_ad_disapproved": (et == "error") & (detail == "ad_disapproved"),
            "error_feed_error": (et == "error") & (detail == "feed_error"),
        }[key]
        return _count(a[mask], d[mask], len(self.advertiser_id), self.days)

    @cached_property
    def last_session(self) -> np.ndarray:
        """[advertiser, D + 1] day index of the last session before each day (-1: none)."""
        return _last_day(self._workflow_daily("sessions") > 0)

    # ---------------------------------------------------------------- guidance history
    @cached_property
    def _history(self) -> dict[str, np.ndarray]:
        imp = self._frames["impressions"]
        n_adv, n_cat, days = len(self.advertiser_id), len(CATEGORIES), self.days
        a = _rows(self.advertiser_id, imp.advertiser_id.to_numpy())
        cat = pd.Categorical(imp.action_category, categories=CATEGORIES).codes
        flat = a * n_cat + cat
        d_shown = _day_index(imp.shown_at, self.start)
        d_resp = _day_index(imp.responded_at, self.start)
        outcome = imp.outcome.to_numpy()
        ok = (d_shown >= 0) & (d_shown < days)
        cubes = {"shown": _count(flat[ok], d_shown[ok], n_adv * n_cat, days)}
        for name in ("adopted", "dismissed", "snoozed"):
            m = (outcome == name) & (d_resp >= 0) & (d_resp < days)
            cubes[name] = _count(flat[m], d_resp[m], n_adv * n_cat, days)
        cubes = {k: v.reshape(n_adv, n_cat, days) for k, v in cubes.items()}
        reason_daily = np.full((n_adv, days), -1)
        m = (outcome == "dismissed") & (d_resp >= 0) & (d_resp < days)
        if m.any():
            dd = pd.DataFrame({"a": a[m], "d": d_resp[m], "t": imp.responded_at[m].to_numpy(),
                               "r": pd.Categorical(imp.dismiss_reason[m],
                                                   categories=DISMISS_REASONS).codes})
            last = dd.sort_values(["a", "d", "t"]).groupby(["a", "d"]).r.last()
            reason_daily[last.index.get_level_values(0), last.index.get_level_values(1)] = last
        last_dismissal = _last_day(cubes["dismissed"].sum(axis=1) > 0)
        last_reason = np.full((n_adv, days + 1), -1)
        has = last_dismissal >= 0
        rows = np.broadcast_to(np.arange(n_adv)[:, None], last_dismissal.shape)
        last_reason[has] = reason_daily[rows[has], last_dismissal[has]]
        return {**{k: _cum(v) for k, v in cubes.items()},
                "last_adoption": _last_day(cubes["adopted"].sum(axis=1) > 0),
                "last_dismissal": last_dismissal, "last_dismiss_reason": last_reason}

    shown = property(lambda self: self._history["shown"],
                     doc="[advertiser, category, D + 1] cumulative guidance shown")
    adopted = property(lambda self: self._history["adopted"], doc="by the day of the response")
    dismissed = property(lambda self: self._history["dismissed"])
    snoozed = property(lambda self: self._history["snoozed"])
    last_adoption = property(lambda self: self._history["last_adoption"])
    last_dismissal = property(lambda self: self._history["last_dismissal"])
    last_dismiss_reason = property(lambda self: self._history["last_dismiss_reason"])

    # ---------------------------------------------------------------- market
    def _market(self, col: str) -> np.ndarray:
        """[vertical, country, D + 1] the market index of the day before each as-of day."""
        market = self._frames["market"]
        v = pd.Categorical(market.vertical, categories=VERTICALS).codes
        c = pd.Categorical(market.country, categories=COUNTRIES).codes
        d = _day_index(market.date, self.start)
        ok = (d >= 0) & (d < self.days)
        full = np.full((len(VERTICALS), len(COUNTRIES), self.days + 1), np.nan)
        full[v[ok], c[ok], d[ok] + 1] = market[col].to_numpy()[ok]
        return full


def _day_index(dates: pd.Series, start: dt.date) -> np.ndarray:
    """Day index (UTC) of each timestamp or date since `start`; -1 where missing."""
    s = pd.Series(dates)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    elif s.dtype == object:
        s = pd.to_datetime(s)
    v = s.to_numpy(dtype="datetime64[ns]")
    days = (v.astype("datetime64[D]") - np.datetime64(start, "D")).astype(np.int64)
    return np.where(np.isnat(v), -1, days)


def _rows(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(ids, keys)
    pos = np.minimum(pos, len(ids) - 1)
    if len(keys) and not np.array_equal(ids[pos], keys):
        missing = keys[ids[pos] != keys][:5]
        raise KeyError(f"ids {missing.tolist()} are not in the advertiser set")
    return pos


def peer_sums(perf: pd.DataFrame, campaigns: pd.DataFrame, advertisers: pd.DataFrame,
              start: dt.date, days: int) -> np.ndarray:
    """[vertical, channel, metric, D] daily sums over every advertiser given: clicks,
    impressions, spend, tracked conversions and tracked clicks. Summed across blocks."""
    out = np.zeros((len(VERTICALS), len(CHANNELS), 5, days))
    if perf.empty:
        return out
    c = campaigns.set_index("campaign_id").loc[perf.campaign_id.to_numpy()]
    vert = advertisers.set_index("advertiser_id").loc[perf.advertiser_id.to_numpy(), "vertical"]
    v = pd.Categorical(vert.to_numpy(), categories=VERTICALS).codes
    ch = pd.Categorical(c.channel.to_numpy(), categories=CHANNELS).codes
    d = _day_index(perf.date, start)
    tracked = perf.conversions.notna().to_numpy()
    metrics = (perf.clicks.to_numpy(float), perf.impressions.to_numpy(float),
               perf.spend.to_numpy(float), np.nan_to_num(perf.conversions.to_numpy(float)),
               np.where(tracked, perf.clicks.to_numpy(float), 0.0))
    ok = (d >= 0) & (d < days)
    cell = (v[ok].astype(np.int64) * len(CHANNELS) + ch[ok]) * days + d[ok]
    for m, values in enumerate(metrics):
        out[:, :, m, :] = np.bincount(cell, weights=values[ok],
                                      minlength=len(VERTICALS) * len(CHANNELS) * days
                                      ).reshape(len(VERTICALS), len(CHANNELS), days)
    return out


def _count(rows: np.ndarray, days_idx: np.ndarray, n_rows: int, days: int) -> np.ndarray:
    """[n_rows, days] number of (row, day) pairs."""
    return np.bincount(rows * days + days_idx, minlength=n_rows * days).reshape(
        n_rows, days).astype(float)


def build(advertisers: pd.DataFrame, campaigns: pd.DataFrame, perf: pd.DataFrame,
          workflow: pd.DataFrame, impressions: pd.DataFrame, market: pd.DataFrame,
          peers: np.ndarray, start: dt.date, days: int) -> ContextArrays:
    """Arrays for the advertisers in `advertisers` (other tables already filtered to them)."""
    return ContextArrays(advertisers, campaigns, perf, workflow, impressions, market, peers,
                         start, days)
