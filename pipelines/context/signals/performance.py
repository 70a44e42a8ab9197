"""How campaigns and the account performed over trailing windows before the as-of day."""

from __future__ import annotations


from pipelines.context.registry import money, pct, ratio, signal, window
from pipelines.context.signals._common import campaign_rows, per_campaign


def _w(ctx, q, key, days):
    _, c = campaign_rows(q)
    return per_campaign(q, window(ctx.perf[key], c, q.day, days))


def _trend(now, before):
    return ratio(now, before) - 1


def _updown(v, what, span):
    return f"{what} {'up' if v >= 0 else 'down'} {abs(v) * 100:.0f} % over {span}"


for days in (7, 28):
    signal(f"spend_{days}d", "performance", "campaign", "float", "$",
           f"Spend over the last {days} days.",
           lambda v, d=days: f"spent {money(v)} in the last {d} days")(
        lambda ctx, q, d=days: _w(ctx, q, "spend", d))
    signal(f"conversions_{days}d", "performance", "campaign", "float", "conversions",
           f"Tracked conversions over the last {days} days.",
           lambda v, d=days: f"{v:.0f} tracked conversions in the last {d} days")(
        lambda ctx, q, d=days: _w(ctx, q, "conversions", d))
    signal(f"budget_limited_days_{days}d", "performance", "campaign", "int", "days",
           f"Days the budget ran out, of the last {days}.",
           lambda v, d=days: f"budget-limited on {v:.0f} of the last {d} days")(
        lambda ctx, q, d=days: _w(ctx, q, "limited", d))


@signal("impressions_7d", "performance", "campaign", "int", "impressions",
        "Impressions over the last 7 days.", lambda v: f"{v:,.0f} impressions in 7 days")
def impressions_7d(ctx, q):
    return _w(ctx, q, "impressions", 7)


@signal("clicks_7d", "performance", "campaign", "int", "clicks", "Clicks over the last 7 days.",
        lambda v: f"{v:,.0f} clicks in 7 days")
def clicks_7d(ctx, q):
    return _w(ctx, q, "clicks", 7)


@signal("conversions_30d", "performance", "campaign", "float", "conversions",
        "Tracked conversions over 30 days (automatic bidding wants 30-50).",
        lambda v: f"{v:.0f} tracked conversions in 30 days"
                  + (": enough for automatic bidding to learn" if v >= 30 else
                     ": too few for automatic bidding to learn well" if v < 15 else ""))
def conversions_30d(ctx, q):
    return _w(ctx, q, "conversions", 30)


@signal("ctr_7d", "performance", "campaign", "float", "share", "Click-through rate, 7 days.",
        lambda v: f"click-through rate {v * 100:.2f} % over 7 days")
def ctr_7d(ctx, q):
    return ratio(_w(ctx, q, "clicks", 7), _w(ctx, q, "impressions", 7))


@signal("ctr_trend_14d", "performance", "campaign", "float", "change",
        "CTR of the last 7 days against the 7 before.",
        lambda v: _updown(v, "CTR", "14 days") + (": creatives are fatiguing" if v < -0.15 else ""))
def ctr_trend_14d(ctx, q):
    now = ratio(_w(ctx, q, "clicks", 7), _w(ctx, q, "impressions", 7))
    before = ratio(_w(ctx, q, "clicks", 14) - _w(ctx, q, "clicks", 7),
                   _w(ctx, q, "impressions", 14) - _w(ctx, q, "impressions", 7))
    return _trend(now, before)


@signal("cvr_28d", "performance", "campaign", "float", "share",
        "Conversions per tracked click, 28 days.",
        lambda v: f"converts {v * 100:.1f} % of clicks")
def cvr_28d(ctx, q):
    return ratio(_w(ctx, q, "conversions", 28), _w(ctx, q, "tracked_clicks", 28))


@signal("cpa_28d", "performance", "campaign", "float", "$", "Cost per tracked conversion, 28 days.",
        lambda v: f"pays {money(v)} per conversion")
def cpa_28d(ctx, q):
    return ratio(_w(ctx, q, "tracked_spend", 28), _w(ctx, q, "conversions", 28))


@signal("roas_28d", "performance", "campaign", "float", "ratio",
        "Conversion value per tracked dollar spent, 28 days.",
        lambda v: f"returns {v:.1f}× its spend in conversion value"
                  + (": it loses money" if v < 1 else ""))
def roas_28d(ctx, q):
    return ratio(_w(ctx, q, "conversion_value", 28), _w(ctx, q, "tracked_spend", 28))


@signal("budget_exhausted_hour_7d", "performance", "campaign", "float", "hour",
        "Average hour the budget ran out on limited days, 7 days.",
        lambda v: f"runs out of budget around {v:.0f}:00")
def budget_exhausted_hour_7d(ctx, q):
    return ratio(_w(ctx, q, "exhausted_hour", 7), _w(ctx, q, "limited", 7))


@signal("budget_utilisation_7d", "performance", "campaign", "float", "share",
        "Spend over budget on live days, 7 days.",
        lambda v: f"spends {pct(v)} of its budget")
def budget_utilisation_7d(ctx, q):
    return ratio(_w(ctx, q, "spend", 7), _w(ctx, q, "budget", 7))


@signal("spend_trend_14d", "performance", "campaign", "float", "change",
        "Spend of the last 7 days against the 7 before.",
        lambda v: _updown(v, "spend", "14 days"))
def spend_trend_14d(ctx, q):
    return _trend(_w(ctx, q, "spend", 7), _w(ctx, q, "spend", 14) - _w(ctx, q, "spend", 7))


@signal("live_days_7d", "performance", "campaign", "int", "days",
        "Days the campaign was live, of the last 7.",
        lambda v: f"live on {v:.0f} of the last 7 days")
def live_days_7d(ctx, q):
    return _w(ctx, q, "live", 7)


@signal("account_spend_28d", "performance", "advertiser", "float", "$",
        "Account spend over the last 28 days.",
        lambda v: f"the account spent {money(v)} in 28 days")
def account_spend_28d(ctx, q):
    return window(ctx.adv_perf["spend"], q.adv, q.day, 28)


@signal("account_conversions_28d", "performance", "advertiser", "float", "conversions",
        "Account tracked conversions over the last 28 days.",
        lambda v: f"the account tracked {v:.0f} conversions in 28 days")
def account_conversions_28d(ctx, q):
    return window(ctx.adv_perf["conversions"], q.adv, q.day, 28)


@signal("account_roas_28d", "performance", "advertiser", "float", "ratio",
        "Account conversion value per tracked dollar, 28 days.",
        lambda v: f"the account returns {v:.1f}× its tracked spend")
def account_roas_28d(ctx, q):
    return ratio(window(ctx.adv_perf["conversion_value"], q.adv, q.day, 28),
                 window(ctx.adv_perf["tracked_spend"], q.adv, q.day, 28))


@signal("account_spend_trend_28d", "performance", "advertiser", "float", "change",
        "Account spend of the last 14 days against the 14 before.",
        lambda v: _updown(v, "account spend", "28 days"))
def account_spend_trend_28d(ctx, q):
    now = window(ctx.adv_perf["spend"], q.adv, q.day, 14)
    return _trend(now, window(ctx.adv_perf["spend"], q.adv, q.day, 28) - now)
