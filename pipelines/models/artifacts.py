"""The trained ranker as registry files, and back."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from pipelines.models import features
from pipelines.models.calibration import Isotonic, widen
from pipelines.models.ranker import MultiTaskRanker, unsquash
from pipelines.registry.store import RegistryError

CONTEXT_EMBEDDINGS = "context_embeddings.parquet"


def to_files(state: dict, spec: features.FeatureSpec, config: dict,
             calibrators: dict[str, Isotonic], impact_margin: float = 0.0) -> dict[str, bytes]:
    buf = io.BytesIO()
    torch.save(state, buf)
    model_cfg = {k: config[k] for k in ("hidden", "experts", "members", "seed")}
    return {
        "ranker.pt": buf.getvalue(),
        "features.json": spec.to_json().encode(),
        "model.json": json.dumps(model_cfg).encode(),
        "calibration.json": json.dumps({
            "probabilities": {k: {"x": c.x, "y": c.y} for k, c in calibrators.items()},
            "impact_margin": impact_margin}).encode(),
    }


class LoadedRanker:
    """A ranker from registry files: model, feature spec and calibrators."""

    def __init__(self, files: dict[str, bytes]):
        self.spec = features.FeatureSpec.from_json(files["features.json"].decode())
        cfg = json.loads(files["model.json"])
        state = torch.load(io.BytesIO(files["ranker.pt"]), map_location="cpu", weights_only=False)
        try:
            self.model = MultiTaskRanker(self.spec.n_numeric, self.spec.cardinalities,
                                         hidden=cfg["hidden"], n_experts=cfg["experts"],
                                         members=cfg["members"])
            self.model.load_state_dict(state)
        except (KeyError, RuntimeError) as e:
            # a version written by an older ranker (before the ensemble): its files are intact,
            # but this code cannot rebuild the network they describe
            raise RegistryError(f"the ranker files were written in another format than this "
                                f"code reads ({type(e).__name__}: {str(e)[:120]}); retrain "
                                f"with `guidance train`") from None
        self.model.eval()
        cal = json.loads(files["calibration.json"])
        self.calibrators = {k: Isotonic(**v) for k, v in cal["probabilities"].items()}
        self.impact_margin = cal["impact_margin"]

    def predict(self, enc: dict[str, np.ndarray], device: torch.device | None = None
                ) -> dict[str, np.ndarray]:
        """What the service shows for encoded rows: calibrated adoption and dismissal
        probabilities and the impact interval (conversions over 14 days: low, median, high)
        widened by the version's conformal margin. The model must sit on `device`."""
        t = {k: torch.from_numpy(v).to(device or "cpu") for k, v in enc.items()}
        with torch.inference_mode():
            out = self.model(t["numeric"], t["categorical"], t["position"], t["surface"])
        p_adopt = torch.sigmoid(out["adopt"]).cpu().numpy()
        p_dismiss = torch.sigmoid(out["dismiss"]).cpu().numpy()
        impact = widen(unsquash(out["impact"].cpu().numpy().astype(float)), self.impact_margin)
        return {"p_adopt": self.calibrators["adopt"](p_adopt),
                "p_dismiss": self.calibrators["dismiss"](p_dismiss),
                "impact": impact}


def retrieval_files(tower: dict, index, context: pd.DataFrame) -> dict[str, bytes]:
    """The two towers, the item embeddings, the FAISS index and the context embeddings of every
    campaign in `context` (one row per campaign) as registry files."""
    from pipelines.models.retrieval import context_embedding_table, item_embeddings, state_bytes

    buf = io.BytesIO()
    np.savez(buf, item_id=tower["items"].item_id,
             embedding=item_embeddings(tower["model"], tower["items"]))
    table = io.BytesIO()
    pq.write_table(context_embedding_table(tower["model"], tower["spec"], context), table)
    return {"two_tower.pt": state_bytes(tower["model"]),
            "context_features.json": tower["spec"].to_json().encode(),
            "items.npz": buf.getvalue(), "index.faiss": index.to_bytes(),
            CONTEXT_EMBEDDINGS: table.getvalue()}


def context_embeddings(files: dict[str, bytes]) -> pd.DataFrame:
    """advertiser_id, campaign_id, surface and `embedding` (float32 [d]) of a registry
    version's saved context embeddings."""
    return pq.read_table(io.BytesIO(files[CONTEXT_EMBEDDINGS])).to_pandas()


def load_two_tower(files: dict[str, bytes], catalog) -> tuple:
    """(model, context spec, item table) from registry files and the raw catalog. The model's
    item-id table keeps the size it was trained with: items added to the catalog since then
    are served from their stored embeddings (items.npz), not re-embedded."""
    from pipelines.models.two_tower import TwoTower, item_table

    spec = features.FeatureSpec.from_json(files["context_features.json"].decode())
    items = item_table(catalog)
    state = torch.load(io.BytesIO(files["two_tower.pt"]), map_location="cpu", weights_only=False)
    model = TwoTower(spec.n_numeric, spec.cardinalities, state["item_id.weight"].shape[0])
    model.load_state_dict(state)
    model.eval()
    return model, spec, items
