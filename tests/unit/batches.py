"""A seeded batch of encoded ranker inputs and labels, as Ray Train hands the training loop."""

import torch


def ranker_batch(n: int = 64, n_numeric: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    """`n` rows of 6 numeric and 2 categorical inputs, position, surface and the three labels
    (a third of the impacts unmeasured: NaN)."""
    g = torch.Generator().manual_seed(seed)
    impact = torch.randn(n, generator=g) * 5
    impact[::3] = float("nan")
    return {"numeric": torch.randn(n, n_numeric, generator=g),
            "categorical": torch.randint(0, 4, (n, 2), generator=g),
            "position": torch.randint(0, 5, (n,), generator=g),
            "surface": torch.randint(0, 4, (n,), generator=g),
            "adopted": (torch.rand(n, generator=g) < 0.2).float(),
            "dismissed": (torch.rand(n, generator=g) < 0.1).float(),
            "impact": impact}
