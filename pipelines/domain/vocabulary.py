"""The fixed vocabularies of the raw tables and of the guidance service."""

from __future__ import annotations

VERTICALS = (
    "apparel", "animals_pets", "arts_entertainment", "automotive", "dental_health", "education",
    "finance", "fitness", "home_improvement", "legal", "real_estate", "travel",
)
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "BR", "IN")
TIERS = ("smb", "mid_market", "enterprise")

CHANNELS = ("search", "social", "display")
OBJECTIVES = ("sales", "leads", "traffic", "awareness")
TRACKING_LEVELS = ("none", "pixel", "pixel_and_server")

SURFACES = ("ads_manager", "business_assistant", "notification", "sales_workflow")
SURFACE_INDEX = {s: i for i, s in enumerate(SURFACES)}
OUTCOMES = ("adopted", "dismissed", "snoozed", "ignored")
DISMISS_REASONS = ("not_relevant", "already_done", "too_expensive", "disagree_with_estimate", "other")

CATEGORIES = (
    "budget", "bidding", "creative", "targeting", "keywords", "interests", "products", "tracking",
    "account_hygiene",
)
