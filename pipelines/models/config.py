"""The typed configuration of `guidance train`: the ranker's settings and, nested, the two
towers' (`TrainConfig.retrieval`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pipelines.storage.root import default_root

# Without --average-from-epoch the mean starts here, or at the last epoch of a shorter run.
DEFAULT_AVERAGE_FROM = 4
# Seeds are multiplied per epoch and worker (train.py) and must stay within torch's 64 bits.
MAX_SEED = 2**32


class RetrievalConfig(BaseModel):
    """How the two-tower retrieval model is fitted on the train split's entity adoptions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(15, ge=1, le=500, description="Passes over the entity adoptions.")
    batch_size: int = Field(256, ge=8, le=1 << 16,
                            description="Adoptions per batch; each is the others' in-batch "
                            "negative.")
    learning_rate: float = Field(2e-3, gt=0, le=1, description="Adam learning rate.")
    random_negatives: int = Field(
        512, ge=0, le=1 << 16, description="Items drawn uniformly from the whole catalog per "
        "batch as extra negatives (mixed negative sampling); 0 uses in-batch negatives only.")
    temperature: float = Field(0.05, gt=0, le=10,
                               description="Divides the cosine scores before the softmax.")


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
                                description="Rows each worker shuffles its batches from (Ray "
                                "Data raises it to the batch size when smaller).")
    learning_rate: float = Field(2e-3, gt=0, le=1, description="Adam learning rate.")
    workers: int = Field(1, ge=1, le=1024, description="Ray Train workers.")
    gpu: bool = Field(False, description="One GPU per worker.")
    spread: bool = Field(False, description="Place the workers on as many nodes as possible "
                         "(Ray's SPREAD placement) rather than packing them onto few.")
    hidden: int = Field(128, ge=8, le=4096, description="Width of each expert's hidden layer.")
    experts: int = Field(4, ge=1, le=32, description="MMoE experts.")
    members: int = Field(5, ge=1, le=32,
                         description="Ranker ensemble members, fitted by online bagging.")
    average_from_epoch: int | None = Field(
        None, ge=0, le=499, description="Publish the mean of the weights of this epoch "
        f"(0-based) and every later one; below `epochs`. Unset: epoch {DEFAULT_AVERAGE_FROM}, "
        "or the last epoch of a shorter run.")
    seed: int = Field(0, ge=0, lt=MAX_SEED, description="Seed of the initial weights, the "
                      "bagging draws, the shuffles and the random negatives.")
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig,
                                       description="The two-tower retrieval model's training.")

    @field_validator("average_from_epoch")
    @classmethod
    def _averages_an_epoch_that_runs(cls, v: int | None, info: ValidationInfo) -> int | None:
        epochs = info.data.get("epochs")  # absent when epochs itself was invalid
        if v is not None and epochs is not None and v >= epochs:
            raise ValueError(f"must be below epochs ({epochs}): the epochs run are 0 to "
                             f"{epochs - 1}; pass at most {epochs - 1}, or leave it unset")
        return v

    @property
    def average_start(self) -> int:
        """The first epoch (0-based) whose weights enter the published mean."""
        if self.average_from_epoch is not None:
            return self.average_from_epoch
        return min(DEFAULT_AVERAGE_FROM, self.epochs - 1)
