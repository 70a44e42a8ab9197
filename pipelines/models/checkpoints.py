"""Checkpoints of a Ray Train loop: resume from the last one, report one per epoch."""

from __future__ import annotations

import os
import tempfile

import ray.train
import torch


def restore(model: torch.nn.Module, optimizer: torch.optim.Optimizer, device) -> int:
    """Load the run's last checkpoint into `model` and `optimizer`; the epoch to start from."""
    checkpoint = ray.train.get_checkpoint()
    if not checkpoint:
        return 0
    with checkpoint.as_directory() as d:
        state = torch.load(os.path.join(d, "state.pt"), map_location=device, weights_only=False)
    getattr(model, "module", model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state["epoch"] + 1


def report(metrics: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
           epoch: int) -> None:
    """Report `metrics` from every worker (a barrier), with rank 0's checkpoint."""
    with tempfile.TemporaryDirectory() as d:
        ckpt = None
        if ray.train.get_context().get_world_rank() == 0:
            torch.save({"model": getattr(model, "module", model).state_dict(),
                        "optimizer": optimizer.state_dict(), "epoch": epoch},
                       os.path.join(d, "state.pt"))
            ckpt = ray.train.Checkpoint.from_directory(d)
        ray.train.report(metrics, checkpoint=ckpt)


def final_state(result) -> dict:
    """The model weights of a finished run's last checkpoint, on the CPU."""
    with result.checkpoint.as_directory() as d:
        return torch.load(os.path.join(d, "state.pt"), map_location="cpu",
                          weights_only=False)["model"]
