"""The typed configuration of `guidance world generate`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.storage.root import default_root

# advertisers, days
SCALES: dict[str, tuple[int, int]] = {
    "tiny": (300, 45),
    "small": (2_000, 90),
    "medium": (100_000, 90),
    "large": (1_000_000, 90),
}
BLOCK_SIZE = 250  # advertisers per output part; fixed, so output never depends on --shards


class WorldConfig(BaseModel):
    """How big a world to generate, from which seed, and where to write it."""

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

    @model_validator(mode="after")
    def _history_fits(self) -> "WorldConfig":
        end = self.start_date + dt.timedelta(days=self.n_days)
        if end.year > 9000:
            raise ValueError("start_date + days runs past the calendar")
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
