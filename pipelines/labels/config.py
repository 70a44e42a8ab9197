"""The typed configuration of `guidance prepare`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.storage.root import default_root
from pipelines.storage.version import timestamp_version


class PrepareConfig(BaseModel):
    """Where to read the raw tables, how to cut the examples, and the snapshot's name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(default_factory=default_root, description="Root folder or URI.")
    version: str = Field(default_factory=timestamp_version, pattern=r"^[A-Za-z0-9._-]{1,64}$",
                         description="Snapshot name under <root>/snapshots/.")
    advertisers_per_block: int = Field(500, ge=1, le=1_000_000,
                                       description="Advertisers per Ray Data task.")
    train_share: float = Field(0.70, gt=0, lt=1, description="Share of days for training.")
    validation_share: float = Field(0.15, gt=0, lt=1, description="Share of days for validation.")
    overwrite: bool = Field(False, description="Replace a snapshot of the same version.")

    @model_validator(mode="after")
    def _test_left(self) -> "PrepareConfig":
        if self.train_share + self.validation_share >= 1:
            raise ValueError("train_share + validation_share must leave days for the test split")
        return self
