"""The ranker ensemble: averaged members, non-crossing quantiles, online-bagging loss, and
registry files it cannot read."""

import json

import pytest
import torch

from pipelines.models import artifacts, ranker
from pipelines.models.calibration import Isotonic
from pipelines.models.features import FeatureSpec
from pipelines.registry.store import RegistryError
from tests.unit.batches import ranker_batch


def _model(members):
    torch.manual_seed(0)
    return ranker.MultiTaskRanker(6, [4, 4], hidden=16, expert_dim=8, n_experts=2,
                                  members=members)


def test_the_ensemble_averages_its_members_and_keeps_quantiles_sorted():
    model, b = _model(3).eval(), ranker_batch()
    args = (b["numeric"], b["categorical"], b["position"], b["surface"])
    each = model(*args, each=True)
    mean = model(*args)
    assert len(each) == 3
    assert not torch.allclose(each[0]["adopt"], each[1]["adopt"])  # members start apart
    assert torch.allclose(mean["adopt"], torch.stack([o["adopt"] for o in each]).mean(0))
    q = mean["impact"]
    assert (q[:, 0] <= q[:, 1]).all() and (q[:, 1] <= q[:, 2]).all()


def test_bagged_loss_trains_every_member_on_its_own_resample():
    model, b = _model(3), ranker_batch()
    total, parts = ranker.bagged_loss(model, b, "cpu", torch.Generator().manual_seed(1))
    total.backward()
    for name in ("w1", "w2", "gate_w"):
        grad = getattr(model, name).grad
        assert all(grad[i].abs().sum() > 0 for i in range(3)), name
    assert set(parts) == {"loss", "loss_adopt", "loss_dismiss", "loss_impact"}
    assert parts["loss"] == pytest.approx(total.item() / 3, rel=1e-5)  # the members' mean
    # a different draw weights the rows differently
    again, _ = ranker.bagged_loss(model, b, "cpu", torch.Generator().manual_seed(2))
    assert not torch.isclose(total, again)


def test_one_member_sees_the_batch_as_it_is():
    model, b = _model(1).eval(), ranker_batch()  # eval: no dropout, so both passes agree
    total, _ = ranker.bagged_loss(model, b, "cpu", torch.Generator().manual_seed(1))
    out = model(b["numeric"], b["categorical"], b["position"], b["surface"])
    plain, _ = ranker.loss(out, b["adopted"], b["dismissed"], b["impact"])
    assert torch.isclose(total, plain)


def test_weights_count_rows_that_many_times():
    model, b = _model(1).eval(), ranker_batch(n=8)
    out = model(b["numeric"], b["categorical"], b["position"], b["surface"])
    w = torch.tensor([2.0, 0, 1, 1, 0, 3, 1, 0])
    rows = torch.repeat_interleave(torch.arange(8), w.long())
    _, weighted = ranker.loss(out, b["adopted"], b["dismissed"], b["impact"], w)
    _, repeated = ranker.loss({k: v[rows] for k, v in out.items()}, b["adopted"][rows],
                              b["dismissed"][rows], b["impact"][rows])
    # the same sum over rows; each mean divides by its own row count
    for task in ("loss_adopt", "loss_dismiss"):
        assert abs(weighted[task] * 8 - repeated[task] * len(rows)) < 1e-4


def test_ranker_files_of_another_format_are_refused_with_a_clear_error():
    spec = FeatureSpec([f"x{i}" for i in range(6)], [0.0] * 6, [1.0] * 6, [], ["a", "b"],
                       {"a": ["1", "2", "3"], "b": ["1", "2", "3"]})
    model = ranker.MultiTaskRanker(6, spec.cardinalities, hidden=16, n_experts=2, members=2)
    cal = Isotonic.fit(torch.rand(50).numpy(), (torch.rand(50) < 0.3).float().numpy())
    files = artifacts.to_files(model.state_dict(), spec,
                               {"hidden": 16, "experts": 2, "members": 2, "seed": 0},
                               {"adopt": cal, "dismiss": cal})
    assert artifacts.LoadedRanker(files).model.n_members == 2
    older = {**files, "model.json": json.dumps({"hidden": 16, "experts": 2, "seed": 0}).encode()}
    with pytest.raises(RegistryError, match="another format.*guidance train"):
        artifacts.LoadedRanker(older)
    wrong = {**files, "model.json": json.dumps({"hidden": 16, "experts": 2, "members": 3,
                                                "seed": 0}).encode()}
    with pytest.raises(RegistryError, match="another format"):
        artifacts.LoadedRanker(wrong)
