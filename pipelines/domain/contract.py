"""The raw-data contract: every table a platform provides, column by column.

The simulated world writes exactly these tables; a real warehouse export fills the same ones.
`guidance prepare` validates them (pipelines/storage/validate.py) and reads nothing else.
docs/data.md is generated from here and from the world's truth tables
(`python -m pipelines.world.schema > docs/data.md`); a test fails when it is stale.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

Tables = dict[str, tuple[str, list[tuple[str, pa.DataType, str]]]]

_S, _I, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
_D, _T = pa.date32(), pa.timestamp("ms", tz="UTC")

TABLES: Tables = {
    "advertisers": ("One row per advertiser account.", [
        ("advertiser_id", _I, "Account id, unique."),
        ("vertical", _S, "Industry, one of 12 (apparel, legal, travel, ...)."),
        ("country", _S, "ISO country code of the account."),
        ("size_tier", _S, "smb, mid_market or enterprise."),
        ("managed", _B, "True when a sales rep looks after the account."),
        ("signup_date", _D, "Day the account was opened."),
        ("tenure_days", _I, "Days between sign-up and the end of the world's history."),
        ("notifications_opt_in", _B, "Accepts guidance by e-mail / notification."),
        ("has_product_catalog", _B, "Has uploaded a product catalog (can get product guidance)."),
    ]),
    "campaigns": ("One row per campaign, its settings as of the end of the history "
                  "(daily_performance carries the day-by-day values).", [
        ("campaign_id", _I, "Campaign id, unique; advertiser_id * 100 + k."),
        ("advertiser_id", _I, "Owning account."),
        ("created_date", _D, "Day the campaign was created."),
        ("channel", _S, "search, social or display."),
        ("objective", _S, "sales, leads, traffic or awareness."),
        ("daily_budget", _F, "Daily budget in dollars."),
        ("bid_strategy", _S, "manual or automatic."),
        ("targeting_breadth", _F, "Audience breadth from 0 (narrow) to 1 (broadest)."),
        ("creative_count", _I, "Creatives in rotation."),
        ("creative_age_days", _I, "Days since the creatives were last refreshed."),
        ("conversion_tracking", _S, "none, pixel or pixel_and_server."),
        ("status", _S, "active or paused."),
    ]),
    "daily_performance": ("One row per live campaign and day.", [
        ("date", _D, "Day of delivery."),
        ("campaign_id", _I, "Campaign."),
        ("advertiser_id", _I, "Owning account."),
        ("spend", _F, "Dollars spent that day."),
        ("impressions", _I, "Ads shown."),
        ("clicks", _I, "Clicks."),
        ("conversions", _F, "Conversions reported by tracking; null without tracking."),
        ("conversion_value", _F, "Dollar value of the reported conversions; null without "
                                 "tracking."),
        ("daily_budget", _F, "The day's budget in dollars."),
        ("budget_limited", _B, "The budget ran out before the end of the day."),
        ("budget_exhausted_hour", _F, "Hour of the day (0-24) at which it ran out; null if it "
                                      "did not."),
        ("bid_strategy", _S, "manual or automatic, that day."),
        ("conversion_tracking", _S, "none, pixel or pixel_and_server, that day."),
        ("targeting_breadth", _F, "Audience breadth (0-1), that day."),
        ("creative_count", _I, "Creatives in rotation, that day."),
        ("creative_age_days", _I, "Days since the creatives were refreshed, that day."),
        ("creative_fatigue", _F, "Share of click-through lost to creative fatigue (0-1)."),
        ("disapproved_share", _F, "Share of the campaign's ads disapproved (0-1)."),
    ]),
    "market": ("One row per vertical × country × day.", [
        ("date", _D, "Day."),
        ("vertical", _S, "Industry."),
        ("country", _S, "Country."),
        ("demand_index", _F, "Conversion demand against a normal day (seasonality, holidays)."),
        ("cpm_index", _F, "Social/display price per 1,000 impressions against a normal US day."),
        ("cpc_index", _F, "Search price per click against a normal US day."),
        ("competition_index", _F, "Auction pressure (bidders per auction) against normal."),
        ("trending_keyword_ids", pa.list_(_I), "The vertical's 5 fastest-growing keywords "
                                               "(catalog entity_id)."),
        ("trending_interest_ids", pa.list_(_I), "The vertical's 5 fastest-growing interests."),
    ]),
    "workflow_events": ("Ads Manager activity: sessions, pages, edits, errors.", [
        ("event_id", _I, "Event id, unique; session_id * 1000 + sequence."),
        ("session_id", _I, "Ads Manager session."),
        ("advertiser_id", _I, "Account."),
        ("campaign_id", _I, "Campaign an edit touched; -1 when none."),
        ("event_time", _T, "When it happened (UTC)."),
        ("event_type", _S, "session_start, page_view, edit or error."),
        ("detail", _S, "Page name, edit kind (creative_upload, budget_change, campaign_resumed) "
                       "or error kind (payment_failed, ad_disapproved, feed_error)."),
    ]),
    "catalog": ("Every guidance item: an action type with its parameter.", [
        ("item_id", _I, "Item id, unique; generic < 1,000,000, keywords 1,000,000+, interests "
                        "2,000,000+, products 10,000,000+."),
        ("action_type", _S, "One of 32 action types."),
        ("category", _S, "budget, bidding, creative, targeting, keywords, interests, products, "
                         "tracking or account_hygiene."),
        ("param_pct", _F, "Percent change for budget and bid actions; null otherwise."),
        ("entity_kind", _S, "keyword, interest or product; null for generic items."),
        ("entity_id", _I, "Keyword, interest or product id; null for generic items."),
        ("entity_name", _S, "The keyword, interest or product name."),
        ("entity_vertical", _S, "Vertical the entity belongs to."),
        ("advertiser_id", _I, "Owner of a product item; null for items open to everyone."),
        ("title", _S, "Short imperative title shown to the advertiser."),
        ("description", _S, "One or two sentences on why."),
    ]),
    "impressions": ("Guidance shown by the logging policy, one row per item shown, and what "
                    "followed.", [
        ("impression_id", _I, "Unique; slate_id * 10 + position."),
        ("slate_id", _I, "The slate (one per surface visit)."),
        ("advertiser_id", _I, "Account shown the slate."),
        ("campaign_id", _I, "Campaign the item targets."),
        ("item_id", _I, "Catalog item."),
        ("action_type", _S, "The item's action type (denormalised)."),
        ("surface", _S, "ads_manager, business_assistant, notification or sales_workflow."),
        ("position", _I, "1-based rank in the slate."),
        ("shown_at", _T, "When it was shown (UTC)."),
        ("policy", _S, "Name of the policy that chose the slate."),
        ("policy_score", _F, "The policy's score for the item (before exploration)."),
        ("propensity", _F, "Exact probability that the policy put this item at this position, "
                           "given the items above it (a Plackett–Luce step)."),
        ("slate_propensity", _F, "Exact probability of the slate's ordered prefix up to and "
                                 "including this position."),
        ("outcome", _S, "adopted, dismissed, snoozed or ignored."),
        ("dismiss_reason", _S, "not_relevant, already_done, too_expensive, "
                               "disagree_with_estimate or other; null unless dismissed."),
        ("responded_at", _T, "When the advertiser adopted, dismissed or snoozed; null if "
                             "ignored."),
        ("outcome_conversions_delta", _F, "Measured change in conversions over the 14 days after "
                                          "the adoption took effect; null if not adopted or not "
                                          "yet measured."),
        ("outcome_cost_delta", _F, "Measured change in spend ($) over the same 14 days."),
        ("outcome_measured_at", _T, "When the measurement closed; null if none."),
    ]),
}


def schema_of(name: str, tables: Tables) -> pa.Schema:
    """The Arrow schema of table `name` of `tables`, with each column's description as
    metadata."""
    _, cols = tables[name]
    return pa.schema([pa.field(c, t, metadata={"doc": d}) for c, t, d in cols])


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of a raw table, with each column's description as metadata."""
    return schema_of(name, TABLES)


def build_table(schema: pa.Schema, name: str, columns: dict[str, np.ndarray] | None) -> pa.Table:
    """A table of `schema` from arrays (None: an empty table); KeyError naming the columns when
    they do not match."""
    if columns is None:
        return schema.empty_table()
    missing = set(schema.names) ^ set(columns)
    if missing:
        raise KeyError(f"table {name!r}: columns do not match the schema: {sorted(missing)}")
    # from_pandas: NaN and NaT become nulls
    arrays = [pa.array(columns[f.name], type=f.type, from_pandas=True) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def to_table(name: str, columns: dict[str, np.ndarray] | None) -> pa.Table:
    """Build a raw table of the documented schema from arrays (None: an empty table)."""
    return build_table(arrow_schema(name), name, columns)


def markdown_sections(title: str, tables: Tables) -> list[str]:
    """Markdown lines documenting `tables`: one heading and one column table each."""
    out = [f"## {title}", ""]
    for name, (doc, cols) in tables.items():
        out += [f"### `{name}`", "", doc, "", "| column | type | meaning |", "| --- | --- | --- |"]
        out += [f"| `{c}` | {t} | {d} |" for c, t, d in cols]
        out.append("")
    return out
