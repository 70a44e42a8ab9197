"""The service's one typed config, loaded from flags or the Serve config YAML."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.policy.config import PolicyConfig

APP_NAME = "guidance"  # the Serve application's name


class ServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str = Field(description="Root folder or URI holding the snapshot, registry and tokens.")
    grpc_port: int = Field(9000, ge=1, le=65535, description="Port of Serve's gRPC proxy.")
    ranker: Literal["deployment", "local"] = Field(
        "deployment", description="`deployment`: a batched ranker deployment (can sit on GPUs); "
                                  "`local`: the ranker runs inside the ingress (no hop).")
    ingress_replicas: int = Field(1, ge=1, le=64, description="Ingress replicas.")
    ranker_replicas: int = Field(1, ge=1, le=64, description="Ranker replicas.")
    ranker_gpus: float = Field(0.0, ge=0, le=8, description="GPUs per ranker replica.")
    ingress_cpus: float = Field(0.5, gt=0, le=64, description="CPUs reserved per ingress replica.")
    ranker_cpus: float = Field(0.5, gt=0, le=64, description="CPUs reserved per ranker replica.")
    max_batch_size: int = Field(32, ge=1, le=4096, description="Requests per ranker batch.")
    batch_wait_timeout_s: float = Field(0.002, ge=0, le=1, description="Longest wait to fill a "
                                                                       "ranker batch.")
    ranking_timeout_s: float = Field(0.25, gt=0, le=30, description="Past this the slate comes "
                                                                    "from the fallback, marked "
                                                                    "degraded.")
    request_timeout_s: float = Field(10.0, gt=0, le=600, description="The proxy's deadline for "
                                                                     "a whole request.")
    max_queued_requests: int = Field(200, ge=1, description="Per replica; past it clients get "
                                                            "RESOURCE_EXHAUSTED.")
    max_ongoing_requests: int = Field(32, ge=1, le=1024, description="Requests a replica works "
                                                                     "on at once (Serve's "
                                                                     "default is 5).")
    feedback_log: str | None = Field(None, description="Log URI: sqlite:///path.db or "
                                                       "delta://dir (default: "
                                                       "<root>/logs/feedback.db).")
    ranker_input_share: float = Field(
        1.0, ge=0, le=1, description="Share of requests whose ranker inputs (each served item's "
                                     "encoded feature row, calibrated probabilities and impact) "
                                     "are logged beside the slate, drawn per request; 1: all, "
                                     "0: none.")
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="Decisioning policy.")
    model_version: str | None = Field(None, description="Registry version to serve (default: "
                                                        "current); changing it hot-swaps.")
    max_message_bytes: int = Field(4 << 20, ge=1024, description="Largest gRPC message.")
    degrade_on_ranker_error: bool = Field(
        True, description="A ranker that raises an error other than an outage (a bug) degrades "
                          "the answer, logged with its traceback and counted; False fails the "
                          "request with INTERNAL instead (what the tests run with).")

    @model_validator(mode="after")
    def _gpu_needs_deployment(self) -> "ServeConfig":
        if self.ranker_gpus and self.ranker == "local":
            raise ValueError("ranker_gpus needs ranker: deployment (the ingress has no GPU)")
        return self

    def log_uri(self) -> str:
        from pipelines.storage.root import Root

        from pipelines.feedback.log import default_log_uri

        return self.feedback_log or default_log_uri(Root(self.root))
