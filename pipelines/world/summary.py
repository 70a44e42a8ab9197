"""`guidance world summary`: the world's marginals beside the public ranges it aims for.

Targets are our reading of ../shared/WORLD-FACTS.md (docs/world.md says why each range).
Computed with DuckDB over the Parquet datasets, so it scales to the large world.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb
import pyarrow.dataset as pads

from pipelines.storage.root import Root
from pipelines.world.job import read_manifest
from pipelines.world.market import black_friday
from pipelines.world.shocks import describe


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    low: float
    high: float
    unit: str
    source: str

    @property
    def ok(self) -> bool:
        return self.value is not None and self.low <= self.value <= self.high

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _connect(root: Root) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("advertisers", "campaigns", "daily_performance", "market", "impressions"):
        ds = pads.dataset(root.join("raw", name), filesystem=root.fs, format="parquet")
        con.register(name, ds)
    return con


def _one(con, sql: str) -> float | None:
    rows = con.execute(sql).fetchall()
    return None if not rows or rows[0][0] is None else float(rows[0][0])


def summarize(root: Root) -> dict:
    """Manifest, row counts and every marginal metric of the world under `root`."""
    manifest = read_manifest(root)
    con = _connect(root)
    m: list[Metric] = []

    def add(name, sql, low, high, unit, source):
        m.append(Metric(name, _one(con, sql), low, high, unit, source))

    perf_us = ("FROM daily_performance p JOIN campaigns c USING (campaign_id) "
               "JOIN advertisers a ON a.advertiser_id = p.advertiser_id "
               "WHERE a.country = 'US' AND c.channel = '{ch}'")
    for ch, ctr, cpc, cvr in (("search", (0.03, 0.07), (1.7, 9.0), (0.03, 0.12)),
                              ("social", (0.009, 0.025), (0.8, 2.0), (0.04, 0.14)),
                              ("display", (0.003, 0.008), (0.4, 0.9), (0.002, 0.01))):
        base = perf_us.format(ch=ch)
        add(f"{ch}_ctr_us", f"SELECT sum(clicks)/sum(impressions) {base}", *ctr, "share",
            "LocaliQ/WordStream; Meta; GDN benchmarks")
        add(f"{ch}_cpc_us", f"SELECT sum(spend)/sum(clicks) {base}", *cpc, "$", "same")
        add(f"{ch}_cvr_us", f"SELECT sum(conversions)/sum(clicks) FILTER (conversions IS NOT NULL) "
            f"{base}", *cvr, "share", "same")
    add("social_cpm_us", "SELECT 1000*sum(spend)/sum(impressions) " + perf_us.format(ch="social"),
        7.0, 14.0, "$", "Gupta Media: Meta CPM ≈ $7.93")
    add("budget_limited_share_smb",
        "SELECT avg(budget_limited::INT) FROM daily_performance p JOIN advertisers a "
        "USING (advertiser_id) WHERE a.size_tier = 'smb' AND p.spend > 0", 0.20, 0.40, "share",
        "our choice (no public figure)")
    add("smb_share_of_accounts", "SELECT avg((size_tier = 'smb')::INT) FROM advertisers",
        0.85, 0.97, "share", "Meta: SMBs dominate advertiser counts")
    add("top1pct_spend_share",
        "WITH s AS (SELECT advertiser_id, sum(spend) AS v FROM daily_performance GROUP BY 1), "
        "r AS (SELECT v, row_number() OVER (ORDER BY v DESC) AS k, count(*) OVER () AS n FROM s) "
        "SELECT sum(v) FILTER (WHERE k <= greatest(1, n/100)) / sum(v) FROM r",
        0.20, 0.40, "share", "Pathmatics/WSJ revenue concentration")
    add("conversion_tracking_share",
        "SELECT avg((conversion_tracking <> 'none')::INT) FROM campaigns", 0.50, 0.70, "share",
        "WordStream grader (<50 %, old); our reading 50-70 %")
    add("automatic_bidding_share_active",
        "SELECT avg((bid_strategy = 'automatic')::INT) FROM campaigns WHERE status = 'active'",
        0.60, 0.85, "share", "Google: >80 % of advertisers use automated bidding")
    add("idle_accounts_last_30d",
        "WITH last AS (SELECT max(date) AS d FROM daily_performance), "
        "act AS (SELECT DISTINCT advertiser_id FROM daily_performance, last "
        "WHERE date > d - 30 AND spend > 0) "
        "SELECT 1 - (SELECT count(*) FROM act) / (SELECT count(*) FROM advertisers)",
        0.10, 0.25, "share", "WordStream: 17-20 % inactive in a month")
    add("creative_fatigue_ctr_ratio_3w",
        "WITH x AS (SELECT p.creative_age_days AS age, p.clicks, p.impressions "
        + perf_us.format(ch="social").replace("WHERE", "WHERE p.creative_age_days <= 28 AND")
        + ") SELECT (sum(clicks) FILTER (WHERE age BETWEEN 21 AND 28) / "
        "sum(impressions) FILTER (WHERE age BETWEEN 21 AND 28)) / "
        "(sum(clicks) FILTER (WHERE age <= 7) / sum(impressions) FILTER (WHERE age <= 7)) FROM x",
        0.60, 0.80, "ratio", "20-40 % CTR drop over 2-4 weeks")
    start = manifest["start_date"]
    for year in range(int(start[:4]), int(start[:4]) + 2):
        bf = black_friday(year).isoformat()
        has_bf = _one(con, f"SELECT count(*) FROM market WHERE date = DATE '{bf}'")
        if has_bf:
            add("cpm_black_friday_vs_october",
                f"SELECT (SELECT avg(cpm_index) FROM market WHERE country='US' AND date = DATE '{bf}')"
                f" / (SELECT avg(cpm_index) FROM market WHERE country='US' AND month(date) = 10)",
                1.5, 2.0, "ratio", "Smartly.io/Salesforce: +50-80 % at Black Friday")
            add("cpm_december_vs_october",
                "SELECT (SELECT avg(cpm_index) FROM market WHERE country='US' AND month(date)=12 "
                "AND day(date) <= 20) / (SELECT avg(cpm_index) FROM market WHERE country='US' "
                "AND month(date) = 10)", 1.2, 1.45, "ratio", "Gupta Media / Skai")
            break
    add("guidance_adoption_rate", "SELECT avg((outcome='adopted')::INT) FROM impressions",
        0.05, 0.20, "share", "our choice: 5-20 % per recommendation")
    add("guidance_dismissal_rate", "SELECT avg((outcome='dismissed')::INT) FROM impressions",
        0.03, 0.15, "share", "our choice (no public figure)")
    add("notification_adoption_rate",
        "SELECT avg((outcome='adopted')::INT) FROM impressions WHERE surface='notification'",
        0.02, 0.04, "share", "Mailchimp: e-mail click rate 2.9 %")
    add("position_decay_rank1_over_rank2",
        "SELECT avg((outcome='adopted')::INT) FILTER (WHERE position=1) / "
        "avg((outcome='adopted')::INT) FILTER (WHERE position=2) FROM impressions "
        "WHERE surface='ads_manager'", 1.4, 2.2, "ratio", "Sistrix: rank 1 ≈ 1.8 × rank 2")
    add("logging_propensity_min", "SELECT min(propensity) FROM impressions", 1e-6, 1.0,
        "probability", "every shown item has a positive logged probability")
    by_surface = con.execute(
        "SELECT surface, count(*), avg((outcome='adopted')::INT), avg((outcome='dismissed')::INT),"
        " avg((outcome='snoozed')::INT) FROM impressions GROUP BY 1 ORDER BY 1").fetchall()
    return {
        "manifest": manifest,
        "metrics": [x.as_dict() for x in m],
        "guidance_by_surface": [
            {"surface": s, "shown": int(n), "adopted": a, "dismissed": d, "snoozed": z}
            for s, n, a, d, z in by_surface],
    }


def render(summary: dict) -> str:
    """The summary as a short table for people."""
    man = summary["manifest"]
    lines = [f"world seed={man['seed']} scale={man['scale']} advertisers={man['advertisers']:,} "
             f"days={man['days']} from {man['start_date']}",
             *(f"shock: {describe(s)}" for s in man.get("shocks", [])), "",
             f"{'table':<20}{'rows':>12}"]
    lines += [f"{k:<20}{v:>12,}" for k, v in man["rows"].items()]
    lines += ["", f"{'metric':<34}{'ours':>10}  {'target':<17}{'':>4}  source"]
    for x in summary["metrics"]:
        v = "—" if x["value"] is None else f"{x['value']:.4g}"
        lines.append(f"{x['name']:<34}{v:>10}  {x['low']:.3g} – {x['high']:.3g}".ljust(63)
                     + f"{'ok' if x['ok'] else 'OFF':>4}  {x['source']}")
    lines += ["", f"{'surface':<20}{'shown':>8}{'adopted':>9}{'dismissed':>10}{'snoozed':>9}"]
    for s in summary["guidance_by_surface"]:
        lines.append(f"{s['surface']:<20}{s['shown']:>8,}{s['adopted']:>9.3f}"
                     f"{s['dismissed']:>10.3f}{s['snoozed']:>9.3f}")
    return "\n".join(lines)
