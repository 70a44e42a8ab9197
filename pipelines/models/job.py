"""`guidance train` end to end: fit with Ray Train, calibrate on validation, register."""

from __future__ import annotations

import numpy as np
import pyarrow.dataset as pads

from pipelines.context.online import campaign_context
from pipelines.models import artifacts, retrieval, train
from pipelines.models.calibration import Isotonic, conformal_margin, expected_calibration_error
from pipelines.models.config import TrainConfig
from pipelines.registry import store
from pipelines.storage.root import Root
from pipelines.storage.snapshots import snapshot_path
from pipelines.storage.version import code_version


def read_split(root: Root, snapshot: str, split: str):
    path = snapshot_path(root, snapshot, "examples", f"split={split}")
    return pads.dataset(path, filesystem=root.fs, format="parquet").to_table().to_pandas()


def impact_halves(val) -> tuple[np.ndarray, np.ndarray]:
    """Validation rows with a measured impact, split by time: the earlier half calibrates the
    interval (split conformal), the later half judges it."""
    measured = (val.label_adopted & val.impact_conversions.notna()).to_numpy()
    cut = val.shown_at[measured].median() if measured.any() else None
    early = measured & (val.shown_at < cut).to_numpy() if cut is not None else measured
    return early, measured & ~early


def fit_and_register(cfg: TrainConfig, show_progress: bool = True) -> dict:
    """Train, fit the calibrators on the validation split, publish a registry version; returns
    the version, the snapshot and the ranker's last-epoch metrics (`render` prints them). With
    `show_progress`, a line per epoch of each model on stderr."""
    root = Root(cfg.root)
    out = train.train(cfg, show_progress)
    model = train.build_model(out["spec"], cfg)
    model.load_state_dict(out["state"])
    val = read_split(root, out["snapshot"], "validation")
    pred = train.predict(model, val, out["spec"])
    calibrators = {
        "adopt": Isotonic.fit(pred["adopt"], val.label_adopted.to_numpy(float)),
        "dismiss": Isotonic.fit(pred["dismiss"], val.label_dismissed.to_numpy(float)),
    }
    early, _ = impact_halves(val)
    margin = conformal_margin(pred["impact"][early],
                              val.impact_conversions.to_numpy(float)[early])
    files = artifacts.to_files(out["state"], out["spec"], cfg.model_dump(), calibrators, margin)
    catalog = pads.dataset(root.join("raw", "catalog"), filesystem=root.fs,
                           format="parquet").to_table().to_pandas()
    tower = retrieval.train(root, out["snapshot"], catalog, cfg, out["run_name"], show_progress)
    index = retrieval.build_index(tower["model"], tower["items"])
    files.update(artifacts.retrieval_files(tower, index,
                                           campaign_context(root, out["snapshot"])))
    metrics = {k: v for k, v in out["metrics"].items() if isinstance(v, (int, float))}
    metrics["val_adoption_ece_before"] = expected_calibration_error(
        pred["adopt"], val.label_adopted.to_numpy(float))
    version = store.publish(root, files, {
        "kind": "multitask_ranker", "snapshot": out["snapshot"],
        "config": cfg.model_dump(mode="json"),
        "training_metrics": metrics, "code_version": code_version(),
        "retrieval": {"positives": tower["positives"], "final_loss": tower["metrics"]["loss"]},
        "index": {"kind": index.kind, "nprobe": index.nprobe, "items": len(index.ids),
                  "recall_at_100": index.recall_at_100,
                  "build_seconds": round(index.build_seconds, 3)}})
    return {"version": version, "snapshot": out["snapshot"], "metrics": metrics}


def render(result: dict) -> str:
    """`guidance train`'s summary of `fit_and_register`'s result, for people."""
    m = result["metrics"]
    return (f"model {result['version']} registered (snapshot {result['snapshot']}): validation "
            f"adoption AUC {m['averaged_val_adoption_auc']:.4f} with the weights averaged over "
            f"epochs {m['average_from_epoch'] + 1}–{m['epoch'] + 1}, dismissal AUC "
            f"{m['averaged_val_dismissal_auc']:.4f}, {m['examples_per_s']:,.0f} examples/s")
