"""The typed configuration of `guidance train`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pipelines.storage.root import default_root


class TrainConfig(BaseModel):
    """What to train on, how, and where Ray Train keeps its runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(default_factory=default_root, description="Root folder or URI.")
    snapshot: str | None = Field(None, description="Snapshot version (default: latest).")
    run_name: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,80}$",
                                 description="Ray Train run; a rerun resumes its last checkpoint.")
    epochs: int = Field(8, ge=1, le=500, description="Passes over the train split.")
    batch_size: int = Field(256, ge=8, le=1 << 20, description="Examples per step per worker.")
    shuffle_buffer: int = Field(65_536, ge=1, le=1 << 24,
                                description="Rows each worker shuffles its batches from.")
    learning_rate: float = Field(2e-3, gt=0, le=1, description="Adam learning rate.")
    workers: int = Field(1, ge=1, le=1024, description="Ray Train workers.")
    gpu: bool = Field(False, description="One GPU per worker.")
    hidden: int = Field(128, ge=8, le=4096, description="Width of each expert's hidden layer.")
    experts: int = Field(4, ge=1, le=32, description="MMoE experts.")
    members: int = Field(5, ge=1, le=32,
                         description="Ranker ensemble members, fitted by online bagging.")
    average_from_epoch: int = Field(
        4, ge=0, le=500, description="Publish the mean of the weights of this epoch (0-based) "
        "and every later one; at most the last epoch.")
    seed: int = Field(0, ge=0, description="Seed of the initial weights.")
    retrieval_epochs: int = Field(15, ge=1, le=500, description="Passes of the two towers.")
    retrieval_batch_size: int = Field(256, ge=8, le=1 << 16,
                                      description="Adoptions per batch (in-batch negatives).")
