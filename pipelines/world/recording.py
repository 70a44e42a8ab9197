"""What a block writes: the rows its day-by-day tables collect, and at the end every raw and truth
table of the block (pipelines.world.schema), with its totals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.domain.vocabulary import (
    CATEGORIES, CHANNELS, COUNTRIES, OBJECTIVES, TIERS, TRACKING_LEVELS, VERTICALS
)
from pipelines.world import schema
from pipelines.world.block import Block
from pipelines.world.catalog import product_catalog

if TYPE_CHECKING:
    from pipelines.world.simulate import WorldSpec

DAILY_TABLES = ("daily_performance", "workflow_events", "impressions", "impression_oracle")


@dataclass
class BlockOutput:
    """A block's tables by name: raw (`tables`) and truth (`truth`), and the totals of its
    guidance (impressions, adoptions, dismissals, expected and realised profit in $)."""

    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    totals: dict[str, float] = field(default_factory=dict)


class Recorder:
    """Collects the rows of the tables written day by day, and the block's totals."""

    def __init__(self):
        self.cols: dict[str, dict[str, list]] = {t: defaultdict(list) for t in DAILY_TABLES}
        self.totals: dict[str, float] = defaultdict(float)

    def add(self, table: str, rows: dict[str, np.ndarray] | None) -> None:
        """Append `rows` (columns of equal length; None: none today) to `table`."""
        for k, v in (rows or {}).items():
            self.cols[table][k].append(np.asarray(v))

    def add_totals(self, totals: dict[str, float]) -> None:
        for k, v in totals.items():
            self.totals[k] += v

    def rows(self, table: str) -> dict[str, np.ndarray] | None:
        """The rows of `table` recorded so far (None: none)."""
        cols = self.cols[table]
        return {k: np.concatenate(v) for k, v in cols.items()} if cols else None

    def _raw(self, block: Block, spec: WorldSpec, days: int) -> dict[str, dict | None]:
        """The raw tables' columns after `days` days of the world."""
        adv, cs = block.adv, block.cs
        start = np.datetime64(spec.start, "D")
        return {
            "advertisers": {
                "advertiser_id": adv.advertiser_id,
                "vertical": np.array(VERTICALS, dtype=object)[adv.vertical],
                "country": np.array(COUNTRIES, dtype=object)[adv.country],
                "size_tier": np.array(TIERS, dtype=object)[adv.tier],
                "managed": adv.managed,
                "signup_date": start - adv.tenure_days.astype("timedelta64[D]"),
                "tenure_days": adv.tenure_days + days,
                "notifications_opt_in": adv.notifications_opt_in,
                "has_product_catalog": adv.has_catalog,
            },
            "campaigns": {
                "campaign_id": cs.campaign_id,
                "advertiser_id": cs.advertiser_id,
                "created_date": start + cs.created_day.astype("timedelta64[D]"),
                "channel": np.array(CHANNELS, dtype=object)[cs.channel],
                "objective": np.array(OBJECTIVES, dtype=object)[cs.objective],
                "daily_budget": cs.budget,
                "bid_strategy": np.where(cs.auto, "automatic", "manual").astype(object),
                "targeting_breadth": np.round(cs.breadth, 3),
                "creative_count": cs.creative_count.astype(np.int64),
                "creative_age_days": cs.creative_age.astype(np.int64),
                "conversion_tracking": np.array(TRACKING_LEVELS, dtype=object)[cs.tracking],
                "status": np.where(cs.active, "active", "paused").astype(object),
            },
            **{t: self.rows(t) for t in ("daily_performance", "workflow_events",
                                             "impressions")},
        }

    def platform_tables(self, block: Block, spec: WorldSpec, day: int) -> dict[str, pd.DataFrame]:
        """The block's raw tables as the platform knows them at the start of `day`, as pandas
        frames the way pipelines.context.load reads them: answers and measured impacts that
        come on or after that midnight are not known yet."""
        raw = {k: schema.to_table(k, v) for k, v in self._raw(block, spec, day).items()}
        raw["catalog"] = product_catalog(block.products, block.adv)
        out = {k: t.to_pandas(date_as_object=False) for k, t in raw.items()}
        imp = out["impressions"]
        midnight = pd.Timestamp(spec.start, tz="UTC") + pd.Timedelta(days=day)
        later = ~(imp.responded_at < midnight)
        imp.loc[later, ["outcome", "dismiss_reason", "responded_at"]] = ["ignored", None, pd.NaT]
        unmeasured = ~(imp.outcome_measured_at < midnight)
        imp.loc[unmeasured, ["outcome_conversions_delta", "outcome_cost_delta",
                             "outcome_measured_at"]] = [np.nan, np.nan, pd.NaT]
        return out

    def output(self, block: Block, spec: WorldSpec) -> BlockOutput:
        """Every raw and truth table of the block at the end of the world."""
        adv, cs = block.adv, block.cs
        tables = self._raw(block, spec, spec.days)
        truth = {
            "advertiser_traits": {
                "advertiser_id": adv.advertiser_id,
                **{f"taste_{c}": adv.taste[:, i] for i, c in enumerate(CATEGORIES)},
                "trust": adv.trust, "responsiveness": adv.responsiveness,
                "value_per_conversion": adv.value_per_conversion,
                "cost_aversion": adv.cost_aversion, "final_patience": adv.patience,
                "churned": adv.churned,
            },
            "campaign_traits": {
                "campaign_id": cs.campaign_id, "demand_base": cs.demand_base,
                "spend_ref": cs.spend_ref, "ctr_quality": cs.ctr_q, "cvr_quality": cs.cvr_q,
                "demand_mult": cs.demand_mult, "ctr_mult": cs.ctr_mult, "cvr_mult": cs.cvr_mult,
            },
            "impression_oracle": self.rows("impression_oracle"),
        }
        out = BlockOutput(
            tables={k: schema.to_table(k, v) for k, v in tables.items()},
            truth={k: schema.to_table(k, v) for k, v in truth.items()},
            totals=dict(self.totals),
        )
        out.tables["catalog"] = product_catalog(block.products, adv)
        return out
