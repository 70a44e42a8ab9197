"""The world's fixed vocabularies and the public base rates it is calibrated to.

Figures cite ../shared/WORLD-FACTS.md; docs/world.md explains each choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------- advertisers
VERTICALS = (
    "apparel", "animals_pets", "arts_entertainment", "automotive", "dental_health", "education",
    "finance", "fitness", "home_improvement", "legal", "real_estate", "travel",
)
VERTICAL_SHARE = np.array([0.14, 0.06, 0.05, 0.07, 0.07, 0.08, 0.07, 0.07, 0.11, 0.08, 0.09, 0.10])
# Verticals that sell a product catalog (and so get product guidance).
CATALOG_VERTICALS = frozenset({"apparel", "animals_pets", "home_improvement", "fitness"})

COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "BR", "IN")
COUNTRY_SHARE = np.array([0.40, 0.10, 0.08, 0.06, 0.06, 0.05, 0.10, 0.15])
# Auction price level against the US (CPM and CPC scale with it).
COUNTRY_PRICE = np.array([1.00, 0.90, 0.85, 0.80, 0.85, 0.90, 0.35, 0.20])

TIERS = ("smb", "mid_market", "enterprise")
TIER_SHARE = np.array([0.90, 0.08, 0.02])
TIER_MANAGED = np.array([0.03, 0.50, 0.95])  # share with a sales rep
TIER_CAMPAIGNS = ((1, 3), (3, 6), (6, 12))  # campaigns per account, inclusive range
TIER_BUDGET_MEDIAN = np.array([30.0, 250.0, 900.0])  # dollars per day per campaign

# ---------------------------------------------------------------- campaigns
CHANNELS = ("search", "social", "display")
CHANNEL_SHARE = np.array([0.45, 0.40, 0.15])
OBJECTIVES = ("sales", "leads", "traffic", "awareness")
OBJECTIVE_SHARE = np.array([0.40, 0.35, 0.15, 0.10])

# Per vertical, US level: search CTR, search CPC ($), search CVR, social CTR, social CVR.
# Search columns follow the LocaliQ/WordStream 2024 edition (all-industry 6.4 % / $4.66 / 7 %);
# social CTR spans Meta's 0.5-1.6 % by industry and CVR its 4-14 %.
_BASE = {
    "apparel":            (0.060, 3.20, 0.033, 0.011, 0.045),
    "animals_pets":       (0.068, 3.60, 0.120, 0.012, 0.090),
    "arts_entertainment": (0.130, 1.72, 0.042, 0.016, 0.070),
    "automotive":         (0.090, 2.40, 0.065, 0.009, 0.080),
    "dental_health":      (0.055, 6.82, 0.090, 0.008, 0.100),
    "education":          (0.060, 4.80, 0.070, 0.008, 0.120),
    "finance":            (0.050, 5.80, 0.060, 0.007, 0.090),
    "fitness":            (0.065, 3.00, 0.080, 0.013, 0.140),
    "home_improvement":   (0.055, 6.96, 0.080, 0.009, 0.100),
    "legal":              (0.050, 8.94, 0.056, 0.016, 0.100),
    "real_estate":        (0.085, 2.10, 0.030, 0.010, 0.100),
    "travel":             (0.080, 1.92, 0.045, 0.010, 0.040),
}
SOCIAL_CPM = 9.5  # $ at price index 1 (Meta ≈ $7.9-12)
DISPLAY_CTR, DISPLAY_CPC, DISPLAY_CVR = 0.0046, 0.63, 0.0077
# Advertisers earn on average about 2.5 × their search cost per conversion (a typical ROAS);
# the hidden value per conversion spreads around it.
VALUE_OVER_SEARCH_CPA = 2.5


def base_rates() -> dict[str, np.ndarray]:
    """Arrays [vertical, channel] of base CTR, CPM ($ per 1000 impressions) and CVR (US)."""
    n = len(VERTICALS)
    ctr, cpm, cvr = (np.zeros((n, len(CHANNELS))) for _ in range(3))
    for v, name in enumerate(VERTICALS):
        s_ctr, s_cpc, s_cvr, so_ctr, so_cvr = _BASE[name]
        # Social and display base CTRs sit ~30 % above the targets: fatigue takes that back.
        ctr[v] = (s_ctr, 1.3 * so_ctr, 1.3 * DISPLAY_CTR * so_ctr / 0.011)
        cpm[v] = (s_ctr * s_cpc * 1000, SOCIAL_CPM, DISPLAY_CTR * DISPLAY_CPC * 1000)
        cvr[v] = (s_cvr, so_cvr, DISPLAY_CVR * s_cvr / 0.065)
    return {"ctr": ctr, "cpm": cpm, "cvr": cvr}


def search_cpa() -> np.ndarray:
    """US search cost per conversion by vertical ($): CPC / CVR."""
    return np.array([_BASE[v][1] / _BASE[v][2] for v in VERTICALS])


# ---------------------------------------------------------------- guidance
SURFACES = ("ads_manager", "business_assistant", "notification", "sales_workflow")
SLATE_SIZE = {"ads_manager": 3, "business_assistant": 3, "notification": 1, "sales_workflow": 5}
OUTCOMES = ("adopted", "dismissed", "snoozed", "ignored")
DISMISS_REASONS = ("not_relevant", "already_done", "too_expensive", "disagree_with_estimate", "other")

CATEGORIES = (
    "budget", "bidding", "creative", "targeting", "keywords", "interests", "products", "tracking",
    "account_hygiene",
)


@dataclass(frozen=True)
class ActionType:
    """One kind of guidance. `params` lists the numeric variants (percent) where there are any;
    `entity` names the entity catalog it takes a parameter from (keyword, interest, product)."""

    name: str
    category: str
    title: str
    description: str
    channels: tuple[str, ...] = CHANNELS
    params: tuple[float, ...] = ()
    entity: str | None = None
    effort: float = 0.5  # how much work adopting it is, 0 (one click) to 1 (a project)


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType("budget_raise", "budget", "Raise the daily budget by {param:.0f} %",
               "Your campaign runs out of budget before the day ends; more budget buys the "
               "conversions you are missing.", params=(10, 20, 50), effort=0.1),
    ActionType("budget_lower", "budget", "Lower the daily budget by {param:.0f} %",
               "Extra spend on this campaign costs more per conversion than a conversion is "
               "worth; spend less here.", params=(20,), effort=0.1),
    ActionType("budget_seasonal_boost", "budget", "Boost the budget {param:.0f} % for the season",
               "Demand peaks over the holidays; a temporary budget raise keeps you in the "
               "auctions that matter.", params=(30,), effort=0.1),
    ActionType("bid_switch_auto", "bidding", "Switch to automatic bidding",
               "Let the platform set bids auction by auction to get the most conversions for "
               "your budget.", effort=0.2),
    ActionType("bid_target_cpa", "bidding", "Bid to a target cost per conversion",
               "Set a target CPA so automatic bidding aims at a cost you can afford.", effort=0.3),
    ActionType("bid_target_roas", "bidding", "Bid to a target return on ad spend",
               "Bid for conversion value rather than count; needs steady conversion volume.",
               effort=0.35),
    ActionType("bid_raise_manual", "bidding", "Raise manual bids by {param:.0f} %",
               "Your bids lose auctions you could win; higher bids buy more traffic.",
               params=(15,), effort=0.2),
    ActionType("creative_refresh", "creative", "Refresh your ad creatives",
               "Your ads have been running for weeks and their click-through rate is falling; new "
               "creatives win back attention.", effort=0.7),
    ActionType("creative_add_variants", "creative", "Add two more ad variants",
               "More variants let delivery rotate creatives and slow fatigue.", effort=0.6),
    ActionType("creative_add_video", "creative", "Add a video ad",
               "Video formats lift click-through on social and display placements.",
               channels=("social", "display"), effort=0.9),
    ActionType("creative_responsive_ads", "creative", "Use responsive ads",
               "Responsive ads combine your headlines and images into the best-performing mix.",
               effort=0.4),
    ActionType("creative_add_extensions", "creative", "Add sitelinks and callouts",
               "Ad extensions make search ads larger and more clickable.", channels=("search",),
               effort=0.3),
    ActionType("targeting_broaden", "targeting", "Broaden your targeting",
               "Your audience is narrow and the campaign has budget to spare; reach more people.",
               effort=0.2),
    ActionType("targeting_lookalike", "targeting", "Add a lookalike audience",
               "Reach people who resemble your best customers.", channels=("social", "display"),
               effort=0.3),
    ActionType("targeting_expand_geo", "targeting", "Expand your locations",
               "Show ads in nearby regions where customers like yours search.", effort=0.2),
    ActionType("targeting_remarketing", "targeting", "Add a remarketing audience",
               "Re-engage visitors who did not convert the first time.", effort=0.4),
    ActionType("keyword_add", "keywords", "Add the keyword “{entity}”",
               "This search term is relevant to your business and gaining volume.",
               channels=("search",), entity="keyword", effort=0.15),
    ActionType("keyword_broad_match", "keywords", "Use broad match keywords",
               "Broad match with automatic bidding finds relevant searches you miss.",
               channels=("search",), effort=0.2),
    ActionType("keyword_add_negatives", "keywords", "Add negative keywords",
               "Some searches that trigger your ads never convert; exclude them.",
               channels=("search",), effort=0.3),
    ActionType("keyword_remove_low_quality", "keywords", "Remove low-quality keywords",
               "Keywords with low quality scores drag down your account.", channels=("search",),
               effort=0.3),
    ActionType("interest_add", "interests", "Target the interest “{entity}”",
               "People with this interest engage with businesses like yours, and it is trending.",
               channels=("social", "display"), entity="interest", effort=0.15),
    ActionType("interest_advantage_audience", "interests", "Let delivery expand your interests",
               "Automatic audience expansion finds people beyond your chosen interests.",
               channels=("social", "display"), effort=0.2),
    ActionType("product_promote", "products", "Promote “{entity}”",
               "This product sells well; give it its own ads.", entity="product", effort=0.3),
    ActionType("product_feed_fix", "products", "Fix errors in your product feed",
               "Products with feed errors cannot be shown in ads.", effort=0.5),
    ActionType("product_shopping_campaign", "products", "Start a shopping campaign",
               "Show your catalog with images and prices to people ready to buy.", effort=0.8),
    ActionType("tracking_install_pixel", "tracking", "Install conversion tracking",
               "Without tracking you cannot see which ads drive sales, and automatic bidding "
               "flies blind.", effort=0.8),
    ActionType("tracking_enable_capi", "tracking", "Send conversions from your server",
               "Server-side events recover conversions the browser pixel misses.", effort=0.9),
    ActionType("tracking_enhanced_conversions", "tracking", "Turn on enhanced conversions",
               "Hashed first-party data improves conversion measurement.", effort=0.5),
    ActionType("hygiene_fix_payment", "account_hygiene", "Update your payment method",
               "Your last payment failed and your ads have stopped.", effort=0.2),
    ActionType("hygiene_fix_disapproved", "account_hygiene", "Fix disapproved ads",
               "Some of your ads were disapproved and no longer run.", effort=0.4),
    ActionType("hygiene_pause_underperforming", "account_hygiene", "Pause this campaign",
               "It spends without returning enough conversions to pay for itself.", effort=0.1),
    ActionType("hygiene_resume_paused", "account_hygiene", "Resume this paused campaign",
               "It converted well before it was paused.", effort=0.1),
)
ACTION_INDEX = {a.name: i for i, a in enumerate(ACTION_TYPES)}
ACTION_CATEGORY = np.array([CATEGORIES.index(a.category) for a in ACTION_TYPES])
ACTION_EFFORT = np.array([a.effort for a in ACTION_TYPES])
ACTION_CHANNEL_OK = np.array(
    [[ch in a.channels for ch in CHANNELS] for a in ACTION_TYPES], dtype=bool
)
