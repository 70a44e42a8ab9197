"""Between the proto messages and the engine's plain values: request validation on the way in,
response messages on the way out."""

from __future__ import annotations

import math

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


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def recommendation(item: dict) -> pb.Recommendation:
    low, mid, high = (_finite(x) for x in item["impact"])
    return pb.Recommendation(
        recommendation_id=item["recommendation_id"], action_type=item["action_type"],
        category=item["category"], campaign_id=item["campaign_id"], item_id=item["item_id"],
        title=item["title"], description=item["description"], parameters=item["parameters"],
        reasons=[pb.Reason(signal=s, sentence=t) for s, t in item["reasons"]],
        adoption_probability=item["adoption_probability"],
        dismissal_probability=item["dismissal_probability"],
        expected_impact=pb.Impact(expected=mid, unit=IMPACT_UNIT, low=low, high=high),
        rank=item["rank"], propensity=item["propensity"], score_uplift=item["score_uplift"])


def slate(result: dict, model_version: str) -> pb.RecommendResponse:
    return pb.RecommendResponse(
        advertiser_id=result["advertiser_id"], surface=SURFACE_ENUM[result["surface"]],
        slate_id=result["slate_id"], items=[recommendation(i) for i in result["items"]],
        guidance_score=result["guidance_score"], model_version=model_version,
        degraded=bool(result["degraded"]), degraded_reason=result["degraded"])


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
