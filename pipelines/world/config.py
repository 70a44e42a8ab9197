"""The typed configuration of `guidance world generate`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.storage.root import default_root
from pipelines.world.shocks import Shock, SignupMixShock

# advertisers, days
SCALES: dict[str, tuple[int, int]] = {
    "tiny": (300, 45),
    "small": (2_000, 90),
    "medium": (100_000, 90),
    "large": (1_000_000, 90),
}
BLOCK_SIZE = 250  # advertisers per output part; fixed, so output never depends on --shards


class WorldConfig(BaseModel):
    """How big a world to generate, from which seed, what it goes through (sign-ups, shocks)
    and where to write it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scale: Literal["tiny", "small", "medium", "large"] = Field(
        "small", description="Preset size: tiny (tests), small, medium or large.")
    seed: int = Field(7, ge=0, lt=2**63, description="Seed of every random draw.")
    shards: int = Field(2, ge=1, le=10_000, description="Parallel shards (Ray tasks at once).")
    root: str = Field(default_factory=default_root, description="Root folder or URI.")
    start_date: dt.date = Field(dt.date(2025, 9, 22), description="First day of the history.")
    advertisers: int | None = Field(None, ge=1, description="Override the scale's advertisers.")
    days: int | None = Field(None, ge=1, le=730, description="Override the scale's days.")
    overwrite: bool = Field(False, description="Replace a world already under the root.")
    signup_share: float = Field(
        0.0, ge=0, lt=1, description="Share of the advertisers whose account opens during the "
        "history, on a day drawn uniformly over it (0: every account exists before it).")
    shocks: tuple[Shock, ...] = Field(
        (), description="Shocks applied from a day of the history on (pipelines.world.shocks).")

    @model_validator(mode="after")
    def _history_fits(self) -> "WorldConfig":
        end = self.start_date + dt.timedelta(days=self.n_days)
        if end.year > 9000:
            raise ValueError("start_date + days runs past the calendar")
        return self

    @model_validator(mode="after")
    def _shocks_fit(self) -> "WorldConfig":
        for s in self.shocks:
            day = s.start_day(self.start_date)
            if not 0 <= day < self.n_days:
                raise ValueError(f"the {s.kind} shock's from_day {s.from_day} is outside the "
                                 f"{self.n_days}-day history from {self.start_date}")
            if isinstance(s, SignupMixShock) and self.signup_share == 0:
                raise ValueError("a signup_mix shock needs accounts that open during the "
                                 "history: set signup_share > 0")
        return self

    @property
    def n_advertisers(self) -> int:
        return self.advertisers or SCALES[self.scale][0]

    @property
    def n_days(self) -> int:
        return self.days or SCALES[self.scale][1]

    @property
    def n_blocks(self) -> int:
        return -(-self.n_advertisers // BLOCK_SIZE)
