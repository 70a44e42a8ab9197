"""Ads Manager activity other than guidance: trouble that befalls accounts (payment failures,
feed errors, disapproved ads, churn), the edits advertisers make on their own during a visit,
and the workflow events their sessions log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipelines.domain.actions import ACTION_INDEX
from pipelines.world import population
from pipelines.world import random as wr
from pipelines.world.block import Block

if TYPE_CHECKING:
    from pipelines.world.simulate import WorldSpec

PAGES = ("overview", "campaigns", "ads", "audiences", "keywords", "billing", "reports",
         "recommendations")
PAGE_PROBS = np.array([0.25, 0.22, 0.14, 0.08, 0.08, 0.05, 0.10, 0.08])


def account_activity(block: Block, spec: WorldSpec, day: int,
                     visiting: np.ndarray) -> dict[str, np.ndarray] | None:
    """Accounts that open today launch their campaigns, trouble comes, then the own edits of
    the advertisers `visiting` Ads Manager (block-local advertiser rows); returns the day's
    workflow_events rows (None: no visits)."""
    block.cs.active[population.launched(spec.seed, block.adv, block.cs, day)] = True
    _account_trouble(block, spec.seed, day)
    edits = _own_edits(block, spec.seed, day, visiting)
    return _session_events(block, spec, day, visiting, edits)


def _account_trouble(block: Block, seed: int, day: int) -> None:
    """Payment issues and feed errors come and go, ads get disapproved and fixed, accounts
    churn (more readily the less patience they have left with guidance)."""
    adv, cs, ids, cid = block.adv, block.cs, block.adv.advertiser_id, block.cs.campaign_id
    alive = adv.alive(day)
    new_payment = alive & ~adv.payment_issue & (wr.uniform(seed, "acct.payment", ids, day) < 0.002)
    adv.payment_issue = (adv.payment_issue
                         & (wr.uniform(seed, "acct.payment_fix", ids, day) >= 0.08)) | new_payment
    new_feed = adv.has_catalog & ~adv.feed_errors & (wr.uniform(seed, "acct.feed", ids, day) < 0.004)
    adv.feed_errors = (adv.feed_errors
                       & (wr.uniform(seed, "acct.feed_fix", ids, day) >= 0.03)) | new_feed
    disapprove = cs.active & (cs.disapproved == 0) & (
        wr.uniform(seed, "cmp.disapprove", cid, day) < 0.004)
    cs.disapproved = np.where(wr.uniform(seed, "cmp.disapprove_fix", cid, day) < 0.04, 0.0,
                              cs.disapproved)
    cs.disapproved = np.where(
        disapprove, 0.2 + 0.4 * wr.uniform(seed, "cmp.disapprove_share", cid, day), cs.disapproved)
    churn = alive & (wr.uniform(seed, "acct.churn", ids, day) < 0.0015 * (2.0 - adv.patience))
    adv.churned |= churn
    cs.active &= ~adv.churned[cs.adv]


def _own_edits(block: Block, seed: int, day: int, visiting: np.ndarray) -> dict[str, np.ndarray]:
    """Edits advertisers make on their own during a visit: refresh stale creatives, change a
    budget, resume a paused campaign. Returns the campaign rows edited, by workflow event."""
    adv, cs, cid = block.adv, block.cs, block.cs.campaign_id
    visiting = visiting[cs.adv]
    refresh = visiting & cs.active & (cs.creative_age > 21) & (
        wr.uniform(seed, "cmp.self_refresh", cid, day) < 0.05 + 0.3 * adv.responsiveness[cs.adv])
    cs.creative_age[refresh] = 0
    cs.last_change_day[refresh, ACTION_INDEX["creative_refresh"]] = day
    rebudget = visiting & cs.active & (wr.uniform(seed, "cmp.self_budget", cid, day) < 0.04)
    factor = np.exp(0.2 * wr.normal(seed, "cmp.self_budget_size", cid, day))
    cs.budget = np.where(rebudget, np.maximum(5.0, np.round(cs.budget * factor)), cs.budget)
    cs.last_change_day[rebudget & (factor > 1), ACTION_INDEX["budget_raise"]] = day
    resume = visiting & ~cs.active & ~adv.churned[cs.adv] & (
        wr.uniform(seed, "cmp.self_resume", cid, day) < 0.03)
    cs.active |= resume
    return {"creative_upload": refresh, "budget_change": rebudget, "campaign_resumed": resume}


class _SessionEvents:
    """A day's events, gathered kind by kind and numbered in order within each session."""

    def __init__(self, n_sessions: int):
        self.seq = np.zeros(n_sessions, dtype=np.int64)  # events so far, per session
        self.session, self.number, self.type, self.detail, self.campaign = [], [], [], [], []

    def emit(self, idx, etype: str, detail, campaign=-1) -> None:
        """One event for each session in `idx` (repeats allowed)."""
        idx = np.asarray(idx, dtype=np.int64)
        order = np.argsort(idx, kind="stable")
        first = np.searchsorted(idx[order], idx[order])
        occ = np.empty(len(idx), dtype=np.int64)
        occ[order] = np.arange(len(idx)) - first
        self.session.append(idx)
        self.number.append(self.seq[idx] + occ)
        np.add.at(self.seq, idx, 1)
        self.type.append(np.full(len(idx), etype, dtype=object))
        self.detail.append(np.broadcast_to(np.asarray(detail, dtype=object), len(idx)))
        self.campaign.append(np.broadcast_to(np.asarray(campaign, dtype=np.int64), len(idx)))


def _session_events(block: Block, spec: WorldSpec, day: int, visiting: np.ndarray,
                    edits: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """Each Ads Manager session's events: its start, the pages viewed, the errors met and the
    edits made, 45 seconds apart from a random hour of the working day."""
    rows = np.flatnonzero(visiting)
    if len(rows) == 0:
        return None
    adv, cs = block.adv, block.cs
    ids = adv.advertiser_id[rows]
    session = ids * 100_000 + day * 10
    hour = 8 + 12 * wr.uniform(spec.seed, "visit.hour", ids, day)
    n_pages = 1 + wr.poisson(wr.uniform(spec.seed, "visit.pages", ids, day), 3.0)
    disapproved_any = np.bincount(cs.adv, weights=cs.disapproved > 0, minlength=len(adv)) > 0
    errors = [("payment_failed", adv.payment_issue[rows]),
              ("ad_disapproved", disapproved_any[rows]),
              ("feed_error", (adv.feed_errors & adv.has_catalog)[rows])]
    events = _SessionEvents(len(rows))
    all_rows = np.arange(len(rows))
    events.emit(all_rows, "session_start", "")
    for p in range(int(n_pages.max())):
        page = wr.choice(wr.uniform(spec.seed, "visit.page", ids, day, p),
                         np.tile(PAGE_PROBS, (len(rows), 1)))
        on = n_pages > p
        events.emit(all_rows[on], "page_view", np.array(PAGES, dtype=object)[page][on])
    for name, mask in errors:
        events.emit(all_rows[mask], "error", name)
    local = np.full(len(adv), -1)  # advertiser row -> session
    local[rows] = all_rows
    for name, mask in edits.items():
        crows = np.flatnonzero(mask)
        events.emit(local[cs.adv[crows]], "edit", name, cs.campaign_id[crows])
    s = np.concatenate(events.session)
    seqs = np.concatenate(events.number)
    return dict(
        event_id=(session[s] * 1000 + seqs).astype(np.int64),
        session_id=session[s].astype(np.int64),
        advertiser_id=ids[s],
        campaign_id=np.concatenate(events.campaign).astype(np.int64),
        event_time=spec.timestamp(day, hour[s] + seqs * 45 / 3600),
        event_type=np.concatenate(events.type),
        detail=np.concatenate(events.detail),
    )
