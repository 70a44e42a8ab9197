"""Checkpoints of a Ray Train loop: resume from the last one, report one per epoch."""

from __future__ import annotations

import os
import tempfile

import ray.train
import torch


def _on_cpu(tree):
    """`tree` (dicts, lists and tuples of tensors and plain values) with every tensor on the
    CPU: a checkpoint written on a GPU then loads on any machine."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu()
    if isinstance(tree, dict):
        return {k: _on_cpu(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_on_cpu(v) for v in tree)
    return tree


def restore(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            device: torch.device | str) -> tuple[int, dict]:
    """Load the run's last checkpoint into `model` and `optimizer`, its tensors put on `device`
    (the worker's, where the model lives): the epoch to start from, and what the loop kept
    beside the weights (`extra` of `report`)."""
    checkpoint = ray.train.get_checkpoint()
    if not checkpoint:
        return 0, {}
    with checkpoint.as_directory() as d:
        state = torch.load(os.path.join(d, "state.pt"), map_location=device, weights_only=False)
    getattr(model, "module", model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state["epoch"] + 1, state.get("extra", {})


def report(metrics: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
           epoch: int, extra: dict | None = None) -> None:
    """Report `metrics` from every worker (a barrier), with rank 0's checkpoint (its tensors
    on the CPU); `extra` (for example the running mean of the weights) is saved with it and
    given back by `restore`."""
    with tempfile.TemporaryDirectory() as d:
        ckpt = None
        if ray.train.get_context().get_world_rank() == 0:
            torch.save(_on_cpu({"model": getattr(model, "module", model).state_dict(),
                                "optimizer": optimizer.state_dict(), "epoch": epoch,
                                "extra": extra or {}}),
                       os.path.join(d, "state.pt"))
            ckpt = ray.train.Checkpoint.from_directory(d)
        ray.train.report(metrics, checkpoint=ckpt)


def final_state(result) -> dict:
    """The model weights a finished run chose, on the CPU: the averaged weights when the loop
    kept them (`extra["average"]`), else the last checkpoint's."""
    with result.checkpoint.as_directory() as d:
        state = torch.load(os.path.join(d, "state.pt"), map_location="cpu", weights_only=False)
    return state.get("extra", {}).get("average", state["model"])
