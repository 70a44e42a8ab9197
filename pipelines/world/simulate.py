"""The world loop: advance a block of advertisers day by day under a guidance policy.

History generation is this loop run with the logging policy; experiments run it with others.
Each day: adoptions due today take effect, advertisers act on their own and accounts run into
trouble, advertisers visit surfaces, the policy fills a slate per visit, advertisers respond
(by the oracle), and then every live campaign delivers the day's ads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyarrow as pa

from pipelines.policy import eligibility, plackett_luce
from pipelines.policy.eligibility import CandidateSet
from pipelines.world import candidates as cand_mod
from pipelines.world import oracle, performance, population, schema
from pipelines.world import random as wr
from pipelines.world.catalog import product_catalog
from pipelines.world.effects import AccountFlags, apply_actions
from pipelines.world.entities import TrendEntities, interests, keywords
from pipelines.world.market import Market, build_market
from pipelines.world.platform_log import PlatformLog, epoch_ms
from pipelines.world.policies import Policy, PolicyView
from pipelines.world.state import AdvertiserState, CampaignState, put
from pipelines.world.taxonomy import (
    ACTION_CATEGORY, ACTION_EFFORT, ACTION_INDEX, ACTION_TYPES, CATEGORIES, CHANNELS, COUNTRIES,
    DISMISS_REASONS, OBJECTIVES, OUTCOMES, SURFACES, TIERS, VERTICALS,
)

WARMUP_DAYS = 30  # days run before the world's start so rolling windows are full on day 0
NAG_WINDOW = 21
PATIENCE_LOSS = 0.08  # per dismissal
PATIENCE_NAG_LOSS = 0.03  # per showing of an item already shown twice in the nag window
PATIENCE_RECOVERY = 0.01  # per day
PAGES = ("overview", "campaigns", "ads", "audiences", "keywords", "billing", "reports",
         "recommendations")
PAGE_PROBS = np.array([0.25, 0.22, 0.14, 0.08, 0.08, 0.05, 0.10, 0.08])
TRACKING_NAMES = ("none", "pixel", "pixel_and_server")


_ACTION_NAMES = np.array([a.name for a in ACTION_TYPES])
_CATEGORY_NAMES = np.array(CATEGORIES)


@dataclass(frozen=True)
class WorldSpec:
    """The read-only part of a world every shard rebuilds from the seed."""

    seed: int
    start: dt.date
    days: int
    keywords: TrendEntities
    interests: TrendEntities
    market: Market


def world_spec(seed: int, start: dt.date, days: int) -> WorldSpec:
    kw, it = keywords(seed), interests(seed)
    return WorldSpec(seed, start, days, kw, it, build_market(seed, start, days, kw, it))


@dataclass
class BlockOutput:
    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    totals: dict[str, float] = field(default_factory=dict)


class _Recorder:
    """Collects a table's columns day by day."""

    def __init__(self):
        self.cols: dict[str, list] = defaultdict(list)

    def add(self, **cols):
        for k, v in cols.items():
            self.cols[k].append(np.asarray(v))

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}


class BlockSimulation:
    """One block of advertisers living through the world's days under `policy`."""

    def __init__(self, spec: WorldSpec, advertiser_ids: np.ndarray, policy: Policy):
        self.spec, self.policy, self.seed = spec, policy, spec.seed
        self.adv: AdvertiserState = population.advertisers(spec.seed, advertiser_ids)
        self.cs: CampaignState = population.campaigns(spec.seed, self.adv)
        self.products = population.products(spec.seed, self.adv)
        self.camp_start = np.searchsorted(self.cs.adv, np.arange(len(self.adv)))
        self.camp_count = np.bincount(self.cs.adv, minlength=len(self.adv))
        self.prod_start = np.searchsorted(self.products.adv, np.arange(len(self.adv)))
        self.prod_count = np.bincount(self.products.adv, minlength=len(self.adv))
        n = len(self.cs)
        self.conv_ring = np.zeros((n, 30))
        self.limited_ring = np.zeros((n, 7))
        self.spend_ring = np.zeros((n, 7))
        self.value_ring = np.zeros((n, 7))
        self.conv_ring_rep = np.zeros((n, 7))
        self.pending: list[dict[str, np.ndarray]] = []
        self.platform_log = PlatformLog(policy.config)
        self.shows: dict[int, list[int]] = defaultdict(list)
        self.perf, self.events, self.imps, self.imp_truth = (_Recorder() for _ in range(4))
        self.totals = defaultdict(float)

    # ------------------------------------------------------------------ helpers
    def acct(self) -> AccountFlags:
        a = self.cs.adv
        return AccountFlags(self.adv.payment_issue[a].copy(),
                            self.adv.feed_errors[a] & self.adv.has_catalog[a])

    def _u(self, name: str, *keys) -> np.ndarray:
        return wr.uniform(self.seed, name, *keys)

    def _timestamp(self, day: int, hours: np.ndarray) -> np.ndarray:
        base = np.datetime64(self.spec.start, "s") + np.timedelta64(day, "D")
        return base + (np.asarray(hours) * 3600).astype("timedelta64[s]")

    # ------------------------------------------------------------------ the day
    def run(self, progress: Callable[[int], None] | None = None) -> BlockOutput:
        for day in range(-WARMUP_DAYS, 0):
            self._deliver(day, record=False)
        for day in range(self.spec.days):
            self._apply_due(day)
            visits = self._visits(day)
            self._account_events(day, visits)
            self._guidance(day, visits)
            self._deliver(day, record=True)
            self.adv.patience = np.minimum(1.0, self.adv.patience + PATIENCE_RECOVERY)
            if progress:
                progress(1)
        return self._output()

    def _apply_due(self, day: int) -> None:
        if not self.pending:
            return
        p = {k: np.concatenate([b[k] for b in self.pending]) for k in self.pending[0]}
        due = p["day"] == day
        self.pending = [{k: v[~due] for k, v in p.items()}] if (~due).any() else []
        p = {k: v[due] for k, v in p.items()}
        while len(p["crow"]):  # in rounds: two adoptions may touch the same campaign
            _, first = np.unique(p["crow"], return_index=True)
            rows = p["crow"][first]
            new, new_acct = apply_actions(self.cs.take(rows), self.acct().take(rows),
                                          p["action"][first], p["param"][first],
                                          p["match"][first], p["strength"][first])
            put(self.cs, rows, new)
            a = self.cs.adv[rows]
            self.adv.payment_issue[a] &= new_acct.payment_issue
            self.adv.feed_errors[a] &= new_acct.feed_errors | ~self.adv.has_catalog[a]
            rest = np.ones(len(p["crow"]), bool)
            rest[first] = False
            p = {k: v[rest] for k, v in p.items()}

    def _visits(self, day: int) -> dict[str, np.ndarray]:
        """Block-local advertiser rows with a session on each surface today."""
        ids, adv = self.adv.advertiser_id, self.adv
        weekday = self.spec.market.date(day).weekday() < 5
        alive = ~adv.churned
        manager = alive & (self._u("visit.manager", ids, day) < adv.responsiveness * (1.0 if weekday else 0.4))
        assistant = manager & (self._u("visit.assistant", ids, day) < 0.3)
        notify = alive & adv.notifications_opt_in & ((ids + day) % 7 == 0) & (
            self._u("visit.notify", ids, day) < 0.9)
        sales = alive & adv.managed & weekday & (self._u("visit.sales", ids, day) < 0.12)
        return {"ads_manager": manager, "business_assistant": assistant,
                "notification": notify, "sales_workflow": sales}

    def _account_events(self, day: int, visits: dict[str, np.ndarray]) -> None:
        """Trouble that befalls accounts, what advertisers change on their own, and the
        workflow events of their Ads Manager sessions."""
        adv, cs, ids = self.adv, self.cs, self.adv.advertiser_id
        alive = ~adv.churned
        new_payment = alive & ~adv.payment_issue & (self._u("acct.payment", ids, day) < 0.002)
        adv.payment_issue = (adv.payment_issue & (self._u("acct.payment_fix", ids, day) >= 0.08)) | new_payment
        new_feed = adv.has_catalog & ~adv.feed_errors & (self._u("acct.feed", ids, day) < 0.004)
        adv.feed_errors = (adv.feed_errors & (self._u("acct.feed_fix", ids, day) >= 0.03)) | new_feed
        cid = cs.campaign_id
        disapprove = cs.active & (cs.disapproved == 0) & (self._u("cmp.disapprove", cid, day) < 0.004)
        cs.disapproved = np.where(self._u("cmp.disapprove_fix", cid, day) < 0.04, 0.0, cs.disapproved)
        cs.disapproved = np.where(disapprove, 0.2 + 0.4 * self._u("cmp.disapprove_share", cid, day),
                                  cs.disapproved)
        churn = alive & (self._u("acct.churn", ids, day) < 0.0015 * (2.0 - adv.patience))
        adv.churned |= churn
        cs.active &= ~adv.churned[cs.adv]
        # Edits advertisers make on their own during a visit.
        visiting = visits["ads_manager"][cs.adv]
        refresh = visiting & cs.active & (cs.creative_age > 21) & (
            self._u("cmp.self_refresh", cid, day) < 0.05 + 0.3 * adv.responsiveness[cs.adv])
        cs.creative_age[refresh] = 0
        cs.last_change_day[refresh, ACTION_INDEX["creative_refresh"]] = day
        rebudget = visiting & cs.active & (self._u("cmp.self_budget", cid, day) < 0.04)
        factor = np.exp(0.2 * wr.normal(self.seed, "cmp.self_budget_size", cid, day))
        cs.budget = np.where(rebudget, np.maximum(5.0, np.round(cs.budget * factor)), cs.budget)
        cs.last_change_day[rebudget & (factor > 1), ACTION_INDEX["budget_raise"]] = day
        resume = visiting & ~cs.active & ~adv.churned[cs.adv] & (self._u("cmp.self_resume", cid, day) < 0.03)
        cs.active |= resume
        self._workflow(day, visits["ads_manager"], refresh, rebudget, resume)

    def _workflow(self, day, visiting, refresh, rebudget, resume) -> None:
        rows = np.flatnonzero(visiting)
        if len(rows) == 0:
            return
        ids = self.adv.advertiser_id[rows]
        session = ids * 100_000 + day * 10
        hour = 8 + 12 * self._u("visit.hour", ids, day)
        n_pages = 1 + wr.poisson(self._u("visit.pages", ids, day), 3.0)
        # per session: start, pages, errors met, edits made
        cs = self.cs
        disapproved_any = np.bincount(cs.adv, weights=cs.disapproved > 0,
                                      minlength=len(self.adv)) > 0
        errors = [("payment_failed", self.adv.payment_issue[rows]),
                  ("ad_disapproved", disapproved_any[rows]),
                  ("feed_error", (self.adv.feed_errors & self.adv.has_catalog)[rows])]
        edits = [("creative_upload", refresh), ("budget_change", rebudget),
                 ("campaign_resumed", resume)]
        ev_s, ev_type, ev_detail, ev_campaign, ev_seq = [], [], [], [], []
        seq = np.zeros(len(rows), dtype=np.int64)

        def emit(idx, etype, detail, campaign=-1):
            """Events for sessions `idx` (repeats allowed), numbered in order within a session."""
            idx = np.asarray(idx, dtype=np.int64)
            order = np.argsort(idx, kind="stable")
            first = np.searchsorted(idx[order], idx[order])
            occ = np.empty(len(idx), dtype=np.int64)
            occ[order] = np.arange(len(idx)) - first
            ev_s.append(idx)
            ev_seq.append(seq[idx] + occ)
            np.add.at(seq, idx, 1)
            ev_type.append(np.full(len(idx), etype, dtype=object))
            ev_detail.append(np.broadcast_to(np.asarray(detail, dtype=object), len(idx)))
            ev_campaign.append(np.broadcast_to(np.asarray(campaign, dtype=np.int64), len(idx)))

        all_rows = np.arange(len(rows))
        emit(all_rows, "session_start", "")
        for p in range(int(n_pages.max())):
            page = wr.choice(self._u("visit.page", ids, day, p), np.tile(PAGE_PROBS, (len(rows), 1)))
            on = n_pages > p
            emit(all_rows[on], "page_view", np.array(PAGES, dtype=object)[page][on])
        for name, mask in errors:
            emit(all_rows[mask], "error", name)
        local = np.full(len(self.adv), -1)
        local[rows] = all_rows
        for name, mask in edits:
            crows = np.flatnonzero(mask)
            emit(local[cs.adv[crows]], "edit", name, cs.campaign_id[crows])
        s = np.concatenate(ev_s)
        seqs = np.concatenate(ev_seq)
        self.events.add(
            event_id=(session[s] * 1000 + seqs).astype(np.int64),
            session_id=session[s].astype(np.int64),
            advertiser_id=ids[s],
            campaign_id=np.concatenate(ev_campaign).astype(np.int64),
            event_time=self._timestamp(day, hour[s] + seqs * 45 / 3600),
            event_type=np.concatenate(ev_type),
            detail=np.concatenate(ev_detail),
        )

    # ------------------------------------------------------------------ guidance
    def _truth(self, c: cand_mod.Candidates, day: int, surface: np.ndarray,
               position: np.ndarray) -> dict[str, np.ndarray]:
        """The oracle's view of candidate rows shown on `surface` at `position`."""
        cs = self.cs.take(c.crow)
        a = cs.adv
        eff = oracle.expected_effect(cs, self.acct().take(c.crow), c.action, c.param,
                                     c.entity_match, c.entity_strength,
                                     self.adv.value_per_conversion[a], self.spec.market, day)
        rel = oracle.relative_profit(eff)
        cost_share = oracle.chosen_cost_share(eff, c.action)
        nag = self._nag(cs.campaign_id, c.item_id, day)
        probs = oracle.response_probabilities(
            surface, position, self.adv.taste[a, ACTION_CATEGORY[c.action]], self.adv.trust[a],
            self.adv.patience[a], self.adv.cost_aversion[a], ACTION_EFFORT[c.action], rel,
            cost_share, nag)
        return {**eff, "rel_profit": rel, "cost_share": cost_share, "nag": nag,
                "p_adopt": probs[:, 0], "p_dismiss": probs[:, 1], "p_snooze": probs[:, 2],
                "probs": probs}

    def _nag(self, campaign_id, item_id, day) -> np.ndarray:
        keys = cand_mod.item_keys(campaign_id, item_id).tolist()
        return np.array([sum(1 for d in self.shows.get(k, ()) if d >= day - NAG_WINDOW)
                         for k in keys], dtype=float)

    def _guidance(self, day: int, visits: dict[str, np.ndarray]) -> None:
        s_adv, s_surface = [], []
        for i, name in enumerate(SURFACES):
            rows = np.flatnonzero(visits[name])
            s_adv.append(rows)
            s_surface.append(np.full(len(rows), i))
        s_adv, s_surface = np.concatenate(s_adv), np.concatenate(s_surface)
        order = np.lexsort((s_surface, s_adv))
        s_adv, s_surface = s_adv[order], s_surface[order]
        if len(s_adv) == 0:
            return
        c = cand_mod.build(self.seed, day, s_adv, self.cs, self.acct(), self.adv, self.products,
                           self.prod_start, self.prod_count, self.camp_start, self.camp_count,
                           self.spec.keywords, self.spec.interests, self.spec.market)
        c = c.select(self._eligible(c, s_surface[c.session], day))
        if len(c) == 0:
            return
        surface = s_surface[c.session]
        view = PolicyView(c, self.cs.take(c.crow), surface, day,
                          truth=lambda: self._truth(c, day, surface, np.ones(len(c))))
        scores = self.policy.scores(view)
        ids = self.adv.advertiser_id[s_adv]
        u = self._u("slate.explore", ids[c.session], s_surface[c.session], c.item_id,
                    self.cs.campaign_id[c.crow], day)
        slates = self._slates(scores, c, s_surface, u)
        shown = c.select(slates.index)
        self._respond(day, shown, slates, s_adv, s_surface, scores[slates.index])

    def _eligible(self, c: cand_mod.Candidates, surface: np.ndarray, day: int) -> np.ndarray:
        """The policy config's business rules (cool-downs, snoozes, re-show window) against
        the platform's log as of the start of `day`."""
        now_ms = int(epoch_ms(self._timestamp(day, 0)))
        history = self.platform_log.history(now_ms)
        ok = np.zeros(len(c), bool)
        for i, name in enumerate(SURFACES):
            m = surface == i
            if m.any():
                rows = c.crow[m]
                cands = CandidateSet(
                    self.cs.campaign_id[rows], c.item_id[m], _ACTION_NAMES[c.action[m]],
                    _CATEGORY_NAMES[ACTION_CATEGORY[c.action[m]]], self.cs.active[rows],
                    # rules.applicable already drops one-shot actions once done
                    np.zeros(len(rows), bool))
                ok[m] = eligibility.eligible(cands, history, name, now_ms,
                                             self.policy.config)[0]
        return ok

    def _slates(self, scores: np.ndarray, c: cand_mod.Candidates, s_surface: np.ndarray,
                u: np.ndarray) -> plackett_luce.Slates:
        """Every session's slate, drawn per surface at that surface's size, diversity cap and
        temperature. Each account has at most one session per surface a day, so the daily cap
        leaves the whole default slate (the config keeps default_items <= daily_cap). An
        account's sessions of a day come in SURFACES order, minutes apart, so with a re-show
        window an item shown on one surface is not eligible on the next."""
        cfg = self.policy.config
        k = np.array([cfg.surface(s).default_items for s in SURFACES])[s_surface]
        category = ACTION_CATEGORY[c.action]
        keys = cand_mod.item_keys(self.cs.campaign_id[c.crow], c.item_id)
        shown_today = np.zeros(0, np.int64)
        parts = []
        for i, name in enumerate(SURFACES):
            m = np.flatnonzero(s_surface[c.session] == i)
            if cfg.reshow_after_days > 0:
                m = m[~np.isin(keys[m], shown_today)]
            if len(m) == 0:
                continue
            surf = cfg.surface(name)
            s = plackett_luce.sample(scores[m], c.session[m], k, surf.temperature, u[m],
                                     category[m], surf.max_per_category)
            parts.append(plackett_luce.Slates(m[s.index], s.group, s.position, s.propensity,
                                              s.slate_propensity))
            shown_today = np.r_[shown_today, keys[m[s.index]]]
        if not parts:
            return plackett_luce.sample(scores[:0], c.session[:0], k, 0.0, None)
        cols = [np.concatenate(x) for x in zip(*((p.index, p.group, p.position, p.propensity,
                                                  p.slate_propensity) for p in parts))]
        order = np.lexsort((cols[2], cols[1]))
        return plackett_luce.Slates(*(col[order] for col in cols))

    def _respond(self, day, shown, slates, s_adv, s_surface, scores) -> None:
        sess = slates.group
        surface = s_surface[sess]
        truth = self._truth(shown, day, surface, slates.position)
        adv_row = s_adv[sess]
        ids = self.adv.advertiser_id[adv_row]
        slate_id = ids * 100_000 + day * 10 + surface
        key = (ids, day, surface, slates.position)
        outcome = wr.choice(self._u("resp.outcome", *key), truth["probs"])
        campaign_id = self.cs.campaign_id[shown.crow]
        recently_done = self.cs.last_change_day[shown.crow, shown.action] >= day - 7
        w = oracle.dismiss_reason_weights(truth["rel_profit"], truth["cost_share"],
                                          self.adv.cost_aversion[adv_row], recently_done)
        reason = wr.choice(self._u("resp.reason", *key), w / w.sum(axis=1, keepdims=True))
        hour = 8 + 12 * self._u("visit.hour", ids, day) + 0.1 * surface
        shown_at = self._timestamp(day, hour + slates.position / 3600)
        ud = self._u("resp.delay", *key)
        delay_days = np.where(ud < 0.6, 0, 1 + np.floor((ud - 0.6) / 0.4 * 6)).astype(int)
        respond_hours = np.where(outcome == 0, delay_days * 24 + 0.5 + 3 * self._u("resp.lag", *key),
                                 0.02 + 0.2 * self._u("resp.lag", *key))
        responded_at = np.where(outcome == 3, np.datetime64("NaT"),
                                shown_at + (respond_hours * 3600).astype("timedelta64[s]"))
        # realised effect of adoptions, measured over the horizon after they take effect
        apply_day = day + 1 + delay_days
        z1 = wr.normal(self.seed, "effect.conv", *key)
        z2 = wr.normal(self.seed, "effect.cost", *key)
        real = oracle.sample_effect(truth, z1, z2, self.adv.value_per_conversion[adv_row])
        measured = (outcome == 0) & (apply_day + oracle.HORIZON_DAYS <= self.spec.days)
        measured_at = self._timestamp(0, 0) + (
            (apply_day + oracle.HORIZON_DAYS) * 86400).astype("timedelta64[s]")
        self.imps.add(
            impression_id=slate_id * 10 + slates.position,
            slate_id=slate_id,
            advertiser_id=ids,
            campaign_id=campaign_id,
            item_id=shown.item_id,
            action_type=np.array([a.name for a in ACTION_TYPES], dtype=object)[shown.action],
            surface=np.array(SURFACES, dtype=object)[surface],
            position=slates.position,
            shown_at=shown_at,
            policy=np.full(len(ids), self.policy.name, dtype=object),
            policy_score=scores,
            propensity=slates.propensity,
            slate_propensity=slates.slate_propensity,
            outcome=np.array(OUTCOMES, dtype=object)[outcome],
            dismiss_reason=np.where(outcome == 1, np.array(DISMISS_REASONS, dtype=object)[reason], None),
            responded_at=responded_at,
            outcome_conversions_delta=np.where(measured, np.round(real["delta_conversions"], 2), np.nan),
            outcome_cost_delta=np.where(measured, np.round(real["delta_cost"], 2), np.nan),
            outcome_measured_at=np.where(measured, measured_at, np.datetime64("NaT")),
        )
        self.imp_truth.add(
            impression_id=slate_id * 10 + slates.position,
            p_adopt=truth["p_adopt"], p_dismiss=truth["p_dismiss"], p_snooze=truth["p_snooze"],
            expected_conversions_delta=truth["delta_conversions"],
            expected_cost_delta=truth["delta_cost"],
            expected_profit_delta=truth["delta_profit"],
            realised_profit_delta=np.where(outcome == 0, real["delta_profit"], 0.0),
        )
        adopted = outcome == 0
        self.totals["impressions"] += len(outcome)
        self.totals["adoptions"] += adopted.sum()
        self.totals["dismissals"] += (outcome == 1).sum()
        self.totals["expected_adoptions"] += truth["p_adopt"].sum()
        self.totals["expected_profit"] += (truth["p_adopt"] * truth["delta_profit"]).sum()
        self.totals["realised_profit"] += real["delta_profit"][adopted].sum()
        self.totals["realised_conversions"] += real["delta_conversions"][adopted].sum()
        # the advertiser's memory of what they were shown (nagging), and the platform's log
        for k in cand_mod.item_keys(campaign_id, shown.item_id).tolist():
            self.shows[k].append(day)
        self.platform_log.add_impressions(campaign_id, shown.item_id,
                                          np.array(SURFACES)[surface], epoch_ms(shown_at))
        answered = outcome <= 2  # adopted, dismissed, snoozed: what blocks an item
        self.platform_log.add_feedback(
            campaign_id[answered], shown.item_id[answered],
            _ACTION_NAMES[shown.action[answered]],
            np.array(["applied", "dismissed", "snoozed"])[outcome[answered]],
            np.where(outcome[answered] == 1, np.array(DISMISS_REASONS)[reason[answered]], ""),
            epoch_ms(responded_at[answered]))
        np.subtract.at(self.adv.patience, adv_row,
                       PATIENCE_LOSS * (outcome == 1) + PATIENCE_NAG_LOSS * (truth["nag"] >= 2))
        self.adv.patience = np.maximum(self.adv.patience, 0.0)
        if adopted.any():
            self.pending.append({
                "day": apply_day[adopted], "crow": shown.crow[adopted],
                "action": shown.action[adopted], "param": shown.param[adopted],
                "match": shown.entity_match[adopted], "strength": shown.entity_strength[adopted]})

    # ------------------------------------------------------------------ delivery
    def _deliver(self, day: int, record: bool) -> None:
        cs, acct = self.cs, self.acct()
        d = max(day, 0)
        demand, price = performance.campaign_conditions(cs, self.spec.market, d)
        serving = performance.serving_share(cs, acct.payment_issue, acct.feed_errors)
        z = wr.normal(self.seed, "perf.demand", cs.campaign_id, day)
        out = performance.delivery(cs, demand, price, serving, z)
        key = (cs.campaign_id, day)
        impressions = wr.poisson(self._u("perf.impr", *key), out["impressions"])
        clicks = np.minimum(wr.poisson(self._u("perf.clicks", *key), out["clicks"]), impressions)
        true_conv = out["conversions"]
        capture = np.where(cs.tracking == 2, 1.0, performance.PIXEL_CAPTURE)
        reported = np.minimum(wr.poisson(self._u("perf.conv", *key), true_conv * capture), clicks)
        value = reported * self.adv.value_per_conversion[cs.adv] * np.exp(
            0.3 * wr.normal(self.seed, "perf.value", *key) - 0.045)
        slot30, slot7 = day % 30, day % 7
        self.conv_ring[:, slot30] = true_conv
        cs.conv30 = self.conv_ring.sum(axis=1)
        self.limited_ring[:, slot7] = out["limited"]
        self.spend_ring[:, slot7] = out["spend"]
        self.value_ring[:, slot7] = np.where(cs.tracking > 0, value, 0.0)
        self.conv_ring_rep[:, slot7] = np.where(cs.tracking > 0, reported, 0.0)
        cs.limited7 = self.limited_ring.sum(axis=1)
        cs.spend7 = self.spend_ring.sum(axis=1)
        cs.value7 = self.value_ring.sum(axis=1)
        cs.conv7_reported = self.conv_ring_rep.sum(axis=1)
        if record:
            live = np.flatnonzero(cs.active)
            tracked = cs.tracking[live] > 0
            self.perf.add(
                date=np.full(len(live), np.datetime64(self.spec.market.date(day), "D")),
                campaign_id=cs.campaign_id[live],
                advertiser_id=cs.advertiser_id[live],
                spend=np.round(out["spend"][live], 2),
                impressions=impressions[live],
                clicks=clicks[live],
                conversions=np.where(tracked, reported[live], np.nan),
                conversion_value=np.where(tracked, np.round(value[live], 2), np.nan),
                daily_budget=cs.budget[live].copy(),
                budget_limited=out["limited"][live],
                budget_exhausted_hour=np.round(out["exhausted_hour"][live], 2),
                bid_strategy=np.where(cs.auto[live], "automatic", "manual").astype(object),
                conversion_tracking=np.array(TRACKING_NAMES, dtype=object)[cs.tracking[live]],
                targeting_breadth=np.round(cs.breadth[live], 3),
                creative_count=cs.creative_count[live].astype(np.int64),
                creative_age_days=cs.creative_age[live].astype(np.int64),
                creative_fatigue=np.round(1 - performance.fatigue_multiplier(
                    cs.creative_age[live], cs.creative_count[live]), 4),
                disapproved_share=np.round(cs.disapproved[live], 3),
            )
        cs.creative_age = cs.creative_age + cs.active

    # ------------------------------------------------------------------ output
    def _output(self) -> BlockOutput:
        adv, cs = self.adv, self.cs
        start = np.datetime64(self.spec.start, "D")
        tables = {
            "advertisers": {
                "advertiser_id": adv.advertiser_id,
                "vertical": np.array(VERTICALS, dtype=object)[adv.vertical],
                "country": np.array(COUNTRIES, dtype=object)[adv.country],
                "size_tier": np.array(TIERS, dtype=object)[adv.tier],
                "managed": adv.managed,
                "signup_date": start - adv.tenure_days.astype("timedelta64[D]"),
                "tenure_days": adv.tenure_days + self.spec.days,
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
                "conversion_tracking": np.array(TRACKING_NAMES, dtype=object)[cs.tracking],
                "status": np.where(cs.active, "active", "paused").astype(object),
            },
            "daily_performance": self.perf.arrays() if self.perf.cols else None,
            "workflow_events": self.events.arrays() if self.events.cols else None,
            "impressions": self.imps.arrays() if self.imps.cols else None,
        }
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
            "impression_oracle": self.imp_truth.arrays() if self.imp_truth.cols else None,
        }
        out = BlockOutput(
            tables={k: schema.to_table(k, v) for k, v in tables.items()},
            truth={k: schema.to_table(k, v) for k, v in truth.items()},
            totals=dict(self.totals),
        )
        out.tables["catalog"] = product_catalog(self.products, adv)
        return out


def simulate_block(spec: WorldSpec, advertiser_ids: np.ndarray, policy: Policy,
                   progress: Callable[[int], None] | None = None) -> BlockOutput:
    """Run the world for the advertisers `advertiser_ids` under `policy`."""
    return BlockSimulation(spec, np.asarray(advertiser_ids, dtype=np.int64), policy).run(progress)
