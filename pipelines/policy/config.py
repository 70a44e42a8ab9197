"""The typed configuration of the decisioning policy: score weights, exploration, slate sizes and
caps per surface; cool-downs and platform values for every surface.

Scores are small numbers (a probability times a relative impact, typically 0 to 0.5), so a
temperature is in score units: at T = 0.05 a score gap of 0.05 makes an item e ≈ 2.7 times as
likely to be drawn first. An exploration floor f is a probability: each eligible item is shown
with probability at least min(f, 1 / the number eligible) whatever its score, which is what lets
the logs evaluate another policy (docs/policy.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.domain.vocabulary import CATEGORIES, DISMISS_REASONS, SURFACES
from pipelines.errors import ConfigError


class SurfacePolicy(BaseModel):
    """How one surface turns scored candidates into a slate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    impact: float = Field(1.0, ge=0, description="Weight on p_adopt × expected impact relative "
                                                 "to the account's impact scale.")
    platform: float = Field(0.3, ge=0, description="Weight on p_adopt × the platform value of "
                                                   "the action's category.")
    dismissal: float = Field(0.5, ge=0, description="Penalty weight on the predicted "
                                                    "probability of dismissal.")
    temperature: float = Field(0.05, ge=0, le=10, description="Plackett–Luce exploration "
                                                              "temperature in score units; 0 is "
                                                              "greedy.")
    exploration_floor: float = Field(
        0.0, ge=0, le=1, description="Least probability of each item still allowed at every "
                                     "step of the slate (a uniform mixture of weight "
                                     "min(1, floor × allowed)), so every eligible item is shown "
                                     "with probability at least min(floor, 1 / eligible); 0 "
                                     "is plain Plackett–Luce.")
    default_items: int = Field(3, ge=1, le=20, description="Slate size when the request does "
                                                           "not ask for one.")
    max_items: int = Field(10, ge=1, le=20, description="Largest slate a request may ask for.")
    daily_cap: int = Field(6, ge=1, le=1000, description="Most items shown to one advertiser on "
                                                         "this surface per UTC day, earlier "
                                                         "impressions included.")
    max_per_category: int = Field(2, ge=1, le=20, description="Most items of one category in a "
                                                              "slate (diversity).")

    @model_validator(mode="after")
    def _sizes_fit(self) -> "SurfacePolicy":
        if self.default_items > self.max_items:
            raise ValueError(f"default_items ({self.default_items}) must be <= max_items "
                             f"({self.max_items})")
        if self.default_items > self.daily_cap:
            raise ValueError(f"default_items ({self.default_items}) must be <= daily_cap "
                             f"({self.daily_cap}): a fresh day could never fill the slate")
        if self.max_per_category * len(CATEGORIES) < self.default_items:
            raise ValueError(f"max_per_category ({self.max_per_category}) × {len(CATEGORIES)} "
                             f"categories cannot fill default_items ({self.default_items})")
        return self


# Each surface's settings where they differ from SurfacePolicy's defaults (Ads Manager's).
SURFACE_DEFAULTS: dict[str, dict[str, float | int]] = {
    # The guidance panel in Ads Manager: a few items, moderate exploration.
    "ads_manager": {},
    # The assistant is conversational and cheap to ignore, so it explores a little more.
    "business_assistant": {"platform": 0.2, "dismissal": 0.7, "temperature": 0.08,
                           "max_items": 5, "daily_cap": 9},
    # A notification interrupts: one item a day, chosen almost greedily, and a predicted
    # dismissal costs four times what it costs in Ads Manager.
    "notification": {"platform": 0.1, "dismissal": 2.0, "temperature": 0.01, "default_items": 1,
                     "max_items": 2, "daily_cap": 1, "max_per_category": 1},
    # A sales rep works through an account's list with the advertiser: longer slates and more
    # items a day; reps also carry the platform's goals, so more platform weight and less fear
    # of a dismissal (the rep filters out what is irrelevant).
    "sales_workflow": {"platform": 0.5, "dismissal": 0.3, "temperature": 0.03,
                       "default_items": 5, "max_items": 20, "daily_cap": 50,
                       "max_per_category": 3},
}


def _surface_default(name: str):
    return lambda: SurfacePolicy(**SURFACE_DEFAULTS[name])


class Surfaces(BaseModel):
    """One SurfacePolicy per surface. A partial mapping for a surface (from YAML) overrides
    that surface's own defaults, not SurfacePolicy's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ads_manager: SurfacePolicy = Field(default_factory=_surface_default("ads_manager"),
                                       description="Guidance panel in Ads Manager.")
    business_assistant: SurfacePolicy = Field(
        default_factory=_surface_default("business_assistant"),
        description="Business assistant chat.")
    notification: SurfacePolicy = Field(default_factory=_surface_default("notification"),
                                        description="Push / e-mail notification.")
    sales_workflow: SurfacePolicy = Field(default_factory=_surface_default("sales_workflow"),
                                          description="A sales rep's view of an account.")

    @model_validator(mode="before")
    @classmethod
    def _over_surface_defaults(cls, data):
        if isinstance(data, dict):
            data = {name: {**SURFACE_DEFAULTS[name], **value}
                    if name in SURFACE_DEFAULTS and isinstance(value, dict) else value
                    for name, value in data.items()}
        return data


class DismissCooldowns(BaseModel):
    """Days a dismissed (campaign, item) stays hidden, by the reason the advertiser gave."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Irrelevance rarely changes quickly (wrong business, wrong channel): a quarter.
    not_relevant: int = Field(90, ge=0, le=3650, description="Cool-down after 'not relevant'.")
    # They did it (maybe outside the platform's view); asking again within a year is noise.
    already_done: int = Field(365, ge=0, le=3650, description="Cool-down after 'already done'.")
    # Budgets move with the season and cash flow; two months lets a new quarter start.
    too_expensive: int = Field(60, ge=0, le=3650, description="Cool-down after 'too "
                                                              "expensive'.")
    # Estimates change as performance data accrues; six weeks brings fresh evidence.
    disagree_with_estimate: int = Field(45, ge=0, le=3650, description="Cool-down after "
                                                                       "'disagree with the "
                                                                       "estimate'.")
    # An unexplained no: a month, the shortest, since we learn least from it.
    other: int = Field(30, ge=0, le=3650, description="Cool-down after 'other' or no reason.")


class PlatformValues(BaseModel):
    """What an adopted action of each category is worth to the platform, 0 to 1 (same scale as
    a relative impact of 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Measurement feeds automatic bidding and attribution across every campaign: the most value.
    tracking: float = Field(1.0, ge=0, le=1, description="Conversion tracking actions.")
    # Automatic bidding makes auctions more efficient for every bidder.
    bidding: float = Field(0.8, ge=0, le=1, description="Bidding actions.")
    # Failed payments and disapprovals stop delivery outright.
    account_hygiene: float = Field(0.7, ge=0, le=1, description="Account hygiene actions.")
    # Spend is revenue, but pushing budget erodes trust if it does not pay back.
    budget: float = Field(0.6, ge=0, le=1, description="Budget actions.")
    products: float = Field(0.6, ge=0, le=1, description="Product and shopping actions.")
    creative: float = Field(0.5, ge=0, le=1, description="Creative actions (ad quality).")
    # Audience and keyword changes mostly help the advertiser; their platform value is liquidity.
    targeting: float = Field(0.4, ge=0, le=1, description="Targeting actions.")
    keywords: float = Field(0.4, ge=0, le=1, description="Keyword actions.")
    interests: float = Field(0.3, ge=0, le=1, description="Interest actions.")

    def as_array(self) -> np.ndarray:
        """Values aligned with taxonomy.CATEGORIES."""
        return np.array([getattr(self, c) for c in CATEGORIES])


class PolicyConfig(BaseModel):
    """The whole decisioning policy: per-surface settings and the rules common to all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    surfaces: Surfaces = Field(default_factory=Surfaces, description="Settings per surface.")
    dismiss_cooldown_days: DismissCooldowns = Field(
        default_factory=DismissCooldowns, description="Days a dismissed item stays hidden, by "
                                                      "reason.")
    # Applying an item is the advertiser's own "already done".
    applied_cooldown_days: int = Field(365, ge=0, le=3650, description="Days an applied "
                                                                       "(campaign, item) stays "
                                                                       "hidden.")
    # A budget raised or creatives refreshed this month may be worth doing again next month;
    # an entity item (this keyword, this product) stays done like any other.
    applied_repeatable_cooldown_days: int = Field(
        30, ge=0, le=3650, description="Days an applied (campaign, item) of a repeatable "
                                       "action (eligibility.REPEATABLE_ACTIONS) stays hidden.")
    default_snooze_days: int = Field(14, ge=1, le=365, description="Snooze length when the "
                                                                   "advertiser picks none.")
    max_snooze_days: int = Field(90, ge=1, le=365, description="Longest snooze honoured; longer "
                                                               "requests are cut to it.")
    reshow_after_days: float = Field(3, ge=0, le=365, description="Days before the same "
                                                                  "(campaign, item) may be "
                                                                  "shown again, on any "
                                                                  "surface.")
    platform_value: PlatformValues = Field(default_factory=PlatformValues,
                                           description="Platform value per action category.")

    @model_validator(mode="after")
    def _snooze_fits(self) -> "PolicyConfig":
        if self.default_snooze_days > self.max_snooze_days:
            raise ValueError(f"default_snooze_days ({self.default_snooze_days}) must be <= "
                             f"max_snooze_days ({self.max_snooze_days})")
        return self

    def surface(self, name: str) -> SurfacePolicy:
        """The settings of surface `name` (one of taxonomy.SURFACES)."""
        if name not in SURFACES:
            raise ValueError(f"unknown surface {name!r}: expected one of {', '.join(SURFACES)}")
        return getattr(self.surfaces, name)

    def cooldown_days(self, reason: str) -> int:
        """Cool-down in days after a dismissal for `reason` ('' counts as 'other')."""
        reason = reason or "other"
        if reason not in DISMISS_REASONS:
            raise ValueError(f"unknown dismiss reason {reason!r}: expected one of "
                             f"{', '.join(DISMISS_REASONS)}")
        return getattr(self.dismiss_cooldown_days, reason)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "PolicyConfig":
        """Load from a YAML mapping; omitted fields keep their defaults. A file that cannot be
        read or parsed raises ConfigError; a bad value raises pydantic's ValidationError."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as e:
            raise ConfigError(f"policy config {path}: cannot read it ({e.strerror})") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"policy config {path}: not valid YAML ({e})") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"policy config {path}: expected a mapping of fields, got "
                              f"{type(data).__name__}")
        return cls.model_validate(data)
