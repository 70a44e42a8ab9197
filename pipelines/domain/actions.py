"""The kinds of guidance: every action type with its category, wording, the channels it applies
to, the numeric variants it comes in, the entity catalog it takes a parameter from, and whether
the same (campaign, item) can be worth applying more than once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.domain.vocabulary import CATEGORIES, CHANNELS


@dataclass(frozen=True)
class ActionType:
    """One kind of guidance. `params` lists the numeric variants (percent) where there are any;
    `entity` names the entity catalog it takes a parameter from (keyword, interest, product);
    `repeatable` says whether applying it again can help again (raise the budget another 10 %),
    where a one-shot action (install tracking) is done once and for all."""

    name: str
    category: str
    title: str
    description: str
    channels: tuple[str, ...] = CHANNELS
    params: tuple[float, ...] = ()
    entity: str | None = None
    repeatable: bool = False


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType("budget_raise", "budget", "Raise the daily budget by {param:.0f} %",
               "Your campaign runs out of budget before the day ends; more budget buys the "
               "conversions you are missing.", params=(10, 20, 50), repeatable=True),
    ActionType("budget_lower", "budget", "Lower the daily budget by {param:.0f} %",
               "Extra spend on this campaign costs more per conversion than a conversion is "
               "worth; spend less here.", params=(20,), repeatable=True),
    ActionType("budget_seasonal_boost", "budget", "Boost the budget {param:.0f} % for the season",
               "Demand peaks over the holidays; a temporary budget raise keeps you in the "
               "auctions that matter.", params=(30,), repeatable=True),
    ActionType("bid_switch_auto", "bidding", "Switch to automatic bidding",
               "Let the platform set bids auction by auction to get the most conversions for "
               "your budget."),
    ActionType("bid_target_cpa", "bidding", "Bid to a target cost per conversion",
               "Set a target CPA so automatic bidding aims at a cost you can afford."),
    ActionType("bid_target_roas", "bidding", "Bid to a target return on ad spend",
               "Bid for conversion value rather than count; needs steady conversion volume."),
    ActionType("bid_raise_manual", "bidding", "Raise manual bids by {param:.0f} %",
               "Your bids lose auctions you could win; higher bids buy more traffic.",
               params=(15,), repeatable=True),
    ActionType("creative_refresh", "creative", "Refresh your ad creatives",
               "Your ads have been running for weeks and their click-through rate is falling; new "
               "creatives win back attention.", repeatable=True),
    ActionType("creative_add_variants", "creative", "Add two more ad variants",
               "More variants let delivery rotate creatives and slow fatigue.", repeatable=True),
    ActionType("creative_add_video", "creative", "Add a video ad",
               "Video formats lift click-through on social and display placements.",
               channels=("social", "display")),
    ActionType("creative_responsive_ads", "creative", "Use responsive ads",
               "Responsive ads combine your headlines and images into the best-performing mix."),
    ActionType("creative_add_extensions", "creative", "Add sitelinks and callouts",
               "Ad extensions make search ads larger and more clickable.", channels=("search",)),
    ActionType("targeting_broaden", "targeting", "Broaden your targeting",
               "Your audience is narrow and the campaign has budget to spare; reach more people."),
    ActionType("targeting_lookalike", "targeting", "Add a lookalike audience",
               "Reach people who resemble your best customers.", channels=("social", "display")),
    ActionType("targeting_expand_geo", "targeting", "Expand your locations",
               "Show ads in nearby regions where customers like yours search."),
    ActionType("targeting_remarketing", "targeting", "Add a remarketing audience",
               "Re-engage visitors who did not convert the first time."),
    ActionType("keyword_add", "keywords", "Add the keyword “{entity}”",
               "This search term is relevant to your business and gaining volume.",
               channels=("search",), entity="keyword", repeatable=True),
    ActionType("keyword_broad_match", "keywords", "Use broad match keywords",
               "Broad match with automatic bidding finds relevant searches you miss.",
               channels=("search",)),
    ActionType("keyword_add_negatives", "keywords", "Add negative keywords",
               "Some searches that trigger your ads never convert; exclude them.",
               channels=("search",)),
    ActionType("keyword_remove_low_quality", "keywords", "Remove low-quality keywords",
               "Keywords with low quality scores drag down your account.", channels=("search",)),
    ActionType("interest_add", "interests", "Target the interest “{entity}”",
               "People with this interest engage with businesses like yours, and it is trending.",
               channels=("social", "display"), entity="interest", repeatable=True),
    ActionType("interest_advantage_audience", "interests", "Let delivery expand your interests",
               "Automatic audience expansion finds people beyond your chosen interests.",
               channels=("social", "display")),
    ActionType("product_promote", "products", "Promote “{entity}”",
               "This product sells well; give it its own ads.", entity="product", repeatable=True),
    ActionType("product_feed_fix", "products", "Fix errors in your product feed",
               "Products with feed errors cannot be shown in ads."),
    ActionType("product_shopping_campaign", "products", "Start a shopping campaign",
               "Show your catalog with images and prices to people ready to buy."),
    ActionType("tracking_install_pixel", "tracking", "Install conversion tracking",
               "Without tracking you cannot see which ads drive sales, and automatic bidding "
               "flies blind."),
    ActionType("tracking_enable_capi", "tracking", "Send conversions from your server",
               "Server-side events recover conversions the browser pixel misses."),
    ActionType("tracking_enhanced_conversions", "tracking", "Turn on enhanced conversions",
               "Hashed first-party data improves conversion measurement."),
    ActionType("hygiene_fix_payment", "account_hygiene", "Update your payment method",
               "Your last payment failed and your ads have stopped."),
    ActionType("hygiene_fix_disapproved", "account_hygiene", "Fix disapproved ads",
               "Some of your ads were disapproved and no longer run."),
    ActionType("hygiene_pause_underperforming", "account_hygiene", "Pause this campaign",
               "It spends without returning enough conversions to pay for itself."),
    ActionType("hygiene_resume_paused", "account_hygiene", "Resume this paused campaign",
               "It converted well before it was paused."),
)
ACTION_INDEX = {a.name: i for i, a in enumerate(ACTION_TYPES)}
ACTION_CATEGORY = np.array([CATEGORIES.index(a.category) for a in ACTION_TYPES])
CATEGORY_OF = {a.name: a.category for a in ACTION_TYPES}
ACTION_CHANNEL_OK = np.array(
    [[ch in a.channels for ch in CHANNELS] for a in ACTION_TYPES], dtype=bool
)
ONE_SHOT = np.array([not a.repeatable for a in ACTION_TYPES])
# Actions that take one entity of a large catalog (a keyword, an interest, a product).
ENTITY_ACTIONS = tuple(a.name for a in ACTION_TYPES if a.entity is not None)
