"""The account brief online: one advertiser's brief (`pipelines.brief.core.brief`, the function
the offline job maps over every account) from the signals the service holds in memory
(ServingData, as of the snapshot's day) and the same signals `past_days` earlier.

The past signals of every account are computed once per model version, when it loads, by the
context layer's replay path (`online_tables` as of the past day: the functions that wrote the
snapshot's online tables), and the peer reference is built from the snapshot's online tables as
the offline job builds it; a request then takes its account's rows and reads nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipelines.brief.core import (DEFAULT_CONFIG, AccountSignals, Brief, BriefConfig,
                                  available_actions, brief)
from pipelines.brief.job import peer_reference
from pipelines.candidates.reasons import supports
from pipelines.context import load
from pipelines.context.online import online_tables
from pipelines.storage.root import Root
from serving.data import ServingData

_ADV_KEY = ["advertiser_id"]
_CAMP_KEY = ["advertiser_id", "campaign_id"]


class BriefData:
    """What a brief needs beyond ServingData: the peer reference and every account's signals
    `cfg.past_days` before the as-of day, row-aligned with ServingData's accounts and
    campaigns (all missing when that day falls before the history)."""

    def __init__(self, root: Root, data: ServingData, cfg: BriefConfig = DEFAULT_CONFIG):
        self.data, self.cfg = data, cfg
        self.reference = peer_reference(root, data.snapshot, cfg)
        adv_keys = pd.DataFrame({"advertiser_id": data.advertiser_ids})
        n_camp = len(data.campaign_ids)
        camp_keys = pd.DataFrame({
            "advertiser_id": np.array([data.campaign_signals(r)["advertiser_id"]
                                       for r in range(n_camp)], np.int64),
            "campaign_id": data.campaign_ids})
        start, _ = load.time_range(root)
        past_day = data.as_of - dt.timedelta(days=cfg.past_days)
        if past_day >= start:
            adv, camp = online_tables(root, data.snapshot, past_day)
            adv_keys = adv_keys.merge(adv, on=_ADV_KEY, how="left")
            camp_keys = camp_keys.merge(camp, on=_CAMP_KEY, how="left")
        self.advertisers_past, self.campaigns_past = adv_keys, camp_keys

    def signals(self, advertiser_id: int) -> AccountSignals:
        """One advertiser's signals now (as the service serves them) and in the past."""
        d = self.data
        row = d.advertiser_row(advertiser_id)
        camp_rows = d.campaign_rows(row)
        return AccountSignals(
            pd.DataFrame([d.advertiser_signals(row)]),
            self.advertisers_past.iloc[[row]].reset_index(drop=True),
            pd.DataFrame([d.campaign_signals(r) for r in camp_rows],
                         columns=list(self.campaigns_past.columns) if not len(camp_rows)
                         else None),
            self.campaigns_past.iloc[camp_rows].reset_index(drop=True))

    def brief(self, advertiser_id: int, words: int) -> Brief:
        """The advertiser's brief as of the service's day within `words` words (the items'
        lines); NotFoundError for an advertiser the snapshot does not hold."""
        sig = self.signals(advertiser_id)
        cfg = self.cfg.model_copy(update={"words": words})
        return brief(sig, self.reference, available_actions(sig, self.data.as_of),
                     self.data.as_of, supports, cfg)
