"""The ground truth of logged impressions, read as data: what the simulated world wrote under
`<root>/truth/`. A real platform's logs have none, and evaluation then skips the comparisons that
need it. Evaluation never calls the simulator itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as pads

from pipelines.errors import DataError
from pipelines.storage.root import Root

TABLE = "truth/impression_oracle"
COLUMNS = (
    "p_adopt",  # true P(adopt) at the impression's logged position
    "p_adopt_if_shown_first",  # the same restated for position 1 of its surface
    "expected_conversions_delta",  # expected causal change in conversions if adopted, 14 days
)
# why the oracle comparisons are missing, as the report and the CLI say it
NO_TRUTH = (f"no {TABLE} under the root (only a simulated world has one), so there is no "
            "oracle to compare with")


def impression_truth(root: Root, impression_ids: np.ndarray) -> pd.DataFrame | None:
    """The truth of each impression in `impression_ids` (the columns in COLUMNS, in that order
    of rows), or None when the root has no truth table."""
    if not root.exists(TABLE):
        return None
    root.require("truth")
    ds = pads.dataset(root.join(TABLE), filesystem=root.fs, format="parquet")
    missing = [c for c in ("impression_id", *COLUMNS) if c not in ds.schema.names]
    if missing:
        raise DataError(f"{root.join(TABLE)} lacks column(s) {', '.join(missing)}: it was "
                        "written by an older simulator; regenerate the world "
                        "(`guidance world generate --overwrite`)")
    ids = np.asarray(impression_ids)
    table = ds.to_table(columns=["impression_id", *COLUMNS],
                        filter=pc.field("impression_id").isin(ids))
    truth = table.to_pandas().drop_duplicates("impression_id").set_index("impression_id")
    absent = ~np.isin(ids, truth.index.to_numpy())
    if absent.any():
        raise DataError(f"{int(absent.sum())} of {len(ids)} test impressions (e.g. "
                        f"{ids[absent][0]}) have no row in {root.join(TABLE)}: the truth "
                        "belongs to another world than the snapshot")
    return truth.loc[ids]
