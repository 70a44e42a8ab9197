"""The advertiser's history with guidance: what was shown, adopted, dismissed, and why."""

from __future__ import annotations

import numpy as np

from pipelines.context.registry import pct, ratio, signal, window
from pipelines.context.signals._common import days_since, plural
from pipelines.domain.vocabulary import CATEGORIES, DISMISS_REASONS


def _all(cube, q, days):
    return window(cube.sum(axis=1), q.adv, q.day, days)


for name, attr, word in (("guidance_shown_28d", "shown", "item"),
                         ("guidance_adopted_28d", "adopted", "adoption"),
                         ("guidance_dismissed_28d", "dismissed", "dismissal"),
                         ("guidance_snoozed_28d", "snoozed", "snooze")):
    signal(name, "interaction", "advertiser", "int", "items",
           f"Guidance {attr} over 28 days (by the day of the response).",
           lambda v, w=word: f"{plural(v, w)} of guidance in 28 days")(
        lambda ctx, q, a=attr: _all(getattr(ctx, a), q, 28))


@signal("adoption_rate_90d", "interaction", "advertiser", "float", "share",
        "Items adopted over items shown, 90 days.",
        lambda v: f"adopted {pct(v)} of the guidance shown in 90 days")
def adoption_rate_90d(ctx, q):
    return ratio(_all(ctx.adopted, q, 90), _all(ctx.shown, q, 90))


@signal("dismissal_rate_90d", "interaction", "advertiser", "float", "share",
        "Items dismissed over items shown, 90 days.",
        lambda v: f"dismissed {pct(v)} of the guidance shown in 90 days")
def dismissal_rate_90d(ctx, q):
    return ratio(_all(ctx.dismissed, q, 90), _all(ctx.shown, q, 90))


@signal("days_since_last_adoption", "interaction", "advertiser", "int", "days",
        "Days since the advertiser last adopted guidance.",
        lambda v: f"last adopted guidance {v:.0f} days ago")
def days_since_last_adoption(ctx, q):
    return days_since(ctx.last_adoption, q)


@signal("days_since_last_dismissal", "interaction", "advertiser", "int", "days",
        "Days since the advertiser last dismissed guidance.",
        lambda v: f"last dismissed guidance {v:.0f} days ago")
def days_since_last_dismissal(ctx, q):
    return days_since(ctx.last_dismissal, q)


@signal("last_dismiss_reason", "interaction", "advertiser", "category", "",
        "Reason given at the last dismissal.",
        lambda v: f"last dismissed guidance as {str(v).replace('_', ' ')}")
def last_dismiss_reason(ctx, q):
    code = ctx.last_dismiss_reason[q.adv, q.day]
    return np.where(code >= 0, np.array(DISMISS_REASONS, dtype=object)[np.maximum(code, 0)], None)


for i, cat in enumerate(CATEGORIES):
    label = cat.replace("_", " ")
    signal(f"adoption_rate_{cat}_90d", "interaction", "advertiser", "float", "share",
           f"Share of {label} guidance adopted, 90 days.",
           lambda v, lb=label: f"adopts {pct(v)} of {lb} guidance")(
        lambda ctx, q, i=i: ratio(window(ctx.adopted[:, i], q.adv, q.day, 90),
                                  window(ctx.shown[:, i], q.adv, q.day, 90)))
    signal(f"dismissal_rate_{cat}_90d", "interaction", "advertiser", "float", "share",
           f"Share of {label} guidance dismissed, 90 days.",
           lambda v, lb=label: f"dismisses {pct(v)} of {lb} guidance")(
        lambda ctx, q, i=i: ratio(window(ctx.dismissed[:, i], q.adv, q.day, 90),
                                  window(ctx.shown[:, i], q.adv, q.day, 90)))
