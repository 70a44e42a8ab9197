"""The peer benchmarks stored with a snapshot: sums of each metric over every advertiser of a
vertical × channel × day, which the market signals compare an account against."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads

from pipelines.context.arrays import PEER_METRICS
from pipelines.domain.vocabulary import CHANNELS, VERTICALS
from pipelines.storage.root import Root
from pipelines.storage.snapshots import snapshot_path


def peers_table(peers: np.ndarray, start: dt.date) -> pa.Table:
    """Peer sums [vertical, channel, metric, day] as a long table, one row per value."""
    v, c, m, d = np.meshgrid(*(np.arange(n) for n in peers.shape), indexing="ij")
    return pa.table({
        "vertical": pa.array(np.array(VERTICALS)[v.ravel()]),
        "channel": pa.array(np.array(CHANNELS)[c.ravel()]),
        "metric": pa.array(np.array(PEER_METRICS)[m.ravel()]),
        "date": pa.array((np.datetime64(start, "D") + d.ravel()).astype("datetime64[D]"),
                         pa.date32()),
        "value": pa.array(peers.ravel()),
    })


def read_peers(root: Root, version: str) -> np.ndarray:
    """The peer sums stored with a snapshot, back as [vertical, channel, metric, day]."""
    t = pads.dataset(snapshot_path(root, version, "peers.parquet"), filesystem=root.fs,
                     format="parquet").to_table().to_pandas()
    days = t.date.nunique()
    return t.value.to_numpy().reshape(len(VERTICALS), len(CHANNELS), len(PEER_METRICS), days)
