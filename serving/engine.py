"""The guidance service's work, free of any transport: candidates, retrieval, eligibility and the
slate for one advertiser, and the advertiser's context. The advertiser's history (the raw logs
and the service's own) is in serving.history, the ranker's candidate columns in serving.features.

A request is planned (candidates with their features), scored (by the ranker, in this process
or in a Ray Serve deployment) and turned into a slate. When scoring fails or is too slow the
slate comes from retrieval and the advertiser's own adoption rates, marked degraded.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from pipelines.candidates import observed
from pipelines.candidates.reasons import reasons
from pipelines.context.online import grouped
from pipelines.domain.actions import ACTION_TYPES
from pipelines.errors import NotFoundError
from pipelines.feedback.records import Impression
from pipelines.policy import eligibility, scoring, slate
from pipelines.policy.config import PolicyConfig
from pipelines.policy.eligibility import CandidateSet
from serving.data import ServingData
from serving.features import request_features
from serving.history import advertiser_history
from serving.retriever import Retriever

IMPACT_UNIT = "conversions per 14 days"
_ONE_SHOT = [a.name for a in ACTION_TYPES if not a.repeatable]
_FALLBACK_ADOPT, _FALLBACK_DISMISS = 0.05, 0.05  # priors when the account has no rate yet
# Why a slate is empty, in the order they are told: the first that holds is the answer.
EMPTY_REASONS = ("opted_out", "daily_cap_reached", "nothing_applies", "all_filtered")
# Eligibility rules that say an action does not apply to the campaign (not that it was hidden).
_NOT_APPLYING = ("campaign_paused", "resume_on_active")
# The business rules that hide an item that applies, as the empty answer says them.
_HIDDEN_AS = {"one_shot_done": "already done", "applied": "applied recently",
              "dismissed": "dismissed", "snoozed": "snoozed",
              "recently_shown": "shown in the last {days:g} days"}
_WHERE = {"ads_manager": "in Ads Manager", "business_assistant": "in the business assistant",
          "notification": "by notification", "sales_workflow": "in the sales workflow"}


@dataclass
class Plan:
    """One advertiser's eligible candidates and what scoring needs."""

    advertiser_id: int
    surface: str
    k: int
    now_ms: int
    camp_row: np.ndarray
    campaign_id: np.ndarray
    item_id: np.ndarray
    catalog_row: np.ndarray
    action_type: np.ndarray
    category: np.ndarray
    retrieval_sim: np.ndarray  # similarity for retrieved entity items, NaN for generic ones
    features: dict[str, np.ndarray]  # candidate columns of the ranker
    captured: float  # expected impact the advertiser already adopted
    opted_out: bool = False  # a notification for an account that did not opt in (k is 0)
    blocked: dict[str, int] = field(default_factory=dict)  # candidates hidden, by rule

    def __len__(self) -> int:
        return len(self.item_id)


class Engine:
    """Plans, slates and context answers over one snapshot and one retrieval model."""

    def __init__(self, data: ServingData, retriever: Retriever, policy: PolicyConfig, log,
                 model_version: str):
        self.data, self.retriever, self.policy, self.log = data, retriever, policy, log
        self.model_version = model_version

    # -- planning --------------------------------------------------------------------------

    def plan(self, advertiser_id: int, campaign_id: int, surface: str, max_items: int,
             now_ms: int) -> Plan:
        d = self.data
        adv_row = d.advertiser_row(advertiser_id)
        camp_rows = d.campaign_rows(adv_row)
        if campaign_id:
            camp_rows = camp_rows[d.campaign_ids[camp_rows] == campaign_id]
            if len(camp_rows) == 0:
                raise NotFoundError(f"campaign {campaign_id} not found for advertiser "
                                    f"{advertiser_id}")
        surf = self.policy.surface(surface)
        history, captured = advertiser_history(d, self.log, adv_row, now_ms)
        k = min(max_items or surf.default_items, surf.max_items,
                eligibility.remaining_slots(history, surface, now_ms, self.policy))
        adv = d.advertiser_signals(adv_row)
        opted_out = surface == "notification" and not adv.get("notifications_opt_in")
        if opted_out:
            k = 0

        g_local, g_item = observed.generic(d.observed.take(camp_rows), d.has_catalog[camp_rows],
                                           d.as_of)
        e_rows, e_item, e_sim = self.retriever.retrieve(
            advertiser_id, camp_rows[d.observed.active[camp_rows]], surface)
        rows = np.r_[camp_rows[g_local], e_rows].astype(np.int64)
        items = np.r_[g_item, e_item].astype(np.int64)
        sim = np.r_[np.full(len(g_item), np.nan), e_sim]
        cat_row = d.catalog.rows(items)
        action = d.catalog["action_type"][cat_row].astype(str)
        category = d.catalog["category"][cat_row].astype(str)
        campaign = d.campaign_ids[rows]

        applied = (history.feedback_type == "applied") & np.isin(history.feedback_action_type,
                                                                  _ONE_SHOT)
        done_keys = set(zip(history.feedback_campaign_id[applied].tolist(),
                            history.feedback_action_type[applied].tolist()))
        one_shot_done = np.array([(c, a) in done_keys for c, a in zip(campaign.tolist(), action)],
                                 bool)
        cands = CandidateSet(campaign, items, action, category, d.observed.active[rows],
                             one_shot_done)
        ok, why = eligibility.eligible(cands, history, surface, now_ms, self.policy)
        blocked = dict(Counter(why[~ok].tolist()))
        rows, items, sim, cat_row = rows[ok], items[ok], sim[ok], cat_row[ok]
        action, category, campaign = action[ok], category[ok], campaign[ok]

        features = request_features(d, adv, history, campaign, items, cat_row, surface, now_ms)
        return Plan(advertiser_id, surface, k, now_ms, rows, campaign, items, cat_row, action,
                    category, sim, features, captured, bool(opted_out), blocked)

    # -- scores --------------------------------------------------------------------------------

    @staticmethod
    def fallback_scores(plan: Plan) -> dict[str, np.ndarray]:
        """Without the ranker: the advertiser's own adoption and dismissal rates for the item's
        category, nudged by retrieval similarity; impact unknown (0)."""
        f = plan.features
        p_adopt = np.nan_to_num(f["same_category_adoption_rate_90d"], nan=_FALLBACK_ADOPT)
        p_adopt = np.clip(p_adopt * (1 + np.nan_to_num(plan.retrieval_sim, nan=0.0)), 0, 1)
        p_dismiss = np.nan_to_num(f["same_category_dismissal_rate_90d"], nan=_FALLBACK_DISMISS)
        return {"p_adopt": p_adopt, "p_dismiss": p_dismiss, "impact": np.zeros((len(plan), 3))}

    # -- the slate -----------------------------------------------------------------------------

    def slate(self, plan: Plan, scores: dict[str, np.ndarray], rng: np.random.Generator,
              degraded: str = "") -> tuple[dict, list[Impression], np.ndarray]:
        """The chosen items in rank order, as plain dicts; the impressions to log; and the
        chosen items' rows in the plan (rank order, one per impression)."""
        surf = self.policy.surface(plan.surface)
        impact = scores["impact"]
        s = scoring.score(scores["p_adopt"], scores["p_dismiss"], impact[:, 1],
                          scoring.impact_scale(impact[:, 1]),
                          plan.category, plan.surface, self.policy)
        available = scoring.available_impact(impact[:, 1], plan.campaign_id, plan.action_type)
        chosen = slate.choose(s, plan.category, plan.k, surf.temperature, surf.max_per_category,
                              rng, surf.exploration_floor)
        idx = chosen.index
        uplift = scoring.score_uplift(impact[idx, 1], plan.captured, available)
        slate_id = uuid.uuid4().hex[:20]
        d = self.data
        adv_values = d.advertiser_signals(d.advertiser_row(plan.advertiser_id))
        items, impressions = [], []
        policy_name = f"guidance-{plan.surface}" + ("-degraded" if degraded else "")
        for rank, (i, prop, slate_prop, up) in enumerate(zip(
                idx, chosen.propensity, chosen.prefix_propensity, uplift), start=1):
            row = plan.catalog_row[i]
            values = {**adv_values, **d.campaign_signals(plan.camp_row[i])}
            why = reasons(plan.action_type[i], plan.category[i], values)
            rec_id = f"{slate_id}-{rank}"
            item = {
                "recommendation_id": rec_id,
                "action_type": str(plan.action_type[i]), "category": str(plan.category[i]),
                "campaign_id": int(plan.campaign_id[i]), "item_id": int(plan.item_id[i]),
                "title": str(d.catalog["title"][row]),
                "description": str(d.catalog["description"][row] or ""),
                "parameters": item_parameters(d.catalog, row),
                # an empty list means no signal argues for it: said, never padded
                "reasons": why, "no_supporting_signal": not why,
                "adoption_probability": float(scores["p_adopt"][i]),
                "dismissal_probability": float(scores["p_dismiss"][i]),
                "impact": [float(x) for x in impact[i]],
                "rank": rank, "propensity": float(prop), "score_uplift": float(up),
            }
            items.append(item)
            impressions.append(Impression(
                recommendation_id=rec_id, slate_id=slate_id, advertiser_id=plan.advertiser_id,
                campaign_id=item["campaign_id"], item_id=item["item_id"],
                action_type=item["action_type"], surface=plan.surface, position=rank,
                served_at_ms=plan.now_ms, policy=policy_name, model_version=self.model_version,
                score=float(s[i]), propensity=float(prop), slate_propensity=float(slate_prop),
                p_adopt=item["adoption_probability"], p_dismiss=item["dismissal_probability"],
                impact_expected=item["impact"][1], impact_low=item["impact"][0],
                impact_high=item["impact"][2], degraded=bool(degraded)))
        empty, detail, message = (("", "", "") if items else
                                  empty_reason(plan, self.policy))
        return {"advertiser_id": plan.advertiser_id, "surface": plan.surface,
                "slate_id": slate_id, "items": items,
                "guidance_score": scoring.guidance_score(plan.captured, available),
                "available_impact": available, "degraded": degraded,
                "empty_reason": empty, "empty_detail": detail,
                "empty_message": message}, impressions, idx

    # -- context ---------------------------------------------------------------------------

    def context(self, advertiser_id: int, include_campaigns: bool) -> dict:
        d = self.data
        row = d.advertiser_row(advertiser_id)
        adv = {k: v for k, v in d.advertiser_signals(row).items() if k != "advertiser_id"}
        out = {"advertiser_id": advertiser_id, "as_of": d.as_of.isoformat(),
               "snapshot": d.snapshot, "signals": grouped(adv), "campaigns": []}
        if include_campaigns:
            for r in d.campaign_rows(row):
                values = {k: v for k, v in d.campaign_signals(r).items()
                          if k not in ("advertiser_id", "campaign_id", "status")}
                out["campaigns"].append({"campaign_id": int(d.campaign_ids[r]),
                                         "signals": grouped(values)})
        return out


def empty_reason(plan: Plan, policy: PolicyConfig) -> tuple[str, str, str]:
    """Why `plan` gives an empty slate: (one of EMPTY_REASONS; for all_filtered the eligibility
    rule that hid the most candidates, else ""; a sentence for people)."""
    if plan.opted_out:
        return "opted_out", "", "This account has not opted in to notifications, so none is sent."
    if plan.k == 0:
        cap = policy.surface(plan.surface).daily_cap
        return ("daily_cap_reached", "",
                f"This account has already been shown its {cap} item{'s' if cap != 1 else ''} "
                f"for today {_WHERE.get(plan.surface, plan.surface)}; more tomorrow (UTC).")
    if len(plan):
        raise ValueError(f"an empty slate from {len(plan)} eligible candidates and {plan.k} "
                         f"slots: the slate takes at least one")
    hidden = {r: n for r, n in plan.blocked.items() if r not in _NOT_APPLYING}
    if not hidden:
        return ("nothing_applies", "",
                "None of the guidance applies to this account's campaigns right now.")
    rank = {r: i for i, r in enumerate(eligibility.REASONS)}  # ties: the earliest rule
    top = min(hidden, key=lambda r: (-hidden[r], rank[r]))
    total = sum(hidden.values())
    said = _HIDDEN_AS[top].format(days=policy.reshow_after_days)
    return ("all_filtered", top,
            f"Everything that applies is hidden for now: {hidden[top]} of {total} "
            f"item{'s' if total != 1 else ''} {'was' if hidden[top] == 1 else 'were'} {said}.")


def item_parameters(catalog, row: int) -> dict[str, str]:
    out = {}
    pct = catalog["param_pct"][row]
    if pct is not None and pct == pct:
        out["percent"] = f"{pct:g}"
    kind = catalog["entity_kind"][row]
    if kind is not None:
        out[kind] = str(catalog["entity_name"][row])
        out[f"{kind}_id"] = str(catalog["entity_id"][row])
    return out
