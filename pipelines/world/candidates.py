"""Candidate guidance for a day's sessions: what applies to each session's campaigns.

Generic items come from every action type that applies to a campaign; keyword and interest items
are the vertical's trending entities plus one the rule engine would not pick (so the logs explore
the large catalogs); product items rotate through the advertiser's catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.domain.actions import ACTION_INDEX
from pipelines.domain.applicability import applicable, in_season
from pipelines.domain.catalog import GENERIC_ACTION, GENERIC_PARAM, interest_item, keyword_item
from pipelines.world import random as wr
from pipelines.world.effects import AccountFlags
from pipelines.world.entities import TrendEntities
from pipelines.world.market import Market
from pipelines.world.state import AdvertiserState, CampaignState, Products

CAMPAIGNS_PER_SESSION = 3  # the largest active campaigns, plus one paused campaign
ENTITY_PER_CAMPAIGN = 3


@dataclass
class Candidates:
    session: np.ndarray  # index into the day's sessions
    crow: np.ndarray  # campaign row in the block
    action: np.ndarray
    param: np.ndarray
    item_id: np.ndarray
    entity_match: np.ndarray
    entity_strength: np.ndarray

    def select(self, mask_or_index) -> "Candidates":
        return Candidates(**{k: v[mask_or_index] for k, v in self.__dict__.items()})

    def __len__(self) -> int:
        return len(self.session)


def _session_campaigns(session_adv: np.ndarray, cs: CampaignState, camp_start: np.ndarray,
                       camp_count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sess, rows = [], []
    for s, a in enumerate(session_adv):
        own = np.arange(camp_start[a], camp_start[a] + camp_count[a])
        act = own[cs.active[own]]
        act = act[np.argsort(-cs.budget[act], kind="stable")[:CAMPAIGNS_PER_SESSION]]
        paused = own[~cs.active[own]][:1]
        chosen = np.concatenate([act, paused])
        sess.extend([s] * len(chosen))
        rows.extend(chosen.tolist())
    return np.array(sess, dtype=np.int64), np.array(rows, dtype=np.int64)


def _entity_rows(seed, day, sess, crow, cs, ents: TrendEntities, trending, trend, channels,
                 action, to_item):
    on = np.isin(cs.channel[crow], channels) & cs.active[crow]
    s, c = sess[on], crow[on]
    top = trending[cs.vertical[c], day]  # [pair, TOP]
    picked = top[:, :ENTITY_PER_CAMPAIGN]
    # one more entity of the vertical, drawn at random: exploration of the long tail
    per_vertical = np.bincount(ents.vertical, minlength=trending.shape[0])
    first = np.searchsorted(ents.vertical, cs.vertical[c])
    extra = ents.ids[first + (wr.uniform(seed, f"cand.{action}", cs.campaign_id[c], day)
                              * per_vertical[cs.vertical[c]]).astype(int)]
    ids = np.concatenate([picked, extra[:, None]], axis=1)
    n = ids.shape[1]
    ent_index = ids.ravel() - ents.ids[0]
    crow_rep = np.repeat(c, n)
    match = ents.vertical[ent_index] == cs.vertical[crow_rep]
    strength = np.sqrt(ents.popularity[ent_index]) * trend[ent_index, day]
    return (np.repeat(s, n), crow_rep, np.full(len(crow_rep), ACTION_INDEX[action]),
            to_item(ids.ravel()), match, strength)


def build(seed: int, day: int, session_adv: np.ndarray, cs: CampaignState, acct: AccountFlags,
          adv: AdvertiserState, products: Products, product_start: np.ndarray,
          product_count: np.ndarray, camp_start: np.ndarray, camp_count: np.ndarray,
          keywords: TrendEntities, interests: TrendEntities, market: Market) -> Candidates:
    """Every (campaign, item) that applies to the day's sessions' campaigns; the policy's
    business rules (cool-downs, snoozes) come after."""
    sess, crow = _session_campaigns(session_adv, cs, camp_start, camp_count)
    g = len(GENERIC_ACTION)
    parts = [(np.repeat(sess, g), np.repeat(crow, g), np.tile(GENERIC_ACTION, len(crow)),
              np.tile(np.arange(g), len(crow)), np.ones(len(crow) * g, bool),
              np.ones(len(crow) * g))]
    parts.append(_entity_rows(seed, day, sess, crow, cs, keywords, market.trending_keywords,
                              market.keyword_trend, [0], "keyword_add", keyword_item))
    parts.append(_entity_rows(seed, day, sess, crow, cs, interests, market.trending_interests,
                              market.interest_trend, [1, 2], "interest_add", interest_item))
    # Products: the rule engine cannot see what sells; it rotates through the catalog.
    has = adv.has_catalog[cs.adv[crow]] & cs.active[crow] & (cs.objective[crow] == 0)
    if has.any():
        s, c = sess[has], crow[has]
        a = cs.adv[c]
        j = (day * ENTITY_PER_CAMPAIGN + np.arange(ENTITY_PER_CAMPAIGN)[None, :]) % product_count[a][:, None]
        prow = (product_start[a][:, None] + j).ravel()
        parts.append((np.repeat(s, ENTITY_PER_CAMPAIGN), np.repeat(c, ENTITY_PER_CAMPAIGN),
                      np.full(len(prow), ACTION_INDEX["product_promote"]),
                      products.product_id[prow], np.ones(len(prow), bool),
                      products.sell_rate[prow]))
    sess_a, crow_a, action, item, match, strength = (np.concatenate(x) for x in zip(*parts))
    param = np.where(item < g, GENERIC_PARAM[np.minimum(item, g - 1)], 0.0)
    # the random long-tail entity can repeat a trending one: keep each (session, campaign, item) once
    _, first = np.unique(np.stack([sess_a, crow_a, item]), axis=1, return_index=True)
    keep = np.sort(first)
    cand = Candidates(sess_a[keep], crow_a[keep], action[keep], param[keep], item[keep],
                      match[keep], strength[keep])
    rows = cand.crow
    ok = applicable(cs.take(rows), acct.take(rows), adv.has_catalog[cs.adv[rows]], cand.action,
                    in_season=in_season(market.date(day)))
    return cand.select(ok)
