"""Scoring candidates with one registry version of the multi-task ranker.

The campaigns' context columns are encoded once when the version loads; a request brings only
the candidate columns. Probabilities come out calibrated and the impact interval widened by the
version's conformal margin, so what the policy multiplies and the UI shows is what evaluation
measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from pipelines.models import artifacts, features


class SnapshotMismatch(Exception):
    """The ranker was asked about campaigns its version's snapshot does not hold: the ingress
    and the ranker serve different versions for a moment during a swap."""


class RankerCore:
    """A loaded ranker version with its campaigns' encoded context."""

    def __init__(self, version: str, files: dict[str, bytes], context: pd.DataFrame):
        """`context`: one row per campaign (advertiser and campaign signals joined), with a
        `campaign_id` column."""
        self.version = version
        self.loaded = artifacts.LoadedRanker(files)
        self.encoder = features.SplitEncoder(self.loaded.spec)
        self.campaign_ids = context.campaign_id.to_numpy(np.int64)
        order = np.argsort(self.campaign_ids)
        self.campaign_ids = self.campaign_ids[order]
        num, cat = self.encoder.context(context.iloc[order].reset_index(drop=True))
        self.context_numeric, self.context_categorical = num, cat
        # a replica given a GPU (ranker_gpus) scores there; otherwise one CPU thread, since
        # requests are small and threads would fight the other replicas
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.loaded.model.to(self.device)
        if self.device.type == "cpu":
            torch.set_num_threads(1)

    def inputs(self, campaign_id: np.ndarray, candidates: dict[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
        rows = np.minimum(np.searchsorted(self.campaign_ids, campaign_id),
                          len(self.campaign_ids) - 1)
        if not np.array_equal(self.campaign_ids[rows], campaign_id):
            # the ingress serves another snapshot than this version (mid-swap): refuse, and the
            # ingress answers from its fallback rather than with another campaign's context
            raise SnapshotMismatch(f"ranker {self.version}: campaigns unknown to its snapshot")
        return self.encoder.rows(self.context_numeric, self.context_categorical, rows, candidates)

    def forward(self, enc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Calibrated adoption and dismissal probabilities and the impact interval
        (conversions over 14 days: low, median, high) for encoded rows, at position 1 of their
        surface (the encoder puts every row there)."""
        return self.loaded.predict(enc, self.device)

    def score(self, campaign_id: np.ndarray, candidates: dict[str, np.ndarray],
              with_inputs: bool = False) -> dict[str, np.ndarray]:
        """`forward` of the candidates' encoded rows; `with_inputs` adds those rows themselves
        ("numeric": float32 [n, F], "categorical": int64 [n, C]), for the log."""
        enc = self.inputs(campaign_id, candidates)
        out = self.forward(enc)
        return {**out, **encoded_rows(enc)} if with_inputs else out


INPUT_KEYS = ("numeric", "categorical")  # what the log keeps of a scored row


def encoded_rows(enc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The part of `RankerCore.inputs` that a RankerInput stores as bytes (a served row's
    position is always the first, and its surface is logged by name)."""
    return {k: enc[k] for k in INPUT_KEYS}
