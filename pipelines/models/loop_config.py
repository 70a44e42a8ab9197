"""What `train_loop_per_worker` receives: the job's config and what the driver fitted for it.

Each loop config crosses the Ray boundary as `model_dump()` (plain dicts, lists and, for the
item facts, numpy arrays) and is validated again by `model_validate` inside the worker, so a
worker never trains on a config the driver would have refused.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from pipelines.models.config import TrainConfig
from pipelines.models.features import FeatureSpec
from pipelines.models.two_tower import ITEM_FACT_SIZES, MAX_TOKENS, fact_tensors


def _consistent(spec: FeatureSpec) -> FeatureSpec:
    """The spec's lists line up: one mean and std per numeric column, missing flags only on
    numeric columns, one vocabulary per categorical column."""
    n = len(spec.numeric)
    if len(spec.mean) != n or len(spec.std) != n:
        raise ValueError(f"{n} numeric columns but {len(spec.mean)} means and {len(spec.std)} "
                         "standard deviations")
    if any(s <= 0 for s in spec.std):
        raise ValueError("standard deviations must be positive")
    stray = sorted(set(spec.with_missing_flag) - set(spec.numeric))
    if stray:
        raise ValueError(f"missing flags on columns that are not numeric: {stray}")
    if set(spec.vocab) != set(spec.categorical):
        raise ValueError(f"vocabularies for {sorted(spec.vocab)} but categorical columns "
                         f"{sorted(spec.categorical)}")
    return spec


CheckedSpec = Annotated[FeatureSpec, AfterValidator(_consistent)]


class RankerLoopConfig(BaseModel):
    """One ranker worker's settings: the job's config and the feature spec of the train split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: TrainConfig = Field(description="The `guidance train` config the driver validated.")
    spec: CheckedSpec = Field(description="Statistics and vocabularies of the ranker's inputs.")


class ItemArrays(BaseModel):
    """The retrievable items' catalog facts, row for row as the two towers index them
    (`two_tower.ItemTable`): int64 arrays whose values fit the item tower's embedding tables.
    Checked here because an index out of range fails on a GPU as a device-side assert that
    names neither the array nor the row."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    action: np.ndarray = Field(description="Action type of each item [n] (ACTION_TYPES order).")
    kind: np.ndarray = Field(description="Entity kind of each item [n] (keyword, interest, "
                             "product).")
    vertical: np.ndarray = Field(description="Vertical of each item [n]; 0: none.")
    tokens: np.ndarray = Field(description=f"Hashed title words [n, {MAX_TOKENS}]; 0: padding.")

    @model_validator(mode="after")
    def _aligned_and_in_range(self) -> "ItemArrays":
        n = len(self.action)
        if n == 0:
            raise ValueError("no items")
        for name, size in ITEM_FACT_SIZES.items():
            a = getattr(self, name)
            shape = (n, MAX_TOKENS) if name == "tokens" else (n,)
            if a.dtype != np.int64 or a.shape != shape:
                raise ValueError(f"{name}: expected int64 {shape}, found {a.dtype} {a.shape}")
            bad = np.flatnonzero(((a < 0) | (a >= size)).reshape(n, -1).any(axis=1))
            if len(bad):
                raise ValueError(f"{name}: {len(bad)} items with a value outside 0..{size - 1}, "
                                 f"e.g. row {bad[0]}")
        return self

    def __len__(self) -> int:
        return len(self.action)

    def tensors(self, device: torch.device | str) -> dict[str, torch.Tensor]:
        """The facts as tensors on `device`, as `TwoTower.embed_items` indexes them."""
        return fact_tensors(self, device)


class TwoTowerLoopConfig(BaseModel):
    """One two-tower worker's settings: the job's config (its `retrieval` part and seed), the
    context features' spec and the item facts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: TrainConfig = Field(description="The `guidance train` config the driver validated.")
    spec: CheckedSpec = Field(description="Statistics and vocabularies of the context tower's "
                              "inputs.")
    items: ItemArrays = Field(description="The items the towers embed.")
