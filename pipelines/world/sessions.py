"""A day's guidance sessions and the slates the policy fills for them: who visits which surface,
the candidates of each session (pipelines.world.candidates), the policy config's business rules
against the platform's log (pipelines.policy.eligibility), and the Plackett–Luce slates
(pipelines.policy.plackett_luce), all the same code the service runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from pipelines.domain.actions import ACTION_CATEGORY, ACTION_TYPES
from pipelines.domain.catalog import item_keys
from pipelines.domain.vocabulary import CATEGORIES, SURFACES
from pipelines.policy import eligibility, plackett_luce
from pipelines.policy.eligibility import CandidateSet
from pipelines.world import candidates
from pipelines.world import random as wr
from pipelines.world.block import Block
from pipelines.world.candidates import Candidates
from pipelines.world.platform_log import PlatformLog, epoch_ms
from pipelines.world.policies import Policy, PolicyView
from pipelines.world.state import AdvertiserState

if TYPE_CHECKING:
    from pipelines.world.simulate import WorldSpec

_ACTION_NAMES = np.array([a.name for a in ACTION_TYPES])
_CATEGORY_NAMES = np.array(CATEGORIES)

# The oracle's view of candidates shown on surfaces (by index) at positions (1-based).
Truth = Callable[[Candidates, np.ndarray, np.ndarray], dict[str, np.ndarray]]


def visits(adv: AdvertiserState, spec: WorldSpec, day: int) -> dict[str, np.ndarray]:
    """Block-local advertiser rows with a session on each surface today."""
    ids, seed = adv.advertiser_id, spec.seed
    weekday = spec.market.date(day).weekday() < 5
    alive = adv.alive(day)
    manager = alive & (wr.uniform(seed, "visit.manager", ids, day)
                       < adv.responsiveness * (1.0 if weekday else 0.4))
    assistant = manager & (wr.uniform(seed, "visit.assistant", ids, day) < 0.3)
    notify = alive & adv.notifications_opt_in & ((ids + day) % 7 == 0) & (
        wr.uniform(seed, "visit.notify", ids, day) < 0.9)
    sales = alive & adv.managed & weekday & (wr.uniform(seed, "visit.sales", ids, day) < 0.12)
    return {"ads_manager": manager, "business_assistant": assistant,
            "notification": notify, "sales_workflow": sales}


@dataclass(frozen=True)
class Served:
    """The day's slates: every session (by advertiser row, then surface), and what it showed."""

    session_adv: np.ndarray  # block-local advertiser row of each session
    session_surface: np.ndarray  # surface index of each session
    shown: Candidates  # the shown candidates, in slate order
    slates: plackett_luce.Slates  # slates.group: the session; position and propensities
    scores: np.ndarray  # the policy's score of each shown candidate
    policy: str  # the policy's name


def serve(block: Block, spec: WorldSpec, policy: Policy, platform_log: PlatformLog,
          visits: dict[str, np.ndarray], day: int, truth: Truth,
          tables: Callable[[], dict] | None = None) -> Served | None:
    """The policy's slate for every session of `day` (None: nothing to show). `truth` is only
    for a policy that looks at the oracle; `tables` gives the platform's raw tables as of the
    start of the day, for a policy that computes features from them."""
    s_adv, s_surface = _sessions(visits)
    if len(s_adv) == 0:
        return None
    c = candidates.build(spec.seed, day, s_adv, block.cs, block.account_flags(), block.adv,
                         block.products, block.prod_start, block.prod_count, block.camp_start,
                         block.camp_count, spec.keywords, spec.interests, spec.market)
    c = c.select(_eligible(block, spec, policy, platform_log, c, s_surface[c.session], day))
    if len(c) == 0:
        return None
    surface = s_surface[c.session]
    view = PolicyView(c, block.cs.take(c.crow), surface, day,
                      truth=lambda: truth(c, surface, np.ones(len(c))),
                      tables=tables or _no_tables)
    scores = policy.scores(view)
    ids = block.adv.advertiser_id[s_adv]
    u = wr.uniform(spec.seed, "slate.explore", ids[c.session], s_surface[c.session], c.item_id,
                   block.cs.campaign_id[c.crow], day)
    slates = _slates(block, policy, scores, c, s_surface, u, spec.seed, day, ids)
    return Served(s_adv, s_surface, c.select(slates.index), slates, scores[slates.index],
                  policy.name)


def _no_tables() -> dict:
    raise RuntimeError("this world loop gives its policy no platform tables")


def _sessions(visits: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The day's sessions by advertiser row, then surface in SURFACES order: each one's
    block-local advertiser row and surface index."""
    s_adv, s_surface = [], []
    for i, name in enumerate(SURFACES):
        rows = np.flatnonzero(visits[name])
        s_adv.append(rows)
        s_surface.append(np.full(len(rows), i))
    s_adv, s_surface = np.concatenate(s_adv), np.concatenate(s_surface)
    order = np.lexsort((s_surface, s_adv))
    return s_adv[order], s_surface[order]


def _eligible(block: Block, spec: WorldSpec, policy: Policy, platform_log: PlatformLog,
              c: Candidates, surface: np.ndarray, day: int) -> np.ndarray:
    """The policy config's business rules (cool-downs, snoozes, re-show window) against
    the platform's log as of the start of `day`."""
    now_ms = int(epoch_ms(spec.timestamp(day, 0)))
    history = platform_log.history(now_ms)
    ok = np.zeros(len(c), bool)
    for i, name in enumerate(SURFACES):
        m = surface == i
        if m.any():
            rows = c.crow[m]
            cands = CandidateSet(
                block.cs.campaign_id[rows], c.item_id[m], _ACTION_NAMES[c.action[m]],
                _CATEGORY_NAMES[ACTION_CATEGORY[c.action[m]]], block.cs.active[rows],
                # rules.applicable already drops one-shot actions once done
                np.zeros(len(rows), bool))
            ok[m] = eligibility.eligible(cands, history, name, now_ms, policy.config)[0]
    return ok


def _slates(block: Block, policy: Policy, scores: np.ndarray, c: Candidates,
            s_surface: np.ndarray, u: np.ndarray, seed: int, day: int,
            session_ids: np.ndarray) -> plackett_luce.Slates:
    """Every session's slate, drawn per surface at that surface's size, diversity cap,
    temperature and exploration floor. Each account has at most one session per surface a day,
    so the daily cap leaves the whole default slate (the config keeps default_items <=
    daily_cap). An account's sessions of a day come in SURFACES order, minutes apart, so with a
    re-show window an item shown on one surface is not eligible on the next. A surface with a
    floor draws step by step, one uniform per (advertiser, surface, day, step)
    (`session_ids`: each session's advertiser id), common to every policy with a floor."""
    cfg = policy.config
    k = np.array([cfg.surface(s).default_items for s in SURFACES])[s_surface]
    category = ACTION_CATEGORY[c.action]
    keys = item_keys(block.cs.campaign_id[c.crow], c.item_id)
    shown_today = np.zeros(0, np.int64)
    parts = []
    for i, name in enumerate(SURFACES):
        m = np.flatnonzero(s_surface[c.session] == i)
        if cfg.reshow_after_days > 0:
            m = m[~np.isin(keys[m], shown_today)]
        if len(m) == 0:
            continue
        surf = cfg.surface(name)
        step_u = None
        if surf.exploration_floor > 0:  # rows: every session (the groups' ids), columns: steps
            step_u = wr.uniform(seed, "slate.floor", session_ids[:, None], i, day,
                                np.arange(surf.default_items)[None, :])
        s = plackett_luce.sample(scores[m], c.session[m], k, surf.temperature, u[m],
                                 category[m], surf.max_per_category, surf.exploration_floor,
                                 step_u)
        parts.append(plackett_luce.Slates(m[s.index], s.group, s.position, s.propensity,
                                          s.slate_propensity))
        shown_today = np.r_[shown_today, keys[m[s.index]]]
    # `c` is not empty, so the first surface with candidates always gives a part
    cols = [np.concatenate(x) for x in zip(*((p.index, p.group, p.position, p.propensity,
                                              p.slate_propensity) for p in parts))]
    order = np.lexsort((cols[2], cols[1]))
    return plackett_luce.Slates(*(col[order] for col in cols))
