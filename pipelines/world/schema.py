"""The world's truth tables: its hidden state, which only the simulator writes and only
evaluation reads, as data. The raw tables it writes are the product's contract
(pipelines/domain/contract.py); `python -m pipelines.world.schema > docs/data.md` documents both.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.domain.contract import TABLES, Tables, build_table, markdown_sections, schema_of

_S, _I, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()

TRUTH: Tables = {
    "advertiser_traits": ("Hidden advertiser traits (truth: no model may read).", [
        ("advertiser_id", _I, "Account."),
        *[(f"taste_{c}", _F, f"Log-odds appetite for {c} guidance.") for c in (
            "budget", "bidding", "creative", "targeting", "keywords", "interests", "products",
            "tracking", "account_hygiene")],
        ("trust", _F, "Trust in platform guidance (log-odds)."),
        ("responsiveness", _F, "Probability of an Ads Manager visit on a weekday."),
        ("value_per_conversion", _F, "What a conversion is truly worth to them ($)."),
        ("cost_aversion", _F, "How much added spend deters them."),
        ("final_patience", _F, "Patience with guidance at the end (1 = fresh)."),
        ("churned", _B, "Stopped advertising."),
    ]),
    "campaign_traits": ("Hidden campaign traits.", [
        ("campaign_id", _I, "Campaign."),
        ("demand_base", _F, "Dollars a day it could spend at full breadth and normal demand."),
        ("spend_ref", _F, "Spend at which it pays the market's base price."),
        ("ctr_quality", _F, "Click-through multiplier of its ads."),
        ("cvr_quality", _F, "Conversion-rate multiplier of its site."),
        ("demand_mult", _F, "Demand multiplier from guidance adopted."),
        ("ctr_mult", _F, "CTR multiplier from guidance adopted."),
        ("cvr_mult", _F, "CVR multiplier from guidance adopted."),
    ]),
    "impression_oracle": ("The oracle's view of every logged impression.", [
        ("impression_id", _I, "Impression."),
        ("p_adopt", _F, "True probability of adoption at the position it was shown."),
        ("p_adopt_if_shown_first", _F, "True probability of adoption had it been shown first "
                                       "on the same surface (only examination depends on "
                                       "position)."),
        ("p_dismiss", _F, "True probability of dismissal."),
        ("p_snooze", _F, "True probability of a snooze."),
        ("expected_conversions_delta", _F, "Expected causal change in true conversions, 14 days."),
        ("expected_cost_delta", _F, "Expected change in spend ($), 14 days."),
        ("expected_profit_delta", _F, "Expected change in value − cost ($), 14 days."),
        ("realised_profit_delta", _F, "Realised profit change if adopted, else 0."),
    ]),
}


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of a raw or truth table, with each column's description as metadata."""
    return schema_of(name, TABLES if name in TABLES else TRUTH)


def to_table(name: str, columns: dict[str, np.ndarray] | None) -> pa.Table:
    """Build a raw or truth table of the documented schema from arrays (None: an empty table)."""
    return build_table(arrow_schema(name), name, columns)


def markdown() -> str:
    """docs/data.md: every table and column."""
    out = ["# Raw-data contract", "",
           "Generated from `pipelines/domain/contract.py` (raw tables) and "
           "`pipelines/world/schema.py` (truth tables) by `python -m pipelines.world.schema`; "
           "do not edit by hand. Raw tables live under `<root>/raw/<table>/` as Parquet: a "
           "platform provides them, and writes `<root>/raw/_PUBLISHED.json` last once all are "
           "in place (the jobs read only a published `raw/`; docs/cluster.md). Truth tables "
           "under `<root>/truth/<table>/` are the simulator's hidden state: no model reads "
           "them, and evaluation reads them as data where they exist (`guidance evaluate` "
           "skips the oracle comparisons without them).", ""]
    out += markdown_sections("Raw tables", TABLES)
    out += markdown_sections("Truth tables (hidden)", TRUTH)
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
