"""Between the proto messages and the engine's plain values: request validation on the way in,
response messages on the way out."""

from __future__ import annotations

import math

from pipelines.brief.core import Brief, BriefItem, render, with_guidance
from pipelines.policy.config import PolicyConfig
from serving.engine import IMPACT_UNIT
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.status import RequestError

SURFACE_NAME = {pb.SURFACE_ADS_MANAGER: "ads_manager",
                pb.SURFACE_BUSINESS_ASSISTANT: "business_assistant",
                pb.SURFACE_NOTIFICATION: "notification",
                pb.SURFACE_SALES_WORKFLOW: "sales_workflow"}
SURFACE_ENUM = {v: k for k, v in SURFACE_NAME.items()}
FEEDBACK_NAME = {pb.FEEDBACK_TYPE_SHOWN: "shown", pb.FEEDBACK_TYPE_CLICKED: "clicked",
                 pb.FEEDBACK_TYPE_APPLIED: "applied", pb.FEEDBACK_TYPE_DISMISSED: "dismissed",
                 pb.FEEDBACK_TYPE_SNOOZED: "snoozed", pb.FEEDBACK_TYPE_IGNORED: "ignored"}
REASON_NAME = {pb.DISMISS_REASON_NOT_RELEVANT: "not_relevant",
               pb.DISMISS_REASON_ALREADY_DONE: "already_done",
               pb.DISMISS_REASON_TOO_EXPENSIVE: "too_expensive",
               pb.DISMISS_REASON_DISAGREE_WITH_ESTIMATE: "disagree_with_estimate",
               pb.DISMISS_REASON_OTHER: "other"}
MAX_EVENT_ID = 128
MAX_BOOK = 200
MAX_RECOMMENDATION_ID = 128
BRIEF_WORDS = (50, 2000, 400)  # the word budget a brief may ask for: lowest, highest, default
BRIEF_RECOMMENDATIONS = (0, 10, 3)  # top recommendations in a brief: lowest, highest, default


def advertiser_id(value: int, field: str = "advertiser_id") -> int:
    if value < 0:
        raise RequestError(f"{field} must be an account id ≥ 0, got {value}")
    return value


def required_advertiser(req) -> int:
    if not req.HasField("advertiser_id"):
        raise RequestError("advertiser_id is required")
    return advertiser_id(req.advertiser_id)


def surface(value: int) -> str:
    if value not in SURFACE_NAME:
        raise RequestError(f"surface must be one of {', '.join(pb.Surface.keys()[1:])}, got "
                           f"{pb.Surface.Name(value) if value in pb.Surface.values() else value}")
    return SURFACE_NAME[value]


def in_range(value: int, field: str, lo: int, hi: int) -> int:
    if not lo <= value <= hi:
        raise RequestError(f"{field} must be between {lo} and {hi} (0: default), got {value}")
    return value


def recommend(req: pb.RecommendRequest) -> dict:
    if req.campaign_id < 0:
        raise RequestError(f"campaign_id must be ≥ 0 (0: every campaign), got {req.campaign_id}")
    return {"advertiser_id": required_advertiser(req), "campaign_id": req.campaign_id,
            "surface": surface(req.surface), "max_items": in_range(req.max_items, "max_items",
                                                                   0, 20)}


def book(req: pb.RecommendForBookRequest) -> dict:
    if len(req.advertiser_ids) > MAX_BOOK:
        raise RequestError(f"advertiser_ids holds {len(req.advertiser_ids)} accounts; at most "
                           f"{MAX_BOOK} per request")
    ids = [advertiser_id(a, "advertiser_ids") for a in req.advertiser_ids]
    if len(set(ids)) != len(ids):
        raise RequestError("advertiser_ids must not repeat an account")
    return {"advertiser_ids": ids,
            "max_accounts": in_range(req.max_accounts, "max_accounts", 0, MAX_BOOK) or 20,
            "items_per_account": in_range(req.items_per_account, "items_per_account", 0, 10) or 3}


def feedback(req: pb.LogFeedbackRequest, policy: PolicyConfig) -> dict:
    """A snooze of 0 days gets the policy's default; one longer than its maximum is refused."""
    if not req.event_id or len(req.event_id) > MAX_EVENT_ID:
        raise RequestError(f"event_id must be 1 to {MAX_EVENT_ID} characters, got "
                           f"{len(req.event_id)}")
    if not req.recommendation_id:
        raise RequestError("recommendation_id is required")
    if req.type not in FEEDBACK_NAME:
        raise RequestError(f"type must be one of {', '.join(pb.FeedbackType.keys()[1:])}")
    kind = FEEDBACK_NAME[req.type]
    if kind == "dismissed" and req.dismiss_reason not in REASON_NAME:
        raise RequestError("a dismissal needs dismiss_reason (one of "
                           f"{', '.join(pb.DismissReason.keys()[1:])})")
    if kind != "dismissed" and req.dismiss_reason:
        raise RequestError("dismiss_reason is only for FEEDBACK_TYPE_DISMISSED")
    if kind != "snoozed" and req.snooze_days:
        raise RequestError("snooze_days is only for FEEDBACK_TYPE_SNOOZED")
    return {"event_id": req.event_id, "recommendation_id": req.recommendation_id, "type": kind,
            "dismiss_reason": REASON_NAME.get(req.dismiss_reason) if kind == "dismissed" else None,
            "snooze_days": (in_range(req.snooze_days, "snooze_days", 0, policy.max_snooze_days)
                            or policy.default_snooze_days) if kind == "snoozed" else None}


def brief(req: pb.GetBriefRequest) -> dict:
    """The brief's account, word budget and number of recommendations (defaults filled in)."""
    lo, hi, default = BRIEF_WORDS
    words = req.max_words or default
    if not lo <= words <= hi:
        raise RequestError(f"max_words must be between {lo} and {hi} (0: {default}), got "
                           f"{req.max_words}")
    lo_r, hi_r, default_r = BRIEF_RECOMMENDATIONS
    n = req.max_recommendations if req.HasField("max_recommendations") else default_r
    if not lo_r <= n <= hi_r:
        raise RequestError(f"max_recommendations must be between {lo_r} and {hi_r} (unset: "
                           f"{default_r}), got {n}")
    return {"advertiser_id": required_advertiser(req), "max_words": words,
            "max_recommendations": n}


def recommendation_id(req: pb.ExplainRequest) -> str:
    if not req.recommendation_id or len(req.recommendation_id) > MAX_RECOMMENDATION_ID:
        raise RequestError(f"recommendation_id must be 1 to {MAX_RECOMMENDATION_ID} characters, "
                           f"got {len(req.recommendation_id)}")
    return req.recommendation_id


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _reasons(pairs: list[tuple[str, str]]) -> list[pb.Reason]:
    return [pb.Reason(signal=s, sentence=t) for s, t in pairs]


def recommendation(item: dict) -> pb.Recommendation:
    low, mid, high = (_finite(x) for x in item["impact"])
    return pb.Recommendation(
        recommendation_id=item["recommendation_id"], action_type=item["action_type"],
        category=item["category"], campaign_id=item["campaign_id"], item_id=item["item_id"],
        title=item["title"], description=item["description"], parameters=item["parameters"],
        reasons=_reasons(item["reasons"]),
        adoption_probability=item["adoption_probability"],
        dismissal_probability=item["dismissal_probability"],
        expected_impact=pb.Impact(expected=mid, unit=IMPACT_UNIT, low=low, high=high),
        rank=item["rank"], propensity=item["propensity"], score_uplift=item["score_uplift"],
        no_supporting_signal=not item["reasons"])


def slate(result: dict, model_version: str) -> pb.RecommendResponse:
    return pb.RecommendResponse(
        advertiser_id=result["advertiser_id"], surface=SURFACE_ENUM[result["surface"]],
        slate_id=result["slate_id"], items=[recommendation(i) for i in result["items"]],
        guidance_score=result["guidance_score"], model_version=model_version,
        degraded=bool(result["degraded"]), degraded_reason=result["degraded"],
        empty_reason=result["empty_reason"], empty_message=result["empty_message"],
        empty_detail=result["empty_detail"])


def account(result: dict) -> pb.AccountGuidance:
    return pb.AccountGuidance(
        advertiser_id=result["advertiser_id"], available_impact=result["available_impact"],
        impact_unit=IMPACT_UNIT, guidance_score=result["guidance_score"],
        items=[recommendation(i) for i in result["items"]])


def _signal(s: dict) -> pb.Signal:
    v = s["value"]
    text = "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
    return pb.Signal(name=s["name"], value=text, unit=s["unit"] or "", sentence=s["sentence"],
                     known=v is not None)


def _groups(groups: dict) -> list[pb.SignalGroup]:
    return [pb.SignalGroup(source=g, signals=[_signal(s) for s in items])
            for g, items in groups.items()]


def context(ctx: dict) -> pb.GetContextResponse:
    return pb.GetContextResponse(
        advertiser_id=ctx["advertiser_id"], as_of=ctx["as_of"], snapshot=ctx["snapshot"],
        groups=_groups(ctx["signals"]),
        campaigns=[pb.CampaignContext(campaign_id=c["campaign_id"], groups=_groups(c["signals"]))
                   for c in ctx["campaigns"]])


def explanation(e: dict) -> pb.ExplainResponse:
    low, mid, high = (_finite(x) for x in e["impact"])
    r = pb.ExplainResponse(
        recommendation_id=e["recommendation_id"], slate_id=e["slate_id"],
        advertiser_id=e["advertiser_id"], action_type=e["action_type"], category=e["category"],
        campaign_id=e["campaign_id"], item_id=e["item_id"], title=e["title"],
        description=e["description"], parameters=e["parameters"],
        surface=SURFACE_ENUM[e["surface"]], rank=e["rank"],
        adoption_probability=e["adoption_probability"],
        dismissal_probability=e["dismissal_probability"],
        expected_impact=pb.Impact(expected=mid, unit=IMPACT_UNIT, low=low, high=high),
        propensity=e["propensity"], policy=e["policy"], degraded=e["degraded"],
        model_version=e["model_version"], model_snapshot=e["model_snapshot"],
        reasons=_reasons(e["reasons"]), no_supporting_signal=not e["reasons"],
        as_of=e["as_of"], snapshot=e["snapshot"])
    r.served_at.FromMilliseconds(e["served_at_ms"])
    return r


def _brief_item(it: BriefItem) -> pb.BriefItem:
    return pb.BriefItem(
        signal=it.signal, level=it.level, campaign_id=it.campaign_id or 0,
        value=float(it.value), unit=it.unit or "", sentence=it.sentence, line=it.line,
        past_value=it.past_value, own_change=it.own_change, peer_share=it.peer_share,
        peer_z=it.peer_z, own_z=it.own_z, unusualness=it.unusualness,
        bears_on=list(it.bears_on), categories=list(it.categories), score=it.score)


def _preview(item: dict) -> pb.Recommendation:
    """A brief's recommendation: not served, so no id and no propensity."""
    r = recommendation(item)
    r.ClearField("recommendation_id")
    r.ClearField("propensity")
    return r


def brief_response(brief: Brief, snapshot: str, slate: dict, model_version: str
                   ) -> pb.GetBriefResponse:
    """`brief` (a Brief of `snapshot`) with the guidance score and items of `slate`, the
    assistant's unlogged slate (Engine.slate's result) scored by `model_version`."""
    full = with_guidance(brief, slate["guidance_score"], slate["items"])
    return pb.GetBriefResponse(
        advertiser_id=brief.advertiser_id, as_of=brief.as_of, snapshot=snapshot,
        items=[_brief_item(it) for it in brief.items], words=brief.words,
        guidance_score=slate["guidance_score"],
        recommendations=[_preview(i) for i in slate["items"]], model_version=model_version,
        degraded=bool(slate["degraded"]), degraded_reason=slate["degraded"], text=render(full))
