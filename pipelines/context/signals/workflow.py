"""What the advertiser does in Ads Manager: visits, edits, errors met."""

from __future__ import annotations

from pipelines.context.registry import signal, window
from pipelines.context.signals._common import days_since, plural

_COUNTS = (
    ("sessions_7d", "sessions", 7, "Ads Manager sessions over 7 days.", "session", "in 7 days"),
    ("sessions_28d", "sessions", 28, "Ads Manager sessions over 28 days.", "session", "in 28 days"),
    ("edits_28d", "edits", 28, "Edits made by hand over 28 days.", "edit", "made by hand in 28 days"),
    ("page_views_28d", "page_views", 28, "Ads Manager pages viewed over 28 days.", "page view",
     "in 28 days"),
    ("recommendation_page_views_28d", "recommendation_views", 28,
     "Visits to the recommendations page over 28 days.", "visit", "to the recommendations page in 28 days"),
    ("payment_errors_7d", "error_payment_failed", 7, "Failed-payment errors met over 7 days.",
     "failed-payment error", "in 7 days"),
    ("disapproval_errors_7d", "error_ad_disapproved", 7, "Ad-disapproval notices met over 7 days.",
     "ad-disapproval notice", "in 7 days"),
    ("feed_errors_7d", "error_feed_error", 7, "Product-feed errors met over 7 days.",
     "product-feed error", "in 7 days"),
)

for name, key, days, desc, word, tail in _COUNTS:
    signal(name, "workflow", "advertiser", "int", "events", desc,
           lambda v, w=word, t=tail: f"{plural(v, w)} {t}")(
        lambda ctx, q, k=key, d=days: window(ctx.workflow[k], q.adv, q.day, d))


@signal("days_since_last_session", "workflow", "advertiser", "int", "days",
        "Days since the last Ads Manager session.",
        lambda v: "in Ads Manager yesterday" if v <= 1 else f"last in Ads Manager {v:.0f} days ago")
def days_since_last_session(ctx, q):
    return days_since(ctx.last_session, q)
