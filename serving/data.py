"""What the service keeps in memory for one snapshot: the online context of every advertiser and
campaign, the catalog, today's trending entities and the guidance history of the raw logs, laid
out as arrays with per-advertiser offsets so a request touches only its own rows."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from pipelines.candidates.features import epoch_ms, trending_keys
from pipelines.candidates.observed import observe
from pipelines.context import load
from pipelines.context.online import advertiser_of_campaigns, joined, online_tables
from pipelines.domain.applicability import CampaignFacts
from pipelines.errors import NotFoundError
from pipelines.storage.root import Root
from pipelines.storage.snapshots import latest_version, snapshot_path

HISTORY_DAYS = 365  # the longest cool-down the policy may apply


def _offsets(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    start = np.searchsorted(sorted_keys, keys, side="left")
    return start, np.searchsorted(sorted_keys, keys, side="right") - start


@dataclass
class Catalog:
    """Catalog columns as arrays sorted by item id."""

    item_id: np.ndarray
    columns: dict[str, np.ndarray]

    def rows(self, item_ids: np.ndarray) -> np.ndarray:
        r = np.searchsorted(self.item_id, item_ids)
        r = np.minimum(r, len(self.item_id) - 1)
        if not np.array_equal(self.item_id[r], item_ids):
            missing = np.asarray(item_ids)[self.item_id[r] != item_ids][:3]
            raise NotFoundError(f"items {missing.tolist()} are not in the catalog")
        return r

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


class ServingData:
    """One snapshot's online context, catalog and history, ready for requests.

    With `as_of`, a replay: the service as it would have been at the start of that past day,
    with every signal computed as of that day from the raw tables and only the history logged
    before it (a response or a measured impact after it is not known yet).
    """

    def __init__(self, root: Root, snapshot: str | None = None, as_of: dt.date | None = None):
        self.snapshot = snapshot or latest_version(root)
        with root.fs.open_input_stream(snapshot_path(root, self.snapshot, "manifest.json")) as f:
            manifest = json.loads(f.read())
        now = dt.date.fromisoformat(manifest["as_of_now"])
        replay = as_of is not None and as_of != now
        self.as_of = as_of if replay else now
        adv, camp = online_tables(root, self.snapshot, self.as_of if replay else None)
        self.advertiser_ids = adv.advertiser_id.to_numpy(np.int64)
        self.campaign_ids = camp.campaign_id.to_numpy(np.int64)
        self.camp_start, self.camp_count = _offsets(camp.advertiser_id.to_numpy(np.int64),
                                                    self.advertiser_ids)
        adv_of_camp = advertiser_of_campaigns(adv, camp)
        self.observed: CampaignFacts = observe(camp, adv_of_camp)
        self.has_catalog = adv_of_camp.has_product_catalog.fillna(False).to_numpy(bool)
        self.context = joined(adv_of_camp, camp)
        self._adv_records = adv.to_dict("records")
        self._camp_records = camp.to_dict("records")
        self.catalog = self._catalog(root)
        self.trending = self._trending(root)
        self._history(root)

    # -- lookups ---------------------------------------------------------------------------

    def advertiser_row(self, advertiser_id: int) -> int:
        r = int(np.searchsorted(self.advertiser_ids, advertiser_id))
        if r >= len(self.advertiser_ids) or self.advertiser_ids[r] != advertiser_id:
            raise NotFoundError(f"advertiser {advertiser_id} not found")
        return r

    def campaign_rows(self, adv_row: int) -> np.ndarray:
        s = self.camp_start[adv_row]
        return np.arange(s, s + self.camp_count[adv_row])

    def advertiser_signals(self, adv_row: int) -> dict:
        return self._adv_records[adv_row]

    def campaign_signals(self, camp_row: int) -> dict:
        return self._camp_records[camp_row]

    def history(self, adv_row: int) -> dict[str, np.ndarray]:
        """The advertiser's guidance log rows from the raw history (last 365 days)."""
        s, n = self.hist_start[adv_row], self.hist_count[adv_row]
        return {k: v[s:s + n] for k, v in self.hist.items()}

    # -- loading ---------------------------------------------------------------------------

    @staticmethod
    def _catalog(root: Root) -> Catalog:
        t = load.dataset(root, "catalog").to_table().sort_by("item_id")
        cols = {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}
        return Catalog(cols.pop("item_id").astype(np.int64), cols)

    def _trending(self, root: Root) -> np.ndarray:
        """`trending_keys` of the last day's market: each vertical's trending keywords and
        interests, as the candidate features look them up."""
        last = self.as_of - dt.timedelta(days=1)
        return trending_keys(load.dataset(root, "market").to_table(
            filter=pc.field("date") == last).to_pandas())

    def _history(self, root: Root) -> None:
        now = pd.Timestamp(self.as_of, tz="UTC")
        since = now - pd.Timedelta(days=HISTORY_DAYS)
        t = load.dataset(root, "impressions").to_table(
            columns=["advertiser_id", "campaign_id", "item_id", "action_type", "surface",
                     "shown_at", "outcome", "dismiss_reason", "responded_at",
                     "outcome_conversions_delta", "outcome_measured_at"],
            filter=(pc.field("shown_at") >= since) & (pc.field("shown_at") < now)).to_pandas()
        t = t.sort_values(["advertiser_id", "shown_at"], kind="stable")
        # what was not known yet at the start of the as-of day (only in a replay of a past day)
        unanswered = t.responded_at >= now
        t.loc[unanswered, ["outcome", "dismiss_reason", "responded_at"]] = ["ignored", None, pd.NaT]
        t.loc[~(t.outcome_measured_at < now), "outcome_conversions_delta"] = np.nan
        responded = t.responded_at.fillna(t.shown_at)
        self.hist = {
            "campaign_id": t.campaign_id.to_numpy(np.int64),
            "item_id": t.item_id.to_numpy(np.int64),
            "action_type": t.action_type.to_numpy(object),
            "surface": t.surface.to_numpy(object),
            "served_at_ms": epoch_ms(t.shown_at),
            "outcome": t.outcome.to_numpy(object),
            "dismiss_reason": t.dismiss_reason.fillna("").to_numpy(object),
            "responded_at_ms": epoch_ms(responded),
            "impact": t.outcome_conversions_delta.to_numpy(float),
        }
        self.hist_start, self.hist_count = _offsets(t.advertiser_id.to_numpy(np.int64),
                                                    self.advertiser_ids)

    def now_ms(self, elapsed_s: float = 0.0) -> int:
        """The serving clock in the simulated world: midnight UTC of the as-of day plus the
        time the service has been up (the world's logs end the day before)."""
        midnight = dt.datetime.combine(self.as_of, dt.time(), dt.timezone.utc)
        return int(midnight.timestamp() * 1000 + elapsed_s * 1000)
