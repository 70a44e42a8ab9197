"""The training loops' bodies keep every tensor on the worker's device, checked without a GPU.

What this proves, and what it does not. Each step runs on PyTorch's "meta" device (tensors
with a shape and a device but no data) under `SameDevice`, a dispatch mode that sees every
ATen operation and fails on one whose tensor operands sit on two devices, the rule CUDA
enforces (CUDA lets a 0-dim CPU tensor in as a scalar, and so does this; copies between
devices are allowed, they are how data gets there). The mode is stricter than CUDA in one way:
a CUDA tensor may be indexed by CPU indices, which it refuses too. A tensor left on the CPU
(the two-tower item table was, before) makes an operation mix "cpu" and "meta" and the test
fails, as the negative controls below show. Meta tensors hold no values, so data-dependent
calls (`.item()`, `bool(t)`, boolean masks) are answered by stubs: the numbers these steps
return here mean nothing, and what a GPU does differently in arithmetic, kernels, memory, DDP
or Ray Data's host-to-device copies is not covered; `guidance train --gpu` on a GPU machine
is the test of that.
"""

import numpy as np
import pytest
import ray.train
import torch
import torch.fx.experimental._config as fx_config
from torch.optim.swa_utils import AveragedModel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from pipelines.models import checkpoints, progress, ranker, retrieval, train
from pipelines.models.config import RetrievalConfig
from pipelines.models.two_tower import MAX_TOKENS, TwoTower
from tests.unit.batches import ranker_batch

META = torch.device("meta")
_TRANSFERS = {torch.ops.aten._to_copy.default, torch.ops.aten.copy_.default,
              torch.ops.aten._copy_from.default, torch.ops.aten._copy_from_and_resize.default,
              torch.ops.aten.lift_fresh.default}


class MixedDevices(AssertionError):
    pass


class SameDevice(TorchDispatchMode):
    """Fails on an operation whose non-scalar tensor operands are on more than one device;
    answers data-dependent reads of meta tensors with stubs (True, 1, 0.5)."""

    def __init__(self):
        super().__init__()
        self.operations = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if func is torch.ops.aten._local_scalar_dense.default and tensors[0].is_meta:
            dtype = tensors[0].dtype
            return True if dtype == torch.bool else 0.5 if dtype.is_floating_point else 1
        if func not in _TRANSFERS:
            devices = {t.device for t in tensors if not (t.device.type == "cpu" and t.dim() == 0)}
            if len(devices) > 1:
                raise MixedDevices(f"{func} mixes tensors on {sorted(map(str, devices))}")
        self.operations += 1
        return func(*args, **kwargs)


@pytest.fixture
def guard():
    # a boolean mask on meta tensors: assume every element is set (the shape is all it needs)
    with fx_config.patch(meta_nonzero_assume_all_nonzero=True), SameDevice() as mode:
        yield mode


def _ranker(device):
    torch.manual_seed(0)
    return ranker.MultiTaskRanker(6, [4, 4], hidden=16, expert_dim=8, n_experts=2,
                                  members=3).to(device)


def _on(device, tensors) -> bool:
    return all(t.device == device for t in tensors)


def _optimizer_state(opt):
    # Adam keeps its step counter as a 0-dim CPU tensor on every device (unless capturable)
    return [v for s in opt.state.values() for k, v in s.items() if k != "step"]


def test_the_ranker_steps_and_the_weight_average_stay_on_the_device(guard):
    model = _ranker(META)
    opt = torch.optim.Adam(model.parameters())
    # the batch arrives on the CPU: train_step moves it (Ray Train may have moved it already)
    parts = train.train_step(model, opt, ranker_batch(), META, torch.Generator().manual_seed(1))
    assert set(parts) == {"loss", "loss_adopt", "loss_dismiss", "loss_impact"}
    assert _on(META, model.parameters()) and _on(META, _optimizer_state(opt))
    assert _optimizer_state(opt)  # the step did update
    probabilities = train.eval_step(model, ranker_batch(), META)
    assert _on(META, probabilities.values())
    average = AveragedModel(model, device=META)
    average.update_parameters(model)
    assert _on(META, average.parameters()) and average.n_averaged.device == META
    assert guard.operations > 100


def test_the_two_tower_step_stays_on_the_device(guard):
    n_items = 40
    items = {"action": torch.randint(0, 3, (n_items,)), "kind": torch.randint(0, 3, (n_items,)),
             "vertical": torch.randint(0, 4, (n_items,)),
             "tokens": torch.randint(0, 100, (n_items, MAX_TOKENS))}
    batch = {"numeric": torch.randn(16, 6), "categorical": torch.randint(0, 4, (16, 2)),
             "item_row": torch.randint(0, n_items, (16,)), "log_q": torch.randn(16)}
    torch.manual_seed(0)
    model = TwoTower(6, [4, 4], n_items, dim=8, hidden=16).to(META)
    opt = torch.optim.Adam(model.parameters())
    cfg = RetrievalConfig(random_negatives=32)
    on_device = {k: v.to(META) for k, v in items.items()}
    retrieval.train_step(model, opt, batch, on_device, cfg, torch.Generator().manual_seed(0), META)
    assert _on(META, model.parameters()) and _on(META, _optimizer_state(opt))
    # the negative control: the item table left on the CPU, as the loop had it before
    with pytest.raises(MixedDevices, match="cpu"):
        retrieval.train_step(model, opt, batch, items, cfg, torch.Generator().manual_seed(0),
                             META)


def test_the_guard_catches_ranker_inputs_left_on_the_cpu(guard):
    """Negative controls for the ranker: what the step would do had it not moved the batch."""
    model, b = _ranker(META), ranker_batch()
    with pytest.raises(MixedDevices, match="cpu"):
        model(b["numeric"], b["categorical"], b["position"], b["surface"])
    out = model(*(b[k].to(META) for k in ("numeric", "categorical", "position", "surface")))
    with pytest.raises(MixedDevices, match="cpu"):  # the labels
        ranker.loss(out, b["adopted"], b["dismissed"], b["impact"])


def test_checkpoints_are_written_on_the_cpu_and_restored_onto_the_device(tmp_path, monkeypatch):
    saved = {}

    class Context:
        def get_world_rank(self):
            return 0

    def report(metrics, checkpoint=None):
        saved["dir"] = tmp_path / "ckpt"
        checkpoint.to_directory(str(saved["dir"]))

    monkeypatch.setattr(ray.train, "get_context", lambda: Context())
    monkeypatch.setattr(ray.train, "report", report)
    model = _ranker("cpu")
    opt = torch.optim.Adam(model.parameters())
    train.train_step(model, opt, ranker_batch(), "cpu", torch.Generator().manual_seed(1))
    extra = {"average": {k: v.clone() for k, v in model.state_dict().items()}}
    checkpoints.report({"epoch": 0}, model, opt, 0, extra=extra)
    state = torch.load(saved["dir"] / "state.pt", weights_only=False)
    assert state["epoch"] == 0 and _on(torch.device("cpu"), state["model"].values())

    monkeypatch.setattr(ray.train, "get_checkpoint",
                        lambda: ray.train.Checkpoint.from_directory(str(saved["dir"])))
    target = _ranker(META)
    target_opt = torch.optim.Adam(target.parameters())
    first, kept = checkpoints.restore(target, target_opt, META)
    assert first == 1 and _on(META, kept["average"].values())
    assert _on(META, target.parameters()) and _on(META, _optimizer_state(target_opt))


def test_an_epoch_line_says_where_training_is():
    metrics = {"epoch": 2, "loss": 0.41234, "val_adoption_auc": 0.77121,
               "averaged_val_adoption_auc": 0.779, "examples_per_s": 41233.4}
    assert progress.epoch_line("ranker", metrics, 8, 75.9) == (
        "ranker    epoch 3/8  loss 0.4123  val AUC 0.7712 (mean of weights 0.7790)  "
        "41,233 examples/s  elapsed 1:15")
    assert progress.epoch_line("two-tower", {"epoch": 0, "loss": 3.0, "examples_per_s": 9.6},
                               15, 5) == ("two-tower epoch 1/15  loss 3.0000  10 examples/s  "
                                          "elapsed 0:05")


def test_each_report_reaches_the_printer_once_in_order(monkeypatch):
    sent, lines = [], []

    class Inbox:
        class put:  # noqa: N801  (stands for an actor method)
            @staticmethod
            def remote(item):
                sent.append(item)
                return item

    monkeypatch.setattr(ray, "get", lambda ref: ref)  # the put's result, as if done
    callback = progress.ForwardEpochs(Inbox())
    for epoch in range(3):
        # every worker's metrics come; rank 0's is the first
        callback.after_report(None, [{"epoch": epoch, "loss": 1.0 / (epoch + 1),
                                      "examples_per_s": 100.0}, {"epoch": epoch}], None)
    callback.after_report(None, [], None)
    clock = iter([0.0, 1.0, 2.0, 3.0])
    printer = progress.EpochPrinter("two-tower", 3, write=lines.append, clock=lambda: next(clock))
    printer.show(sent[:2])
    printer.show(sent[2:])
    assert [line.split()[2] for line in lines] == ["1/3", "2/3", "3/3"]
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["0:01", "0:02", "0:03"]
    assert np.allclose([float(line.split()[4]) for line in lines], [1.0, 0.5, 1 / 3], atol=1e-4)
