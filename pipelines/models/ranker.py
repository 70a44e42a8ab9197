"""The multi-task ranker: adoption, dismissal and the impact interval from shared experts.

MMoE (multi-gate mixture of experts) rather than one shared bottom: adoption and dismissal pull
the shared layers in different directions (an item can be attractive to some and irritating to
others), and impact is learned only from the few adopted and measured rows; per-task gates let
each task weight the experts it needs instead of fighting over one representation.

Position and surface bias go through a shallow tower added to the adoption and dismissal logits
in training only; serving calls the model with `with_position=False`, ranking as if every item
sat at the top.

The ranker is a small ensemble of such networks, averaged. One network's test AUC swings by about
0.01 with its seed on the small world; members fitted by online bagging (each sees every example
a Poisson(1) number of times: Oza & Russell, 2001) in the same pass over the data vary less
together.
"""

from __future__ import annotations

import torch
from torch import nn

from pipelines.models.features import MAX_POSITION
from pipelines.world.taxonomy import SURFACES

QUANTILES = (0.1, 0.5, 0.9)


def _mlp(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, d_out), nn.ReLU())


class _Member(nn.Module):
    def __init__(self, n_numeric: int, cardinalities: list[int], emb_dim: int, hidden: int,
                 expert_dim: int, n_experts: int, dropout: float):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(c, min(emb_dim, c)) for c in cardinalities)
        d_in = n_numeric + sum(min(emb_dim, c) for c in cardinalities)
        self.experts = nn.ModuleList(_mlp(d_in, hidden, expert_dim, dropout)
                                     for _ in range(n_experts))
        self.gates = nn.ModuleDict({t: nn.Linear(d_in, n_experts)
                                    for t in ("adopt", "dismiss", "impact")})
        self.adopt = nn.Linear(expert_dim, 1)
        self.dismiss = nn.Linear(expert_dim, 1)
        self.impact = nn.Linear(expert_dim, len(QUANTILES))
        n_slots = MAX_POSITION * len(SURFACES)
        self.position_adopt = nn.Embedding(n_slots, 1)
        self.position_dismiss = nn.Embedding(n_slots, 1)
        nn.init.zeros_(self.position_adopt.weight)
        nn.init.zeros_(self.position_dismiss.weight)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, position: torch.Tensor,
                surface: torch.Tensor, with_position: bool = True) -> dict[str, torch.Tensor]:
        """Logits of adoption and dismissal, and impact quantiles (squashed units, sorted)."""
        parts = [numeric] + [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
        x = torch.cat(parts, dim=1)
        experts = torch.stack([e(x) for e in self.experts], dim=1)  # [batch, expert, dim]

        def mix(task):
            w = torch.softmax(self.gates[task](x), dim=1).unsqueeze(-1)
            return (w * experts).sum(dim=1)

        adopt = self.adopt(mix("adopt")).squeeze(-1)
        dismiss = self.dismiss(mix("dismiss")).squeeze(-1)
        if with_position:
            slot = surface * MAX_POSITION + position
            adopt = adopt + self.position_adopt(slot).squeeze(-1)
            dismiss = dismiss + self.position_dismiss(slot).squeeze(-1)
        q = self.impact(mix("impact"))
        # Quantiles must not cross: the 50 % head plus non-negative gaps either side.
        mid = q[:, 1]
        low = mid - nn.functional.softplus(q[:, 0])
        high = mid + nn.functional.softplus(q[:, 2])
        return {"adopt": adopt, "dismiss": dismiss, "impact": torch.stack([low, mid, high], 1)}


class MultiTaskRanker(nn.Module):
    def __init__(self, n_numeric: int, cardinalities: list[int], emb_dim: int = 8,
                 hidden: int = 128, expert_dim: int = 64, n_experts: int = 4,
                 dropout: float = 0.1, members: int = 1):
        super().__init__()
        self.members = nn.ModuleList(
            _Member(n_numeric, cardinalities, emb_dim, hidden, expert_dim, n_experts, dropout)
            for _ in range(members))

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, position: torch.Tensor,
                surface: torch.Tensor, with_position: bool = True, each: bool = False):
        """Logits of adoption and dismissal, and impact quantiles (squashed units, sorted),
        averaged over the members; with `each`, every member's outputs (for training, through
        the DDP wrapper so that gradients are synchronised)."""
        outs = [m(numeric, categorical, position, surface, with_position) for m in self.members]
        if each:
            return outs
        if len(outs) == 1:
            return outs[0]
        # Averaging sorted quantile triples keeps them sorted.
        return {k: torch.stack([o[k] for o in outs]).mean(dim=0) for k in outs[0]}


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
    counts only rows with a measured impact."""
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
    return total, {"loss_adopt": l_adopt.detach().item(),
                   "loss_dismiss": l_dismiss.detach().item(),
                   "loss_impact": l_impact.detach().item()}


def bagged_loss(model: nn.Module, batch: dict[str, torch.Tensor], device,
                generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
    """The members' summed losses on one batch, each member weighting every row by its own
    Poisson(1) draw (online bagging); one member sees the batch as it is. `model` may be
    wrapped by DDP; `generator` lives on the CPU."""
    t = {k: batch[k].to(device) for k in ("numeric", "categorical", "position", "surface",
                                          "adopted", "dismissed", "impact")}
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
