"""The advertiser's market: seasonality, auction prices, and performance against its peers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.context.registry import ratio, signal, window
from pipelines.context.signals._common import campaign_rows, per_campaign, static
from pipelines.domain.vocabulary import CHANNELS, COUNTRIES, VERTICALS


def _cell(ctx, q):
    v = pd.Categorical(static(ctx, q, "vertical"), categories=VERTICALS).codes
    c = pd.Categorical(static(ctx, q, "country"), categories=COUNTRIES).codes
    return v, c


def _index(ctx, q, col, lag=0):
    v, c = _cell(ctx, q)
    return ctx.market[col][v, c, np.maximum(q.day - lag, 0)]


def _vs(v, what):
    return f"{what} {abs(v - 1) * 100:.0f} % {'above' if v >= 1 else 'below'} its vertical's"


@signal("market_demand_index", "market", "advertiser", "float", "index",
        "Conversion demand in the vertical and country against a normal day.",
        lambda v: f"market demand at {v:.2f}× a normal day")
def market_demand_index(ctx, q):
    return _index(ctx, q, "demand_index")


@signal("market_demand_trend_14d", "market", "advertiser", "float", "change",
        "Change of market demand over 14 days.",
        lambda v: f"market demand {'up' if v >= 0 else 'down'} {abs(v) * 100:.0f} % in 14 days")
def market_demand_trend_14d(ctx, q):
    return ratio(_index(ctx, q, "demand_index"), _index(ctx, q, "demand_index", 14)) - 1


@signal("market_cpm_index", "market", "advertiser", "float", "index",
        "Social/display auction price against a normal US day.",
        lambda v: f"auction prices at {v:.2f}× a normal US day")
def market_cpm_index(ctx, q):
    return _index(ctx, q, "cpm_index")


@signal("market_cpm_trend_14d", "market", "advertiser", "float", "change",
        "Change of auction prices over 14 days (holiday season shows here).",
        lambda v: f"auction prices {'up' if v >= 0 else 'down'} {abs(v) * 100:.0f} % in 14 days")
def market_cpm_trend_14d(ctx, q):
    return ratio(_index(ctx, q, "cpm_index"), _index(ctx, q, "cpm_index", 14)) - 1


@signal("market_cpc_index", "market", "advertiser", "float", "index",
        "Search price per click against a normal US day.",
        lambda v: f"search clicks cost {v:.2f}× a normal US day")
def market_cpc_index(ctx, q):
    return _index(ctx, q, "cpc_index")


def _peer(ctx, q, key, days):
    ok, c = campaign_rows(q)
    v, _ = _cell(ctx, q)
    ch = pd.Categorical(np.where(ok, static(ctx, q, "channel", "campaign"), "search"),
                        categories=CHANNELS).codes
    return window(ctx.peers[key].reshape(-1, ctx.peers[key].shape[-1]),
                  v * len(CHANNELS) + ch, q.day, days)


@signal("ctr_vs_vertical_7d", "market", "campaign", "float", "ratio",
        "Campaign CTR over its vertical's same-channel CTR, 7 days.",
        lambda v: _vs(v, "CTR"))
def ctr_vs_vertical_7d(ctx, q):
    ok, c = campaign_rows(q)
    own = ratio(window(ctx.perf["clicks"], c, q.day, 7), window(ctx.perf["impressions"], c, q.day, 7))
    peer = ratio(_peer(ctx, q, "clicks", 7), _peer(ctx, q, "impressions", 7))
    return per_campaign(q, ratio(own, peer))


@signal("cpc_vs_vertical_7d", "market", "campaign", "float", "ratio",
        "Campaign cost per click over its vertical's same-channel CPC, 7 days.",
        lambda v: _vs(v, "cost per click"))
def cpc_vs_vertical_7d(ctx, q):
    ok, c = campaign_rows(q)
    own = ratio(window(ctx.perf["spend"], c, q.day, 7), window(ctx.perf["clicks"], c, q.day, 7))
    peer = ratio(_peer(ctx, q, "spend", 7), _peer(ctx, q, "clicks", 7))
    return per_campaign(q, ratio(own, peer))


@signal("cvr_vs_vertical_28d", "market", "campaign", "float", "ratio",
        "Campaign conversion rate over its vertical's same-channel rate, 28 days.",
        lambda v: _vs(v, "conversion rate"))
def cvr_vs_vertical_28d(ctx, q):
    ok, c = campaign_rows(q)
    own = ratio(window(ctx.perf["conversions"], c, q.day, 28),
                window(ctx.perf["tracked_clicks"], c, q.day, 28))
    peer = ratio(_peer(ctx, q, "conversions", 28), _peer(ctx, q, "tracked_clicks", 28))
    return per_campaign(q, ratio(own, peer))
