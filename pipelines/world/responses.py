"""How advertisers answer the items they are shown, by the oracle (pipelines.world.oracle): the
truth of each shown item, the drawn answer (adopt, dismiss, snooze or ignore, with when and
why), and what the answers leave behind: the advertiser's memory of being nagged, patience worn
down, the platform's log of answers, and adoptions that take effect on a later day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipelines.domain.actions import ACTION_CATEGORY, ACTION_TYPES
from pipelines.domain.catalog import item_keys
from pipelines.domain.vocabulary import DISMISS_REASONS, OUTCOMES, SURFACES
from pipelines.world import oracle
from pipelines.world import random as wr
from pipelines.world.block import Block
from pipelines.world.calibration import ACTION_EFFORT
from pipelines.world.candidates import Candidates
from pipelines.world.effects import apply_actions
from pipelines.world.platform_log import PlatformLog, epoch_ms
from pipelines.world.sessions import Served
from pipelines.world.state import AdvertiserState, put

if TYPE_CHECKING:
    from pipelines.world.simulate import WorldSpec

NAG_WINDOW = 21  # days an advertiser remembers being shown an item
PATIENCE_LOSS = 0.08  # per dismissal
PATIENCE_NAG_LOSS = 0.03  # per showing of an item already shown twice in the nag window
PATIENCE_RECOVERY = 0.01  # per day

_ACTION_NAMES = np.array([a.name for a in ACTION_TYPES])


class ShownItems:
    """What advertisers remember being shown: the days each (campaign, item) was shown."""

    def __init__(self):
        self.days: dict[int, list[int]] = defaultdict(list)

    def nag(self, campaign_id: np.ndarray, item_id: np.ndarray, day: int) -> np.ndarray:
        """How many times each (campaign, item) was shown in the NAG_WINDOW days up to `day`."""
        keys = item_keys(campaign_id, item_id).tolist()
        return np.array([sum(1 for d in self.days.get(k, ()) if d >= day - NAG_WINDOW)
                         for k in keys], dtype=float)

    def remember(self, campaign_id: np.ndarray, item_id: np.ndarray, day: int) -> None:
        for k in item_keys(campaign_id, item_id).tolist():
            self.days[k].append(day)


def truth(block: Block, spec: WorldSpec, shown_items: ShownItems, day: int, c: Candidates,
          surface: np.ndarray, position: np.ndarray) -> dict[str, np.ndarray]:
    """The oracle's view of candidate rows shown on `surface` at `position` on `day`: the
    expected effect of adopting (oracle.expected_effect), what the advertiser weighs, and the
    probabilities of each answer ("probs": [row, outcome] in OUTCOMES order)."""
    cs = block.cs.take(c.crow)
    adv, a = block.adv, cs.adv
    eff = oracle.expected_effect(cs, block.account_flags().take(c.crow), c.action, c.param,
                                 c.entity_match, c.entity_strength,
                                 adv.value_per_conversion[a], spec.market_known_on(day), day)
    rel = oracle.relative_profit(eff)
    cost_share = oracle.chosen_cost_share(eff, c.action)
    nag = shown_items.nag(cs.campaign_id, c.item_id, day)
    probs = oracle.response_probabilities(
        surface, position, adv.taste[a, ACTION_CATEGORY[c.action]], adv.trust[a],
        adv.patience[a], adv.cost_aversion[a], ACTION_EFFORT[c.action], rel, cost_share, nag)
    return {**eff, "rel_profit": rel, "cost_share": cost_share, "nag": nag,
            "p_adopt": probs[:, 0], "p_dismiss": probs[:, 1], "p_snooze": probs[:, 2],
            "probs": probs}


class PendingAdoptions:
    """Adopted items waiting for the day they take effect."""

    def __init__(self):
        self.batches: list[dict[str, np.ndarray]] = []

    def add(self, day: np.ndarray, shown: Candidates) -> None:
        """Adoptions of `shown` rows, each taking effect at the start of its `day`."""
        self.batches.append({
            "day": day, "crow": shown.crow, "action": shown.action, "param": shown.param,
            "match": shown.entity_match, "strength": shown.entity_strength})

    def apply_due(self, block: Block, day: int) -> None:
        """Apply the adoptions due on `day` to their campaigns and accounts."""
        if not self.batches:
            return
        p = {k: np.concatenate([b[k] for b in self.batches]) for k in self.batches[0]}
        due = p["day"] == day
        self.batches = [{k: v[~due] for k, v in p.items()}] if (~due).any() else []
        p = {k: v[due] for k, v in p.items()}
        adv, cs = block.adv, block.cs
        while len(p["crow"]):  # in rounds: two adoptions may touch the same campaign
            _, first = np.unique(p["crow"], return_index=True)
            rows = p["crow"][first]
            new, new_acct = apply_actions(cs.take(rows), block.account_flags().take(rows),
                                          p["action"][first], p["param"][first],
                                          p["match"][first], p["strength"][first])
            put(cs, rows, new)
            a = cs.adv[rows]
            adv.payment_issue[a] &= new_acct.payment_issue
            adv.feed_errors[a] &= new_acct.feed_errors | ~adv.has_catalog[a]
            rest = np.ones(len(p["crow"]), bool)
            rest[first] = False
            p = {k: v[rest] for k, v in p.items()}


@dataclass(frozen=True)
class Responses:
    """A day's answers as the block records them."""

    impressions: dict[str, np.ndarray]  # rows of the impressions table
    oracle: dict[str, np.ndarray]  # rows of the impression_oracle truth table
    totals: dict[str, float]  # counts and sums to add to the block's totals


def respond(block: Block, spec: WorldSpec, served: Served, day: int, shown_items: ShownItems,
            platform_log: PlatformLog, adoptions: PendingAdoptions) -> Responses:
    """Draw each shown item's answer, with when and why, and the realised effect of adopting
    it; remember the showing and the answers (`shown_items`, `platform_log`, the advertisers'
    patience) and queue adoptions in `adoptions` for the day they take effect."""
    shown, slates, adv = served.shown, served.slates, block.adv
    surface = served.session_surface[slates.group]
    t = truth(block, spec, shown_items, day, shown, surface, slates.position)
    adv_row = served.session_adv[slates.group]
    ids = adv.advertiser_id[adv_row]
    slate_id = ids * 100_000 + day * 10 + surface
    key = (ids, day, surface, slates.position)
    outcome = wr.choice(wr.uniform(spec.seed, "resp.outcome", *key), t["probs"])
    campaign_id = block.cs.campaign_id[shown.crow]
    recently_done = block.cs.last_change_day[shown.crow, shown.action] >= day - 7
    w = oracle.dismiss_reason_weights(t["rel_profit"], t["cost_share"],
                                      adv.cost_aversion[adv_row], recently_done)
    reason = wr.choice(wr.uniform(spec.seed, "resp.reason", *key),
                       w / w.sum(axis=1, keepdims=True))
    # the visit's hour (the draw its Ads Manager session's events use), the surfaces six
    # minutes apart, the positions a second apart
    hour = 8 + 12 * wr.uniform(spec.seed, "visit.hour", ids, day) + 0.1 * surface
    shown_at = spec.timestamp(day, hour + slates.position / 3600)
    # answers come within minutes, adoptions 60 % of the time the same day and otherwise 1-6
    # days later; an adoption takes effect the day after it is made
    ud = wr.uniform(spec.seed, "resp.delay", *key)
    delay_days = np.where(ud < 0.6, 0, 1 + np.floor((ud - 0.6) / 0.4 * 6)).astype(int)
    lag = wr.uniform(spec.seed, "resp.lag", *key)
    respond_hours = np.where(outcome == 0, delay_days * 24 + 0.5 + 3 * lag, 0.02 + 0.2 * lag)
    responded_at = np.where(outcome == 3, np.datetime64("NaT"),
                            shown_at + (respond_hours * 3600).astype("timedelta64[s]"))
    # realised effect of adoptions, measured over the horizon after they take effect
    apply_day = day + 1 + delay_days
    z1 = wr.normal(spec.seed, "effect.conv", *key)
    z2 = wr.normal(spec.seed, "effect.cost", *key)
    real = oracle.sample_effect(t, z1, z2, adv.value_per_conversion[adv_row])
    measured = (outcome == 0) & (apply_day + oracle.HORIZON_DAYS <= spec.days)
    measured_at = spec.timestamp(0, 0) + (
        (apply_day + oracle.HORIZON_DAYS) * 86400).astype("timedelta64[s]")
    impressions = dict(
        impression_id=slate_id * 10 + slates.position,
        slate_id=slate_id,
        advertiser_id=ids,
        campaign_id=campaign_id,
        item_id=shown.item_id,
        action_type=_ACTION_NAMES.astype(object)[shown.action],
        surface=np.array(SURFACES, dtype=object)[surface],
        position=slates.position,
        shown_at=shown_at,
        policy=np.full(len(ids), served.policy, dtype=object),
        policy_score=served.scores,
        propensity=slates.propensity,
        slate_propensity=slates.slate_propensity,
        outcome=np.array(OUTCOMES, dtype=object)[outcome],
        dismiss_reason=np.where(outcome == 1, np.array(DISMISS_REASONS, dtype=object)[reason],
                                None),
        responded_at=responded_at,
        outcome_conversions_delta=np.where(measured, np.round(real["delta_conversions"], 2),
                                           np.nan),
        outcome_cost_delta=np.where(measured, np.round(real["delta_cost"], 2), np.nan),
        outcome_measured_at=np.where(measured, measured_at, np.datetime64("NaT")),
    )
    truth_rows = dict(
        impression_id=slate_id * 10 + slates.position,
        p_adopt=t["p_adopt"],
        p_adopt_if_shown_first=oracle.if_shown_first(t["p_adopt"], surface, slates.position),
        p_dismiss=t["p_dismiss"], p_snooze=t["p_snooze"],
        expected_conversions_delta=t["delta_conversions"],
        expected_cost_delta=t["delta_cost"],
        expected_profit_delta=t["delta_profit"],
        realised_profit_delta=np.where(outcome == 0, real["delta_profit"], 0.0),
    )
    adopted = outcome == 0
    totals = {
        "impressions": len(outcome),
        "adoptions": adopted.sum(),
        "dismissals": (outcome == 1).sum(),
        "expected_adoptions": t["p_adopt"].sum(),
        "expected_profit": (t["p_adopt"] * t["delta_profit"]).sum(),
        "realised_profit": real["delta_profit"][adopted].sum(),
        "realised_conversions": real["delta_conversions"][adopted].sum(),
    }
    # the advertiser's memory of what they were shown (nagging), and the platform's log
    shown_items.remember(campaign_id, shown.item_id, day)
    platform_log.add_impressions(campaign_id, shown.item_id, np.array(SURFACES)[surface],
                                 epoch_ms(shown_at))
    answered = outcome <= 2  # adopted, dismissed, snoozed: what blocks an item
    platform_log.add_feedback(
        campaign_id[answered], shown.item_id[answered], _ACTION_NAMES[shown.action[answered]],
        np.array(["applied", "dismissed", "snoozed"])[outcome[answered]],
        np.where(outcome[answered] == 1, np.array(DISMISS_REASONS)[reason[answered]], ""),
        epoch_ms(responded_at[answered]))
    np.subtract.at(adv.patience, adv_row,
                   PATIENCE_LOSS * (outcome == 1) + PATIENCE_NAG_LOSS * (t["nag"] >= 2))
    adv.patience = np.maximum(adv.patience, 0.0)
    if adopted.any():
        adoptions.add(apply_day[adopted], shown.select(adopted))
    return Responses(impressions, truth_rows, totals)


def recover_patience(adv: AdvertiserState) -> None:
    """A day's rest restores some patience with guidance, up to 1."""
    adv.patience = np.minimum(1.0, adv.patience + PATIENCE_RECOVERY)
