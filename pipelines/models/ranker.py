"""The multi-task ranker: adoption, dismissal and the impact interval from shared experts.

MMoE (multi-gate mixture of experts) rather than one shared bottom: adoption and dismissal pull
the shared layers in different directions (an item can be attractive to some and irritating to
others), and impact is learned only from the few adopted and measured rows; per-task gates let
each task weight the experts it needs instead of fighting over one representation.

Position and surface bias go through a shallow tower: one offset per (surface, position) slot
added to the adoption and dismissal logits. Serving puts every candidate at position 1 of its
request's surface, so every candidate gets the same offset: the order is free of position bias,
and the probability is that of being shown first there, the situation the calibrators (fitted
on logged positions) describe. Dropping the offset instead would leave a probability no logged
impression had.

The ranker is a small ensemble of such networks, averaged. One network's test AUC swings by about
0.01 with its seed on the small world; members fitted by online bagging (each sees every example
a Poisson(1) number of times: Oza & Russell, 2001) in the same pass over the data vary less
together.
"""

from __future__ import annotations

import torch
from torch import nn

from pipelines.models.features import MAX_POSITION
from pipelines.domain.vocabulary import SURFACES

QUANTILES = (0.1, 0.5, 0.9)
# a training batch: the encoded inputs (features.encode) and the labels (features.targets)
BATCH_KEYS = ("numeric", "categorical", "position", "surface", "adopted", "dismissed", "impact")


TASKS = ("adopt", "dismiss", "impact")


def _weight(*shape: int, fan_in: int) -> nn.Parameter:
    """Uniform(±1/√fan_in), as nn.Linear initialises its weights and biases."""
    bound = 1.0 / fan_in ** 0.5
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class MultiTaskRanker(nn.Module):
    """`members` independent MMoE networks computed side by side: each weight has a leading
    member axis, so one batched matmul serves every member and an ensemble costs about as many
    kernel launches as one network (a request scores a few dozen candidates, where launches,
    not arithmetic, take the time)."""

    def __init__(self, n_numeric: int, cardinalities: list[int], emb_dim: int = 8,
                 hidden: int = 128, expert_dim: int = 64, n_experts: int = 4,
                 dropout: float = 0.1, members: int = 1):
        super().__init__()
        m, e = members, n_experts
        self.n_members, self.n_experts, self.hidden = m, e, hidden
        self.emb_dims = [min(emb_dim, c) for c in cardinalities]
        # one table per categorical holds every member's vectors side by side
        self.embeddings = nn.ModuleList(nn.Embedding(c, m * d)
                                        for c, d in zip(cardinalities, self.emb_dims))
        d_in = n_numeric + sum(self.emb_dims)
        # experts' first layers side by side (one matmul per member), second layers per expert
        self.w1 = _weight(m, d_in, e * hidden, fan_in=d_in)
        self.b1 = _weight(m, 1, e * hidden, fan_in=d_in)
        self.w2 = _weight(m, e, hidden, expert_dim, fan_in=hidden)
        self.b2 = _weight(m, e, 1, expert_dim, fan_in=hidden)
        self.dropout = nn.Dropout(dropout)
        self.gate_w = _weight(m, d_in, len(TASKS) * e, fan_in=d_in)
        self.gate_b = _weight(m, 1, len(TASKS) * e, fan_in=d_in)
        self.head_w = nn.ParameterDict({t: _weight(m, expert_dim, k, fan_in=expert_dim)
                                        for t, k in zip(TASKS, (1, 1, len(QUANTILES)))})
        self.head_b = nn.ParameterDict({t: _weight(m, 1, k, fan_in=expert_dim)
                                        for t, k in zip(TASKS, (1, 1, len(QUANTILES)))})
        n_slots = MAX_POSITION * len(SURFACES)
        self.position_adopt = nn.Embedding(n_slots, m)
        self.position_dismiss = nn.Embedding(n_slots, m)
        nn.init.zeros_(self.position_adopt.weight)
        nn.init.zeros_(self.position_dismiss.weight)

    def members_forward(self, numeric: torch.Tensor, categorical: torch.Tensor,
                        position: torch.Tensor, surface: torch.Tensor
                        ) -> dict[str, torch.Tensor]:
        """Every member's logits of adoption and dismissal [member, batch] and impact
        quantiles [member, batch, 3] (squashed units, sorted)."""
        m, b = self.n_members, len(numeric)
        parts = [numeric.unsqueeze(0).expand(m, b, -1)] + [
            emb(categorical[:, i]).view(b, m, d).transpose(0, 1)
            for i, (emb, d) in enumerate(zip(self.embeddings, self.emb_dims))]
        x = torch.cat(parts, dim=2)  # [member, batch, d_in]
        e = self.n_experts
        h = torch.relu(torch.baddbmm(self.b1, x, self.w1)).view(m, b, e, self.hidden)
        experts = torch.relu(torch.matmul(self.dropout(h).transpose(1, 2), self.w2) + self.b2)
        gates = torch.softmax(torch.baddbmm(self.gate_b, x, self.gate_w).view(
            m, b, len(TASKS), e), dim=-1)  # [member, batch, task, expert]
        mixed = torch.matmul(gates, experts.transpose(1, 2))  # [member, batch, task, dim]
        out = {t: torch.baddbmm(self.head_b[t], mixed[:, :, i], self.head_w[t])
               for i, t in enumerate(TASKS)}
        adopt, dismiss, q = out["adopt"][..., 0], out["dismiss"][..., 0], out["impact"]
        slot = surface * MAX_POSITION + position
        adopt = adopt + self.position_adopt(slot).T
        dismiss = dismiss + self.position_dismiss(slot).T
        # Quantiles must not cross: the 50 % head plus non-negative gaps either side.
        mid = q[..., 1]
        low = mid - nn.functional.softplus(q[..., 0])
        high = mid + nn.functional.softplus(q[..., 2])
        return {"adopt": adopt, "dismiss": dismiss, "impact": torch.stack([low, mid, high], -1)}

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, position: torch.Tensor,
                surface: torch.Tensor, each: bool = False):
        """Logits of adoption and dismissal, and impact quantiles (squashed units, sorted),
        averaged over the members; with `each`, every member's outputs (for training, through
        the DDP wrapper so that gradients are synchronised)."""
        out = self.members_forward(numeric, categorical, position, surface)
        if each:
            return [{k: v[i] for k, v in out.items()} for i in range(self.n_members)]
        # Averaging sorted quantile triples keeps them sorted.
        return {k: v.mean(dim=0) for k, v in out.items()}


def squash(x: torch.Tensor) -> torch.Tensor:
    """sign(x) log(1 + |x|): impact spans a few conversions to thousands."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def unsquash(y):
    import numpy as np

    return np.sign(y) * np.expm1(np.abs(y))


def loss(out: dict[str, torch.Tensor], adopted: torch.Tensor, dismissed: torch.Tensor,
         impact: torch.Tensor, weight: torch.Tensor | None = None
         ) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum of the three task losses, each row counted `weight` times (default once); impact
    counts only rows with a measured impact. Also returns each part and the total as floats."""
    w = torch.ones_like(adopted) if weight is None else weight
    bce = nn.functional.binary_cross_entropy_with_logits
    l_adopt = (w * bce(out["adopt"], adopted, reduction="none")).mean()
    l_dismiss = (w * bce(out["dismiss"], dismissed, reduction="none")).mean()
    measured = ~torch.isnan(impact)
    if measured.any():
        y = squash(impact[measured]).unsqueeze(1)
        err = y - out["impact"][measured]
        tau = torch.tensor(QUANTILES, device=err.device).unsqueeze(0)
        pinball = torch.maximum(tau * err, (tau - 1) * err).mean(dim=1)
        l_impact = (w[measured] * pinball).mean()
    else:
        l_impact = torch.zeros((), device=adopted.device)
    total = l_adopt + l_dismiss + 0.5 * l_impact
    parts = {"loss_adopt": l_adopt.detach().item(), "loss_dismiss": l_dismiss.detach().item(),
             "loss_impact": l_impact.detach().item()}
    # the total from the parts already fetched: one device sync fewer per member and batch
    parts["loss"] = parts["loss_adopt"] + parts["loss_dismiss"] + 0.5 * parts["loss_impact"]
    return total, parts


def bagged_loss(model: nn.Module, batch: dict[str, torch.Tensor], device,
                generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
    """The members' summed losses on one batch, each member weighting every row by its own
    Poisson(1) draw (online bagging); one member sees the batch as it is. `model` may be
    wrapped by DDP and lives on `device`, where every tensor of `batch` is moved; `generator`
    lives on the CPU (the same draws on any device), its draws are moved too."""
    t = {k: batch[k].to(device) for k in BATCH_KEYS}
    outs = model(t["numeric"], t["categorical"], t["position"], t["surface"], each=True)
    n = len(t["adopted"])
    total, parts = 0.0, []
    for out in outs:
        weight = None if len(outs) == 1 else torch.poisson(
            torch.ones(n), generator=generator).to(device)
        member_total, part = loss(out, t["adopted"], t["dismissed"], t["impact"], weight)
        total = total + member_total
        parts.append(part)
    return total, {k: sum(p[k] for p in parts) / len(parts) for k in parts[0]}
