"""Dense, cumulative day arrays of a set of advertisers: what every signal reads.

Day index d is an as-of point: the start of day `start + d`. Every cumulative array has D + 1
columns where column d sums days strictly before d, so a trailing window [d - w, d) is
`cum[:, d] - cum[:, max(d - w, 0)]` and nothing on or after day d can leak into a signal as of d.
"Last known" state arrays hold, at column d, the value observed on the last day before d.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.world.taxonomy import CATEGORIES, CHANNELS, COUNTRIES, DISMISS_REASONS, VERTICALS

PERF_SUMS = ("spend", "impressions", "clicks", "conversions", "conversion_value", "tracked_spend",
             "tracked_clicks", "limited", "exhausted_hour", "live", "budget")
PERF_STATES = ("daily_budget", "auto", "tracking", "targeting_breadth", "creative_count",
               "creative_age_days", "creative_fatigue", "disapproved_share")
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


@dataclass
class ContextArrays:
    """Everything the signals of a set of advertisers read, indexed by row and as-of day."""

    start: dt.date
    days: int
    advertiser_id: np.ndarray
    adv_static: pd.DataFrame  # one row per advertiser, in advertiser_id order
    campaign_id: np.ndarray
    camp_adv: np.ndarray  # campaign row → advertiser row
    camp_static: pd.DataFrame
    perf: dict[str, np.ndarray]  # [campaign, D + 1] cumulative sums
    state: dict[str, np.ndarray]  # [campaign, D + 1] last known values
    adv_perf: dict[str, np.ndarray]  # [advertiser, D + 1] cumulative sums
    workflow: dict[str, np.ndarray]  # [advertiser, D + 1] cumulative counts
    last_session: np.ndarray  # [advertiser, D + 1] day index of the last session before
    shown: np.ndarray  # [advertiser, category, D + 1] cumulative guidance shown
    adopted: np.ndarray  # by the day of the response
    dismissed: np.ndarray
    snoozed: np.ndarray
    last_adoption: np.ndarray  # [advertiser, D + 1] day index of the last adoption before
    last_dismissal: np.ndarray
    last_dismiss_reason: np.ndarray  # [advertiser, D + 1] reason code of that dismissal (-1)
    market: dict[str, np.ndarray]  # [vertical, country, D + 1] last known market indices
    peers: dict[str, np.ndarray]  # [vertical, channel, D + 1] cumulative peer sums

    def date(self, d: int) -> dt.date:
        return self.start + dt.timedelta(days=int(d))


def _day_index(dates: pd.Series, start: dt.date) -> np.ndarray:
    """Day index of each timestamp or date since `start`; -1 where missing."""
    ts = pd.to_datetime(pd.Series(dates))
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return (ts.dt.normalize() - pd.Timestamp(start)).dt.days.fillna(-1).to_numpy(np.int64)


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
    for m, values in enumerate(metrics):
        np.add.at(out[:, :, m, :], (v[ok], ch[ok], d[ok]), values[ok])
    return out


def build(advertisers: pd.DataFrame, campaigns: pd.DataFrame, perf: pd.DataFrame,
          workflow: pd.DataFrame, impressions: pd.DataFrame, market: pd.DataFrame,
          peers: np.ndarray, start: dt.date, days: int) -> ContextArrays:
    """Arrays for the advertisers in `advertisers` (other tables already filtered to them).

    `impressions` needs an `action_category` column (joined from the catalog); `peers` comes
    from `peer_sums` over every advertiser of the world.
    """
    advertisers = advertisers.sort_values("advertiser_id").reset_index(drop=True)
    campaigns = campaigns.sort_values("campaign_id").reset_index(drop=True)
    adv_ids = advertisers.advertiser_id.to_numpy()
    camp_ids = campaigns.campaign_id.to_numpy()
    n_adv, n_camp = len(adv_ids), len(camp_ids)
    camp_adv = _rows(adv_ids, campaigns.advertiser_id.to_numpy())

    # ---- daily performance → [campaign, day]
    daily = {k: np.zeros((n_camp, days)) for k in PERF_SUMS}
    states = {k: np.zeros((n_camp, days)) for k in PERF_STATES}
    present = np.zeros((n_camp, days), dtype=bool)
    if not perf.empty:
        r = np.searchsorted(camp_ids, perf.campaign_id.to_numpy())
        d = _day_index(perf.date, start)
        ok = (d >= 0) & (d < days)
        r, d, p = r[ok], d[ok], perf[ok]
        tracked = p.conversions.notna().to_numpy()
        spend = p.spend.to_numpy(float)
        for k, v in (("spend", spend), ("impressions", p.impressions.to_numpy(float)),
                     ("clicks", p.clicks.to_numpy(float)),
                     ("conversions", np.nan_to_num(p.conversions.to_numpy(float))),
                     ("conversion_value", np.nan_to_num(p.conversion_value.to_numpy(float))),
                     ("tracked_spend", np.where(tracked, spend, 0.0)),
                     ("tracked_clicks", np.where(tracked, p.clicks.to_numpy(float), 0.0)),
                     ("limited", p.budget_limited.to_numpy(float)),
                     ("exhausted_hour", np.nan_to_num(p.budget_exhausted_hour.to_numpy(float))),
                     ("live", np.ones(len(p))), ("budget", p.daily_budget.to_numpy(float))):
            daily[k][r, d] = v
        for k, v in (("daily_budget", p.daily_budget.to_numpy(float)),
                     ("auto", (p.bid_strategy == "automatic").to_numpy(float)),
                     ("tracking", p.conversion_tracking.map(TRACKING_LEVEL).to_numpy(float)),
                     ("targeting_breadth", p.targeting_breadth.to_numpy(float)),
                     ("creative_count", p.creative_count.to_numpy(float)),
                     ("creative_age_days", p.creative_age_days.to_numpy(float)),
                     ("creative_fatigue", p.creative_fatigue.to_numpy(float)),
                     ("disapproved_share", p.disapproved_share.to_numpy(float))):
            states[k][r, d] = v
        present[r, d] = True
    perf_cum = {k: _cum(v) for k, v in daily.items()}
    state = {k: _last_known(v, present) for k, v in states.items()}
    state["last_live_day"] = _last_day(present).astype(float)
    adv_daily = {k: np.zeros((n_adv, days)) for k in ("spend", "conversions", "clicks",
                                                       "impressions", "conversion_value",
                                                       "tracked_spend", "live")}
    for k in adv_daily:
        np.add.at(adv_daily[k], camp_adv, daily[k])
    adv_perf = {k: _cum(v) for k, v in adv_daily.items()}

    # ---- workflow → [advertiser, day]
    wf = {k: np.zeros((n_adv, days)) for k in WORKFLOW_COUNTS}
    if not workflow.empty:
        a = _rows(adv_ids, workflow.advertiser_id.to_numpy())
        d = _day_index(workflow.event_time, start)
        et, detail = workflow.event_type.to_numpy(), workflow.detail.to_numpy()
        for k, mask in (("sessions", et == "session_start"), ("page_views", et == "page_view"),
                        ("edits", et == "edit"),
                        ("recommendation_views", (et == "page_view") & (detail == "recommendations")),
                        ("error_payment_failed", (et == "error") & (detail == "payment_failed")),
                        ("error_ad_disapproved", (et == "error") & (detail == "ad_disapproved")),
                        ("error_feed_error", (et == "error") & (detail == "feed_error"))):
            m = mask & (d >= 0) & (d < days)
            np.add.at(wf[k], (a[m], d[m]), 1.0)
    last_session = _last_day(wf["sessions"] > 0)

    # ---- guidance history → [advertiser, category, day]
    n_cat = len(CATEGORIES)
    shown, adopted, dismissed, snoozed = (np.zeros((n_adv, n_cat, days)) for _ in range(4))
    reason_daily = np.full((n_adv, days), -1)
    if not impressions.empty:
        a = _rows(adv_ids, impressions.advertiser_id.to_numpy())
        cat = pd.Categorical(impressions.action_category, categories=CATEGORIES).codes
        d_shown = _day_index(impressions.shown_at, start)
        d_resp = _day_index(impressions.responded_at, start)  # NaN for ignored → negative
        resp_known = impressions.responded_at.notna().to_numpy()
        outcome = impressions.outcome.to_numpy()
        ok = (d_shown >= 0) & (d_shown < days)
        np.add.at(shown, (a[ok], cat[ok], d_shown[ok]), 1.0)
        for arr, name in ((adopted, "adopted"), (dismissed, "dismissed"), (snoozed, "snoozed")):
            m = (outcome == name) & resp_known
            d_r = np.where(m, d_resp, -1)
            m &= (d_r >= 0) & (d_r < days)
            np.add.at(arr, (a[m], cat[m], d_r[m]), 1.0)
        m = (outcome == "dismissed") & resp_known
        if m.any():
            dd = pd.DataFrame({"a": a[m], "d": d_resp[m], "t": impressions.responded_at[m],
                               "r": pd.Categorical(impressions.dismiss_reason[m],
                                                   categories=DISMISS_REASONS).codes})
            dd = dd[(dd.d >= 0) & (dd.d < days)].sort_values(["a", "d", "t"])
            last = dd.groupby(["a", "d"]).r.last()
            reason_daily[last.index.get_level_values(0), last.index.get_level_values(1)] = last
    any_adopt = adopted.sum(axis=1) > 0
    any_dismiss = dismissed.sum(axis=1) > 0
    last_dismissal = _last_day(any_dismiss)
    last_reason = np.full((n_adv, days + 1), -1)
    has = last_dismissal >= 0
    rows = np.broadcast_to(np.arange(n_adv)[:, None], last_dismissal.shape)
    last_reason[has] = reason_daily[rows[has], last_dismissal[has]]

    # ---- market → [vertical, country, day], last known before the day
    mk = {}
    mv = pd.Categorical(market.vertical, categories=VERTICALS).codes
    mc = pd.Categorical(market.country, categories=COUNTRIES).codes
    md = _day_index(market.date, start)
    ok = (md >= 0) & (md < days)
    for col in ("demand_index", "cpm_index", "cpc_index"):
        grid = np.full((len(VERTICALS), len(COUNTRIES), days), np.nan)
        grid[mv[ok], mc[ok], md[ok]] = market[col].to_numpy()[ok]
        full = np.full((len(VERTICALS), len(COUNTRIES), days + 1), np.nan)
        full[:, :, 1:] = grid
        mk[col] = full

    return ContextArrays(
        start=start, days=days, advertiser_id=adv_ids, adv_static=advertisers,
        campaign_id=camp_ids, camp_adv=camp_adv, camp_static=campaigns,
        perf=perf_cum, state=state, adv_perf=adv_perf, workflow={k: _cum(v) for k, v in wf.items()},
        last_session=last_session, shown=_cum(shown), adopted=_cum(adopted),
        dismissed=_cum(dismissed), snoozed=_cum(snoozed), last_adoption=_last_day(any_adopt),
        last_dismissal=last_dismissal, last_dismiss_reason=last_reason, market=mk,
        peers={name: _cum(peers[:, :, m, :]) for m, name in enumerate(
            ("clicks", "impressions", "spend", "conversions", "tracked_clicks"))},
    )
