"""How a campaign is set up, as last seen before the as-of day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.context.registry import money, signal
from pipelines.context.signals._common import campaign_rows, per_campaign, static


def _state(ctx, q, key):
    _, c = campaign_rows(q)
    return per_campaign(q, ctx.state[key][c, q.day])


@signal("channel", "campaign", "campaign", "category", "", "search, social or display.",
        lambda v: f"a {v} campaign")
def channel(ctx, q):
    return static(ctx, q, "channel", "campaign")


@signal("objective", "campaign", "campaign", "category", "", "What the campaign optimises for.",
        lambda v: f"optimises for {v}")
def objective(ctx, q):
    return static(ctx, q, "objective", "campaign")


@signal("campaign_age_days", "campaign", "campaign", "int", "days", "Days since creation.",
        lambda v: f"created {v:.0f} days ago")
def campaign_age_days(ctx, q):
    as_of = pd.Timestamp(ctx.start) + pd.to_timedelta(q.day, unit="D")
    created = pd.to_datetime(static(ctx, q, "created_date", "campaign"))
    return per_campaign(q, np.asarray((as_of - created).days, dtype=float))


@signal("daily_budget", "campaign", "campaign", "float", "$/day", "Daily budget.",
        lambda v: f"daily budget {money(v)}")
def daily_budget(ctx, q):
    return _state(ctx, q, "daily_budget")


@signal("bid_automatic", "campaign", "campaign", "bool", "", "Uses automatic bidding.",
        lambda v: "bids automatically" if v else "bids manually")
def bid_automatic(ctx, q):
    return _state(ctx, q, "auto")


@signal("conversion_tracking", "campaign", "campaign", "category", "",
        "none, pixel or pixel_and_server.",
        lambda v: {"none": "has no conversion tracking", "pixel": "tracks conversions with a pixel",
                   "pixel_and_server": "tracks conversions with a pixel and server events"}.get(v, str(v)))
def conversion_tracking(ctx, q):
    level = _state(ctx, q, "tracking")
    names = np.array(["none", "pixel", "pixel_and_server"], dtype=object)
    return np.where(np.isnan(level), None, names[np.nan_to_num(level).astype(int)])


@signal("targeting_breadth", "campaign", "campaign", "float", "0-1",
        "Audience breadth from narrow (0) to broad (1).",
        lambda v: f"targets a {'narrow' if v < 0.35 else 'broad' if v > 0.7 else 'medium'} "
                  f"audience ({v:.2f})")
def targeting_breadth(ctx, q):
    return _state(ctx, q, "targeting_breadth")


@signal("creative_count", "campaign", "campaign", "int", "creatives", "Creatives in rotation.",
        lambda v: f"{v:.0f} creative{'s' if v != 1 else ''} in rotation")
def creative_count(ctx, q):
    return _state(ctx, q, "creative_count")


@signal("creative_age_days", "campaign", "campaign", "int", "days",
        "Days since the creatives were last refreshed.",
        lambda v: f"creatives last refreshed {v:.0f} days ago"
                  + (": they are going stale" if v > 28 else ""))
def creative_age_days(ctx, q):
    return _state(ctx, q, "creative_age_days")


@signal("creative_fatigue", "campaign", "campaign", "float", "share",
        "Share of click-through lost to creative fatigue.",
        lambda v: f"creative fatigue costs {v * 100:.0f} % of clicks")
def creative_fatigue(ctx, q):
    return _state(ctx, q, "creative_fatigue")


@signal("disapproved_share", "campaign", "campaign", "float", "share",
        "Share of the campaign's ads disapproved.",
        lambda v: f"{v * 100:.0f} % of its ads are disapproved" if v > 0 else "no disapproved ads")
def disapproved_share(ctx, q):
    return _state(ctx, q, "disapproved_share")


@signal("days_since_live", "campaign", "campaign", "int", "days",
        "Days since the campaign last delivered (0: yesterday).",
        lambda v: "delivered yesterday" if v == 0 else f"paused or stopped for {v:.0f} days")
def days_since_live(ctx, q):
    last = _state(ctx, q, "last_live_day")
    return np.where(last >= 0, q.day - 1 - last, np.nan)
