"""Shocks the world can apply from a day of its history on, for drift monitoring to detect.

- `MarketShock`: one vertical's auction prices (social/display CPM and search CPC) × a factor,
  in every country;
- `SignupMixShock`: accounts that open during the history (`WorldConfig.signup_share`) come from
  another mix: one vertical's, country's or tier's share × a factor;
- `TrackingOutage`: a broken tracking roll-out: a share of accounts (by a seeded hash of their id)
  report no conversions; the conversions still happen, the platform no longer sees them.

Each shock is applied by one pure function where the world computes that quantity (the market's
prices, the sign-up mix, the reported conversions), so nothing changes before its day and no
other stream of draws moves (an outage hashes its own stream).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from pipelines.domain.vocabulary import COUNTRIES, TIERS, VERTICALS
from pipelines.errors import ConfigError
from pipelines.world import random as wr

Vertical = Literal[VERTICALS]  # type: ignore[valid-type]
Country = Literal[COUNTRIES]  # type: ignore[valid-type]
Tier = Literal[TIERS]  # type: ignore[valid-type]
DIMENSIONS = {"vertical": VERTICALS, "country": COUNTRIES, "tier": TIERS}
OUTAGE_STREAM = "shock.tracking_outage"


class _Shock(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_day: Annotated[int, Field(ge=0)] | dt.date = Field(
        description="First day it applies: a day index into the history (0 = start_date) or a "
                    "date.")

    def start_day(self, start: dt.date) -> int:
        """The day index of `from_day` in a history that starts on `start`."""
        if isinstance(self.from_day, dt.date):
            return (self.from_day - start).days
        return self.from_day


class MarketShock(_Shock):
    """From `from_day` on, `vertical`'s auction prices × `price_factor` in every country."""

    kind: Literal["market"] = "market"
    vertical: Vertical = Field(description="Vertical whose prices move.")
    price_factor: float = Field(1.6, gt=0, le=10, description="Multiplier of CPM and CPC.")


class SignupMixShock(_Shock):
    """From `from_day` on, accounts that open come from another mix: the share of one vertical,
    country or tier (exactly one is given) × `share_factor`, the other shares scaled to fit."""

    kind: Literal["signup_mix"] = "signup_mix"
    vertical: Vertical | None = Field(None, description="Vertical whose share changes.")
    country: Country | None = Field(None, description="Country whose share changes.")
    tier: Tier | None = Field(None, description="Size tier whose share changes.")
    share_factor: float = Field(3.0, gt=0, le=100,
                                description="Multiplier of that value's share of sign-ups.")

    @model_validator(mode="after")
    def _one_value(self) -> "SignupMixShock":
        given = [d for d in DIMENSIONS if getattr(self, d) is not None]
        if len(given) != 1:
            raise ValueError("a signup_mix shock names exactly one of vertical, country or tier"
                             f" (got {', '.join(given) or 'none'})")
        return self

    @property
    def dimension(self) -> str:
        """"vertical", "country" or "tier": the mix that changes."""
        return next(d for d in DIMENSIONS if getattr(self, d) is not None)

    @property
    def index(self) -> int:
        """The index of the value whose share changes, in its vocabulary."""
        return DIMENSIONS[self.dimension].index(getattr(self, self.dimension))


class TrackingOutage(_Shock):
    """From `from_day` on, a `share` of accounts (the same accounts for the same seed) report
    no conversions and no conversion value where they track them; clicks and spend go on."""

    kind: Literal["tracking_outage"] = "tracking_outage"
    share: float = Field(0.3, gt=0, le=1, description="Share of accounts whose tracking breaks.")


Shock = Annotated[Union[MarketShock, SignupMixShock, TrackingOutage], Field(discriminator="kind")]
KINDS = ("market", "signup_mix", "tracking_outage")
_SHOCK = TypeAdapter(Shock)


def resolve(shocks: tuple[Shock, ...], start: dt.date) -> tuple[Shock, ...]:
    """The shocks with `from_day` as a day index into a history starting on `start` (what the
    functions below read)."""
    return tuple(s.model_copy(update={"from_day": s.start_day(start)}) for s in shocks)


def describe(shock: dict) -> str:
    """One line for people from a shock's manifest entry, e.g. `market price_factor=1.6
    vertical=legal from day 20 (2025-10-12)` (fields in name order)."""
    params = " ".join(f"{k}={v}" for k, v in sorted(shock.items())
                      if k not in ("kind", "from_day", "from_date") and v is not None)
    return f"{shock['kind']} {params} from day {shock['from_day']} ({shock['from_date']})"


def parse(text: str) -> Shock:
    """A shock from its command-line spelling `kind:field=value,...`, e.g.
    `market:vertical=legal,from_day=20,price_factor=1.6` (from_day: a day index or a date);
    ConfigError naming what is wrong otherwise."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"invalid --shock {text!r}: {why}")

    kind, sep, rest = text.partition(":")
    if kind not in KINDS:
        raise bad(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}, then :field=value,...")
    fields: dict[str, object] = {"kind": kind}
    for pair in filter(None, rest.split(",")) if sep else ():
        key, eq, value = (p.strip() for p in pair.partition("="))
        if not eq or not key:
            raise bad(f"{pair!r} is not field=value")
        if key in fields:
            raise bad(f"{key} is given twice")
        fields[key] = _day_or_date(value, bad) if key == "from_day" else value
    try:
        return _SHOCK.validate_python(fields)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"][1:])
        msg = err["msg"].removeprefix("Value error, ")
        raise bad(f"{where}: {msg}" if where else msg) from None


def _day_or_date(value: str, bad) -> int | dt.date:
    """`from_day` as spelled: a day index (digits) or an ISO date."""
    if value.isdigit():
        return int(value)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise bad(f"from_day {value!r} is neither a day index (0, 1, ...) nor a date "
                  "(YYYY-MM-DD)") from None


def price_factor(shocks: tuple[Shock, ...], days: int) -> np.ndarray:
    """Multiplier [vertical, day] of auction prices (CPM and CPC) from the market shocks, 1
    where none applies; `shocks` resolved to day indices."""
    factor = np.ones((len(VERTICALS), days))
    for s in shocks:
        if isinstance(s, MarketShock):
            factor[VERTICALS.index(s.vertical), s.from_day:] *= s.price_factor
    return factor


def signup_shares(shocks: tuple[Shock, ...], dimension: str, base: np.ndarray,
                  opens_on: np.ndarray) -> np.ndarray:
    """Probabilities [advertiser, value] over `dimension`'s values ("vertical", "country" or
    "tier") for accounts opening on day `opens_on` (negative: before the history): `base` (as
    it is, so the draws of an unshocked world do not move), and for accounts a sign-up mix shock
    reaches, its value's share × its factor, renormalised to sum to 1."""
    weights = np.tile(base, (len(opens_on), 1))
    hit = np.zeros(len(opens_on), bool)
    for s in shocks:
        if isinstance(s, SignupMixShock) and s.dimension == dimension:
            reached = opens_on >= s.from_day
            weights[reached, s.index] *= s.share_factor
            hit |= reached
    weights[hit] /= weights[hit].sum(axis=1, keepdims=True)
    return weights


def tracking_lost(shocks: tuple[Shock, ...], seed: int, advertiser_id: np.ndarray,
                  day: int) -> np.ndarray:
    """Whether each row's account (by `advertiser_id`) reports no conversions on `day` because of
    a tracking outage; `shocks` resolved to day indices."""
    lost = np.zeros(len(advertiser_id), bool)
    for s in shocks:
        if isinstance(s, TrackingOutage) and day >= s.from_day:
            lost |= wr.uniform(seed, OUTAGE_STREAM, advertiser_id) < s.share
    return lost
