"""The typed configuration of `guidance experiment`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.storage.root import default_root

# logging: today's rule engine (the control); learned: the promoted model with the service's
# policy; learned_explore: the same with the exploration floor; random; oracle: the world's truth.
ARMS = ("logging", "learned", "learned_explore", "random", "oracle")
DESIGNS = ("paired", "ab", "both")


class ExperimentConfig(BaseModel):
    """Which arms run, for how long, on whom, and how the experiment is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(default_factory=default_root, description="Root folder or URI.")
    name: str = Field("experiment", description="The experiment's name: its report folder and "
                                                "the salt of the A/B assignment.")
    arms: tuple[str, ...] = Field(("logging", "learned"), description="Arms to run, control "
                                                                      "first.")
    control: str | None = Field(None, description="The arm the others are compared with "
                                                  "(default: the first).")
    days: int = Field(28, ge=1, le=365, description="Days the experiment runs after the "
                                                   "world's history.")
    design: Literal["paired", "ab", "both"] = Field(
        "both", description="paired: every arm on every advertiser with common random "
                            "numbers (the truth); ab: advertisers assigned to arms by a hash; "
                            "both.")
    advertisers: int | None = Field(None, ge=2, description="Run the first N advertisers of the "
                                                           "world (default: all).")
    model_version: str | None = Field(None, description="Registry version of the learned arms "
                                                        "(default: the promoted one).")
    exploration_floor: float = Field(0.002, gt=0, le=1, description="The learned_explore "
                                                                    "arm's exploration floor.")
    ope_days: int = Field(14, ge=1, le=365, description="Days of logged history before the "
                                                       "experiment that off-policy estimates "
                                                       "read.")
    ope_samples: int = Field(300, ge=10, le=100_000, description="Slates drawn per session to "
                                                                 "estimate Plackett–Luce "
                                                                 "marginals.")
    bootstrap: int = Field(1000, ge=100, le=100_000, description="Bootstrap resamples (by "
                                                                 "advertiser).")
    seed: int = Field(0, ge=0, description="Seed of the bootstrap and of the marginals.")
    shards: int = Field(2, ge=1, le=10_000, description="Blocks of advertisers run at once.")
    overwrite: bool = Field(False, description="Replace a report of the same name.")

    @field_validator("name")
    @classmethod
    def _name_is_a_folder(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", v):
            raise ValueError(f"name {v!r} must be letters, digits, '.', '_' or '-' (a folder "
                             "name)")
        return v

    @model_validator(mode="after")
    def _arms_known(self) -> "ExperimentConfig":
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arm {unknown[0]!r}: expected some of {', '.join(ARMS)}")
        if len(set(self.arms)) != len(self.arms) or len(self.arms) < 2:
            raise ValueError("arms must name at least two different arms")
        if self.control is not None and self.control not in self.arms:
            raise ValueError(f"control {self.control!r} is not one of the arms "
                             f"{', '.join(self.arms)}")
        return self

    @property
    def control_arm(self) -> str:
        return self.control or self.arms[0]
