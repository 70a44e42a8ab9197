"""Who the advertiser is: static facts and the state of the account."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.context.registry import signal, window
from pipelines.context.signals._common import static


@signal("vertical", "account", "advertiser", "category", "", "Industry of the account.",
        lambda v: f"in the {str(v).replace('_', ' ')} vertical")
def vertical(ctx, q):
    return static(ctx, q, "vertical")


@signal("country", "account", "advertiser", "category", "", "Country of the account.",
        lambda v: f"advertises in {v}")
def country(ctx, q):
    return static(ctx, q, "country")


@signal("size_tier", "account", "advertiser", "category", "", "SMB, mid-market or enterprise.",
        lambda v: {"smb": "a small business", "mid_market": "a mid-market account",
                   "enterprise": "an enterprise account"}.get(v, str(v)))
def size_tier(ctx, q):
    return static(ctx, q, "size_tier")


@signal("managed", "account", "advertiser", "bool", "", "A sales rep looks after the account.",
        lambda v: "looked after by a sales rep" if v else "self-serve")
def managed(ctx, q):
    return static(ctx, q, "managed").astype(bool)


@signal("tenure_days", "account", "advertiser", "int", "days", "Days since sign-up.",
        lambda v: f"advertising for {v / 365:.1f} years" if v >= 365 else
        f"advertising for {v:.0f} days")
def tenure_days(ctx, q):
    as_of = pd.Timestamp(ctx.start) + pd.to_timedelta(q.day, unit="D")
    signup = pd.to_datetime(static(ctx, q, "signup_date"))
    return np.asarray((as_of - signup).days, dtype=float)


@signal("live_campaigns", "account", "advertiser", "int", "campaigns",
        "Campaigns that delivered on the day before.",
        lambda v: f"{v:.0f} live campaign{'s' if v != 1 else ''}")
def live_campaigns(ctx, q):
    return window(ctx.adv_perf["live"], q.adv, q.day, 1)


@signal("has_product_catalog", "account", "advertiser", "bool", "",
        "Has uploaded a product catalog.",
        lambda v: "sells from a product catalog" if v else "has no product catalog")
def has_product_catalog(ctx, q):
    return static(ctx, q, "has_product_catalog").astype(bool)


@signal("notifications_opt_in", "account", "advertiser", "bool", "",
        "Accepts guidance by notification.",
        lambda v: "accepts notifications" if v else "opted out of notifications")
def notifications_opt_in(ctx, q):
    return static(ctx, q, "notifications_opt_in").astype(bool)
