"""The trained ranker as registry files, and back."""

from __future__ import annotations

import io
import json

import torch

from pipelines.models import features
from pipelines.models.calibration import Isotonic
from pipelines.models.ranker import MultiTaskRanker


def to_files(state: dict, spec: features.FeatureSpec, config: dict,
             calibrators: dict[str, Isotonic]) -> dict[str, bytes]:
    buf = io.BytesIO()
    torch.save(state, buf)
    model_cfg = {k: config[k] for k in ("hidden", "experts", "seed")}
    return {
        "ranker.pt": buf.getvalue(),
        "features.json": spec.to_json().encode(),
        "model.json": json.dumps(model_cfg).encode(),
        "calibration.json": json.dumps({k: {"x": c.x, "y": c.y}
                                        for k, c in calibrators.items()}).encode(),
    }


class LoadedRanker:
    """A ranker from registry files: model, feature spec and calibrators."""

    def __init__(self, files: dict[str, bytes]):
        self.spec = features.FeatureSpec.from_json(files["features.json"].decode())
        cfg = json.loads(files["model.json"])
        self.model = MultiTaskRanker(self.spec.n_numeric, self.spec.cardinalities,
                                     hidden=cfg["hidden"], n_experts=cfg["experts"])
        state = torch.load(io.BytesIO(files["ranker.pt"]), map_location="cpu", weights_only=False)
        self.model.load_state_dict(state)
        self.model.eval()
        self.calibrators = {k: Isotonic(**v) for k, v in
                            json.loads(files["calibration.json"]).items()}
