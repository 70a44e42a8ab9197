"""The signal sentences that justify an item: only facts that argue for the action.

`SUPPORT_BY_ACTION` and `SUPPORT_BY_CATEGORY` (the default for an action type without its own
list) declare the signals that can argue for the action, each with its direction and threshold: the
value at which a person would call it a reason to act. A signal whose value does not pass its
threshold is never a reason, so "creatives last refreshed 3 days ago" never accompanies "Refresh
your ad creatives". Sentences come from the signal registry, so the reason an advertiser reads is
the same fact the model saw. docs/signals.md ("Reasons") explains the thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import pandas as pd

import pipelines.context.signals  # noqa: F401  (registers every signal)
from pipelines.context.registry import SIGNALS_BY_NAME
from pipelines.errors import DataError


@dataclass(frozen=True)
class Support:
    """One fact that argues for an action.

    `kind` "at_least": the value supports at or above `threshold`; "at_most": at or below it;
    "is": when it equals one of `values` (a bool or category signal). `scale` (in the signal's
    unit) sets how strongly an ordered fact supports: 1 at the threshold, plus 1 per `scale`
    past it; an "is" fact supports with the fixed strength `weight`.
    """

    signal: str
    kind: str
    threshold: float = math.nan
    scale: float = 1.0
    values: tuple = ()
    weight: float = 1.0


def at_least(signal: str, threshold: float, scale: float) -> Support:
    return Support(signal, "at_least", threshold, scale)


def at_most(signal: str, threshold: float, scale: float) -> Support:
    return Support(signal, "at_most", threshold, scale)


def equals(signal: str, *values, weight: float = 1.0) -> Support:
    return Support(signal, "is", values=values, weight=weight)


# Shared facts. Units: shares and changes are fractions (0.7 = 70 %, -0.05 = 5 % down); the
# *_vs_vertical ratios are 1 at the vertical's same-channel rate; ROAS is value per dollar.
_LIMITED = at_least("budget_limited_days_7d", 2, 2)  # the budget ran out on 2+ of 7 days
_FULL = at_least("budget_utilisation_7d", 0.9, 0.1)  # spends 90 %+ of its budget
_EARLY = at_most("budget_exhausted_hour_7d", 20, 4)  # out of budget before 20:00
# Returns 1.5× its spend or more: at conversions ∝ spend^0.72 the next dollar returns 0.72× the
# average, so above ≈ 1.4× it still pays for itself.
_PROFITABLE = at_least("roas_28d", 1.5, 1.5)
_LOSES = at_most("roas_28d", 1.0, 0.5)  # returns less than it spends
_SPARE = at_most("budget_utilisation_7d", 0.7, 0.2)  # 30 %+ of the budget goes unspent
_DEMAND_UP = at_least("market_demand_trend_14d", 0.1, 0.1)  # market demand up 10 %+ in 14 days
_NARROW = at_most("targeting_breadth", 0.35, 0.15)  # what the registry's sentence calls narrow
_FATIGUED = at_least("creative_fatigue", 0.2, 0.1)  # a refresh wins back 25 %+ of CTR
_CTR_FALLING = at_most("ctr_trend_14d", -0.05, 0.1)  # CTR down 5 %+ week on week
_CTR_LOW = at_most("ctr_vs_vertical_7d", 0.7, 0.2)  # CTR 30 %+ below its vertical's
_CVR_LOW = at_most("cvr_vs_vertical_28d", 0.7, 0.2)  # converts 30 %+ below its vertical
_CPC_HIGH = at_least("cpc_vs_vertical_7d", 1.5, 0.5)  # pays 50 %+ more per click than peers
_FEW_CREATIVES = at_most("creative_count", 2, 1)
_AUTO = equals("bid_automatic", True, weight=0.5)
_MANUAL = equals("bid_automatic", False, weight=0.5)
_TRACKED = equals("conversion_tracking", "pixel", "pixel_and_server", weight=0.5)
# Automatic bidding beats manual bids above ≈ 30 tracked conversions in 30 days and loses to
# them below ≈ 15 (the world's bidding factor; the platform's own advice says 30-50).
_LEARNS = at_least("conversions_30d", 30, 30)

SUPPORT_BY_CATEGORY: dict[str, tuple[Support, ...]] = {
    "budget": (_LIMITED, _FULL, _EARLY, _PROFITABLE),
    "bidding": (_LEARNS, _MANUAL, _TRACKED),
    "creative": (_FATIGUED, _CTR_FALLING, _CTR_LOW),
    "targeting": (_NARROW, _SPARE),
    "keywords": (_SPARE, _DEMAND_UP),
    "interests": (_SPARE, _NARROW, _DEMAND_UP),
    "products": (_PROFITABLE, _SPARE, equals("has_product_catalog", True, weight=0.5)),
    "tracking": (equals("conversion_tracking", "none", "pixel"),),
    "account_hygiene": (at_least("payment_errors_7d", 1, 1),
                        at_least("disapproved_share", 0.01, 0.1),
                        at_least("disapproval_errors_7d", 1, 1)),
}

# Action types whose category's facts would not say why; each replaces its category's list.
SUPPORT_BY_ACTION: dict[str, tuple[Support, ...]] = {
    "budget_lower": (_LOSES, _CPC_HIGH, _CVR_LOW),
    "budget_seasonal_boost": (_DEMAND_UP, at_least("market_demand_index", 1.25, 0.25), _LIMITED),
    "bid_target_cpa": (_LEARNS, _AUTO, _TRACKED),
    "bid_target_roas": (at_least("conversions_30d", 50, 50), _AUTO, _TRACKED),
    "bid_raise_manual": (_SPARE, _PROFITABLE, _MANUAL),
    "creative_refresh": (at_least("creative_age_days", 21, 14), _FATIGUED, _CTR_FALLING,
                         _CTR_LOW),
    "creative_add_variants": (_FEW_CREATIVES, _FATIGUED, _CTR_FALLING),
    "creative_responsive_ads": (_FEW_CREATIVES, _FATIGUED, _CTR_FALLING, _CTR_LOW),
    "targeting_remarketing": (_CVR_LOW,),
    "keyword_broad_match": (equals("bid_automatic", True), _SPARE),
    "keyword_add_negatives": (_CVR_LOW, _LOSES),
    "keyword_remove_low_quality": (_CTR_LOW, _CPC_HIGH),
    "interest_advantage_audience": (_NARROW, _SPARE, _AUTO),
    "product_feed_fix": (at_least("feed_errors_7d", 1, 1),),
    "tracking_install_pixel": (equals("conversion_tracking", "none", weight=2.0),
                               equals("bid_automatic", True)),
    "tracking_enable_capi": (equals("conversion_tracking", "pixel", weight=1.5),
                             equals("bid_automatic", True)),
    "tracking_enhanced_conversions": (equals("bid_automatic", True), _TRACKED),
    "hygiene_fix_payment": (at_least("payment_errors_7d", 1, 1),
                            at_least("days_since_live", 1, 3),
                            at_most("spend_7d", 0, 1)),  # the ads have stopped
    "hygiene_fix_disapproved": (at_least("disapproved_share", 0.01, 0.1),
                                at_least("disapproval_errors_7d", 1, 1)),
    "hygiene_pause_underperforming": (_LOSES, _CVR_LOW, _CPC_HIGH),
    "hygiene_resume_paused": (at_least("days_since_live", 1, 7), at_most("live_days_7d", 0, 1),
                              _PROFITABLE, at_least("cvr_vs_vertical_28d", 1.0, 0.3)),
}


def support_rules(action_type: str, category: str) -> tuple[Support, ...]:
    """The facts that can argue for `action_type` (its own list, else its category's)."""
    if action_type in SUPPORT_BY_ACTION:
        return SUPPORT_BY_ACTION[action_type]
    return SUPPORT_BY_CATEGORY.get(category, ())


def _known(value) -> bool:
    if value is None or value is pd.NA:
        return False
    return not (isinstance(value, Real) and math.isnan(value))


def strength(rule: Support, value) -> float:
    """How strongly `value` of `rule.signal` argues for the action: ≥ 1 when it passes the
    rule's threshold, 0 when it does not or is unknown (None, NaN)."""
    if not _known(value):
        return 0.0
    if rule.kind == "is":
        hit = (bool(value) in rule.values) if isinstance(rule.values[0], bool) else (
            value in rule.values)
        return rule.weight if hit else 0.0
    if isinstance(value, bool) or not isinstance(value, Real):
        raise DataError(f"signal {rule.signal}: expected a number, got {value!r}")
    past = value - rule.threshold if rule.kind == "at_least" else rule.threshold - value
    return 1.0 + past / rule.scale if past >= 0 else 0.0


def supports(action_type: str, category: str, signal: str, value) -> bool:
    """Whether `signal` at `value` is a fact that argues for `action_type` (of `category`):
    the signal is declared for the action and its value passes the threshold; never for an
    unknown value."""
    return any(strength(r, value) > 0 for r in support_rules(action_type, category)
               if r.signal == signal)


def reasons(action_type: str, category: str, values: dict, limit: int = 3
            ) -> list[tuple[str, str]]:
    """(signal, sentence) pairs for an item, strongest first, at most `limit`: the declared
    facts whose value in `values` (signal name → value) argues for the action. Empty when
    nothing does: the service's item then says `no_supporting_signal` rather than pad."""
    scored = []
    for order, rule in enumerate(support_rules(action_type, category)):
        value = values.get(rule.signal)
        s = strength(rule, value)
        if s > 0:
            scored.append((-s, order, rule.signal, value))
    scored.sort()
    return [(name, SIGNALS_BY_NAME[name].explain(v)) for _, _, name, v in scored[:limit]]


def _fact(rule: Support) -> str:
    if rule.kind == "is":
        said = " or ".join(str(v).lower() if isinstance(v, bool) else f"`{v}`"
                           for v in rule.values)
        return f"`{rule.signal}` is {said} (strength {rule.weight:g})"
    sign = "≥" if rule.kind == "at_least" else "≤"
    return f"`{rule.signal}` {sign} {rule.threshold:g} (+1 per {rule.scale:g})"


def markdown() -> str:
    """The "Reasons" section of docs/signals.md, from the tables above."""
    out = ["## Reasons", "",
           "Generated from `pipelines/candidates/reasons.py` by "
           "`python -m pipelines.candidates.reasons`.", "",
           "The reasons shown with a recommendation are facts that argue for it. "
           "`pipelines/candidates/reasons.py` declares, per action type (or per category, for an "
           "action type without its own list), the signals that can support the action, each "
           "with its direction and threshold: where a person would call the value a reason to "
           "act. A signal whose value does not pass is never a reason, and an unknown value "
           "never is. Reasons come strongest first (strength 1 at the threshold, plus 1 per "
           "scale past it; a yes/no or category fact has a fixed strength), at most three. An "
           "item that nothing supports has no reasons and says so (`no_supporting_signal` in "
           "the service's item) rather than being padded with facts that do not argue for it.",
           "",
           "Shares and changes are fractions (0.7 is 70 %, -0.05 is 5 % down); the "
           "`*_vs_vertical` ratios are 1 at the vertical's same-channel rate. The thresholds "
           "follow what the signals mean: creatives go stale after three weeks, and at a fifth "
           "of clicks lost to fatigue a refresh wins back a quarter more; a campaign that "
           "returns 1.5× its spend or more pays for the next dollar too (conversions grow as "
           "spend^0.72, so the next dollar returns 0.72× the average); automatic bidding learns "
           "from 30 tracked conversions in 30 days and loses to manual bids below 15; a "
           "campaign spending under 70 % of its budget has room for more reach; a breadth "
           "under 0.35 is what the registry's sentence calls narrow.", "",
           "An empty slate says why, in `empty_reason`: `opted_out` (a notification for an "
           "account that did not opt in), `daily_cap_reached` (no slots left today on the "
           "surface), `nothing_applies` (no guidance applies to the account's campaigns) or "
           "`all_filtered` (guidance applies but the business rules hid all of it; "
           "`empty_detail` names the rule that hid the most: `recently_shown`, `dismissed`, "
           "`snoozed`, `applied` or `one_shot_done`), with a sentence for people in "
           "`empty_message`.", "",
           "| action type | supported by |", "| --- | --- |"]
    for category, rules in SUPPORT_BY_CATEGORY.items():
        out.append(f"| any *{category}* action without its own row | "
                   + "; ".join(_fact(r) for r in rules) + " |")
    for action, rules in SUPPORT_BY_ACTION.items():
        out.append(f"| `{action}` | " + "; ".join(_fact(r) for r in rules) + " |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
