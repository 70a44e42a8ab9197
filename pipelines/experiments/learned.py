"""The learned policy in the world: the promoted ranker scores the world's candidates from the
platform's own tables, by the same functions `guidance prepare` and the service use.

Every day, the block's raw tables as the platform knows them at the start of the day
(pipelines.world.recording.Recorder.platform_tables) become the context arrays
(pipelines.context.load), each candidate's campaign gets every signal as of that day
(pipelines.context.compute) and its candidate columns (pipelines.labels.examples, which calls
pipelines.candidates.features like the service does); the ranker's feature spec encodes the rows
as the service encodes a request, and the calibrated model scores them. The world's
ScoredPolicy then weighs the predictions with the service's score and draws the slate with the
service's Plackett–Luce code.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import torch

from pipelines.candidates.features import trending_keys
from pipelines.context import compute, load
from pipelines.domain.actions import ACTION_TYPES
from pipelines.domain.vocabulary import SURFACES
from pipelines.labels.examples import candidate_columns
from pipelines.models import features
from pipelines.models.artifacts import LoadedRanker
from pipelines.world.policies import PolicyView

_ACTION_NAMES = np.array([a.name for a in ACTION_TYPES], dtype=object)
_SURFACE_NAMES = np.array(SURFACES, dtype=object)
PEER_CARRY_DAYS = 7  # days of peer sums averaged to stand in for the days after the snapshot


def extend_peers(peers: np.ndarray, days: int) -> np.ndarray:
    """The snapshot's peer sums [vertical, channel, metric, day] carried forward to `days` days:
    each day after the snapshot gets the mean of its last PEER_CARRY_DAYS days. A block of the
    world cannot see the other blocks' advertisers, so the peers cannot be recomputed while an
    experiment runs; benchmarks against peers are ratios, which a recent average keeps."""
    extra = days - peers.shape[-1]
    if extra <= 0:
        return peers
    recent = peers[..., -PEER_CARRY_DAYS:].mean(axis=-1, keepdims=True)
    return np.concatenate([peers, np.repeat(recent, extra, axis=-1)], axis=-1)


class LearnedPredictor:
    """A world Predictor (pipelines.world.policies.ScoredPolicy) backed by a registry version
    of the ranker: calibrated P(adopt), P(dismiss) and the median expected impact (conversions
    over 14 days, the service's unit) of every candidate."""

    def __init__(self, ranker_files: dict[str, bytes], peers: np.ndarray, market: pd.DataFrame,
                 catalog: pd.DataFrame, start: dt.date):
        """`peers`: the snapshot's peer sums (extended to every day the world will live);
        `market`: the raw market table over those days; `catalog`: the raw catalog table."""
        self.ranker = LoadedRanker(ranker_files)
        self.peers, self.market, self.start = peers, market, start
        self.catalog = catalog.drop_duplicates("item_id").reset_index(drop=True)
        self.trending = trending_keys(market)
        self.last: dict[str, np.ndarray] | None = None  # the last call's whole prediction
        self.last_encoded: dict[str, np.ndarray] | None = None  # and the rows it scored
        torch.set_num_threads(1)  # a block is one Ray task with one CPU

    def frame(self, view: PolicyView) -> pd.DataFrame:
        """One row per candidate of the view: every signal of its advertiser and campaign as of
        the view's day, and its candidate columns, as the offline examples hold them."""
        tables = view.tables()
        ctx = load.context_arrays(tables, self.market, self.peers, self.start, view.day)
        campaign_id = view.observed.campaign_id
        pairs, first, back = np.unique(campaign_id, return_index=True, return_inverse=True)
        adv_of_pair = view.observed.advertiser_id[first]
        sig = compute.compute(ctx, compute.query(ctx, adv_of_pair, pairs,
                                                 np.full(len(pairs), view.day))).to_pandas()
        sig = sig.iloc[back].reset_index(drop=True)
        noon = pd.Timestamp(self.start, tz="UTC") + pd.Timedelta(days=view.day, hours=12)
        c = view.candidates
        shown = pd.DataFrame({
            "advertiser_id": view.observed.advertiser_id, "campaign_id": campaign_id,
            "item_id": c.item_id, "action_type": _ACTION_NAMES[c.action],
            "surface": _SURFACE_NAMES[view.surface],
            "shown_at": pd.Series(np.full(len(c), noon), dtype="datetime64[ns, UTC]")})
        catalog = self._catalog(tables.get("catalog"), c.item_id)
        cand = candidate_columns(shown, catalog, tables["impressions"], sig, self.trending)
        return pd.concat([sig, cand.reset_index(drop=True)], axis=1)

    def _catalog(self, own: pd.DataFrame | None, item_id: np.ndarray) -> pd.DataFrame:
        """The catalog rows of `item_id`: the raw catalog's, and the block's own for items that
        came after it."""
        known = self.catalog[self.catalog.item_id.isin(item_id)]
        if own is None or own.empty:
            return known
        extra = own[own.item_id.isin(item_id) & ~own.item_id.isin(known.item_id)]
        return pd.concat([known, extra], ignore_index=True)

    def __call__(self, view: PolicyView) -> dict[str, np.ndarray]:
        enc = self.last_encoded = features.encode(self.frame(view), self.ranker.spec,
                                                  serving=True)
        out = self.last = self.ranker.predict(enc)  # the interval, for the experiment's record
        return {"p_adopt": out["p_adopt"], "p_dismiss": out["p_dismiss"],
                "impact": out["impact"][:, 1]}

    def adoption_by_position(self, positions: int) -> np.ndarray:
        """[candidate, position] the calibrated P(adopt) of the last call's candidates had each
        been shown at positions 1..`positions` of its surface (the ranker's position offset,
        which serving leaves at 1): a reward model for off-policy estimates of slates."""
        enc = self.last_encoded
        out = np.empty((len(enc["position"]), positions))
        for j in range(min(positions, features.MAX_POSITION)):
            out[:, j] = self.ranker.predict({**enc, "position": np.full_like(enc["position"],
                                                                             j)})["p_adopt"]
        out[:, features.MAX_POSITION:] = out[:, features.MAX_POSITION - 1:features.MAX_POSITION]
        return out
