"""The RPCs over the engine, independent of the transport: the Ray Serve ingress and the
plain `grpc.aio` baseline both call `GuidanceService.call`.

One model version's state (snapshot data, retriever, engine, in-process ranker) is built aside
and swapped in with one assignment; a request holds the state it started with, so a swap never
fails a request in flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import grpc
import numpy as np
import ray.exceptions
import ray.serve.exceptions

from pipelines.feedback.log import open_log
from pipelines.errors import NotFoundError
from pipelines.feedback.records import FeedbackEvent, Impression, RankerInput, encode_row
from pipelines.policy.config import PolicyConfig
from pipelines.registry import store
from pipelines.storage.root import Root
from serving import convert
from serving.auth import TokenStore
from serving.briefs import BriefData
from serving.config import ServeConfig
from serving.data import ServingData
from serving.engine import Engine, Plan
from serving.explain import explanation
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.ranker import RankerCore, SnapshotMismatch
from serving.retriever import Retriever
from serving.status import RequestError, Unavailable, log, status_of

# A remote ranker: (campaign ids, candidate columns[, True]) → scores with the ranker's "version";
# the third argument, passed only when set, asks for the encoded rows too ("numeric",
# "categorical"), so an unsampled request sends and receives nothing more.
RemoteRanker = Callable[..., Awaitable[dict]]
# Ranker failures that are outages, not bugs: its replica died or is overloaded, or it serves
# another snapshot for a moment during a swap. They degrade the answer; anything else is a bug.
OUTAGES = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError,
           ray.serve.exceptions.BackPressureError, ray.serve.exceptions.DeploymentUnavailableError,
           ray.serve.exceptions.ReplicaUnavailableError, SnapshotMismatch)


def ranker_error(e: BaseException) -> BaseException:
    """The error the ranker itself raised: a remote replica's comes wrapped in a RayTaskError."""
    while isinstance(e, ray.exceptions.RayTaskError) and e.cause is not None:
        e = e.cause
    return e


# Each kind of degraded answer and how its reason begins: `_scores` writes the reasons from
# this table, and the metrics read a reason's kind back through `degraded_kind`.
DEGRADED_REASONS = {"ranker_timeout": "ranker slower than", "ranker_unavailable":
                    "ranker unavailable", "ranker_error": "ranker error"}
BOOK_SURFACE = "sales_workflow"  # the surface a rep's book is planned for
BRIEF_SURFACE = "business_assistant"  # the surface a brief's recommendations are ranked for


def degraded_kind(reason: str) -> str:
    """The kind of a degraded answer's reason (ranker_timeout, ranker_unavailable, ranker_error),
    or "other" for a reason this service does not give."""
    return next((k for k, prefix in DEGRADED_REASONS.items() if reason.startswith(prefix)),
                "other")


def ranker_inputs(impressions: list[Impression], rows: np.ndarray, scores: dict,
                  version: str) -> list[RankerInput]:
    """What the ranker saw and said for each served item: `rows` are the impressions' rows in
    the scored candidates (rank order), `scores` the ranker's answer with its encoded rows,
    `version` the ranker version that scored them."""
    out = []
    for imp, i in zip(impressions, rows):
        numeric, categorical = encode_row(scores["numeric"][i], scores["categorical"][i])
        low, expected, high = (float(x) for x in scores["impact"][i])
        out.append(RankerInput(
            recommendation_id=imp.recommendation_id, advertiser_id=imp.advertiser_id,
            campaign_id=imp.campaign_id, item_id=imp.item_id, action_type=imp.action_type,
            surface=imp.surface, served_at_ms=imp.served_at_ms, model_version=version,
            numeric=numeric, categorical=categorical, p_adopt=float(scores["p_adopt"][i]),
            p_dismiss=float(scores["p_dismiss"][i]), impact_low=low, impact_expected=expected,
            impact_high=high))
    return out


def greedy(policy: PolicyConfig, surface: str) -> PolicyConfig:
    """`policy` with `surface` choosing its most likely slate: no exploration draw (temperature
    0, no floor), its scores, weights and caps per category unchanged."""
    surf = policy.surface(surface).model_copy(update={"temperature": 0.0,
                                                      "exploration_floor": 0.0})
    return policy.model_copy(update={"surfaces": policy.surfaces.model_copy(
        update={surface: surf})})


class ModelState:
    """Everything one registry version needs to answer requests in this process."""

    def __init__(self, cfg: ServeConfig, version: str, log, with_ranker: bool):
        root = Root(cfg.root)
        meta, files = store.load(root, version)
        self.version = version
        self.data = ServingData(root, meta["snapshot"])
        retriever = Retriever(files, meta, self.data)
        self.engine = Engine(self.data, retriever, cfg.policy, log, version)
        # the brief's recommendations: the assistant's most likely slate, never logged
        self.preview = Engine(self.data, retriever, greedy(cfg.policy, BRIEF_SURFACE), log,
                              version)
        self._root, self._briefs, self._briefs_lock = root, None, threading.Lock()
        self.ranker = RankerCore(version, files, self.data.context) if with_ranker else None
        self.started = time.monotonic()

    def now_ms(self) -> int:
        return self.data.now_ms(time.monotonic() - self.started)

    @property
    def briefs(self) -> BriefData:
        """The briefs' past signals and peer reference, built on the first GetBrief rather
        than on every model load (about 1.7 s for 2,000 accounts) that may never serve one."""
        with self._briefs_lock:
            if self._briefs is None:
                self._briefs = BriefData(self._root, self.data)
            return self._briefs


class GuidanceService:
    def __init__(self, cfg: ServeConfig, remote_ranker: RemoteRanker | None = None):
        self.cfg = cfg
        self.root = Root(cfg.root)
        self.tokens = TokenStore(self.root)
        self.log = open_log(cfg.log_uri())
        self.remote_ranker = remote_ranker
        self.state: ModelState | None = None
        self.rng = np.random.default_rng()
        self.degraded: Counter[str] = Counter()  # degraded answers by kind of reason

    def load(self, version: str | None = None) -> str:
        """Load a registry version (default: current) aside, then swap it in."""
        version = version or store.current(self.root)
        if self.state is None or self.state.version != version:
            self.state = ModelState(self.cfg, version, self.log,
                                    with_ranker=self.remote_ranker is None)
        return version

    # -- scoring ---------------------------------------------------------------------------

    async def _scores(self, state: ModelState, plan: Plan, with_inputs: bool = False
                      ) -> tuple[dict, str, str]:
        """(scores, model version, degraded reason or ''); `with_inputs` asks the ranker for
        the encoded rows it scored too (the fallback has none)."""
        if len(plan) == 0:
            return state.engine.fallback_scores(plan), state.version, ""
        try:
            if self.remote_ranker is None:
                return (state.ranker.score(plan.campaign_id, plan.features, with_inputs),
                        state.version, "")
            asked = (plan.campaign_id, plan.features) + ((True,) if with_inputs else ())
            out = await asyncio.wait_for(self.remote_ranker(*asked), self.cfg.ranking_timeout_s)
            return out, out["version"], ""
        except asyncio.TimeoutError:
            kind = "ranker_timeout"
            reason = f"{DEGRADED_REASONS[kind]} {self.cfg.ranking_timeout_s:g} s"
        except Exception as e:  # noqa: BLE001  (classified below; a bug is logged, never hidden)
            error = ranker_error(e)
            if isinstance(error, OUTAGES):
                kind = "ranker_unavailable"
                reason = f"{DEGRADED_REASONS[kind]} ({type(error).__name__})"
                log.warning("ranker unavailable, answering degraded: %s: %s",
                            type(error).__name__, error)
            else:
                if not self.cfg.degrade_on_ranker_error:
                    raise
                kind = "ranker_error"
                reason = f"{DEGRADED_REASONS[kind]} ({type(error).__name__})"
                log.error("ranker raised %s, answering degraded", type(error).__name__,
                          exc_info=error)
        self.degraded[kind] += 1
        return state.engine.fallback_scores(plan), state.version, reason

    def _log_inputs(self) -> bool:
        """Whether this request's ranker inputs are logged: a draw with the share of
        `ranker_input_share` (no draw when it is 0 or 1)."""
        share = self.cfg.ranker_input_share
        return share >= 1 or (share > 0 and self.rng.random() < share)

    async def _slate(self, state: ModelState, plan: Plan, log_inputs: bool = False
                     ) -> tuple[dict, str]:
        scores, version, degraded = await self._scores(state, plan, log_inputs)
        result, impressions, rows = state.engine.slate(plan, scores, self.rng, degraded)
        inputs = (ranker_inputs(impressions, rows, scores, version)
                  if "numeric" in scores else [])  # a degraded answer's fallback has none
        if impressions:
            await asyncio.to_thread(self.log.append_slate, impressions, inputs)
        return result, version

    # -- the RPCs ----------------------------------------------------------------------------

    async def recommend(self, req: pb.RecommendRequest, scope) -> pb.RecommendResponse:
        args = convert.recommend(req)
        scope.check(args["advertiser_id"])
        state = self.state
        plan = state.engine.plan(now_ms=state.now_ms(), **args)
        result, version = await self._slate(state, plan, self._log_inputs())
        return convert.slate(result, version)

    async def recommend_for_book(self, req: pb.RecommendForBookRequest, scope
                                 ) -> pb.RecommendForBookResponse:
        args = convert.book(req)
        ids = args["advertiser_ids"] or sorted(scope.advertisers)
        if not ids:
            raise RequestError("advertiser_ids is empty and the token has no book")
        for a in ids:
            scope.check(a)
        state = self.state
        now = state.now_ms()
        plans = [state.engine.plan(a, 0, BOOK_SURFACE, args["items_per_account"], now)
                 for a in ids]
        log_inputs = self._log_inputs()  # one draw per request, for all its accounts
        results = await asyncio.gather(*(self._slate(state, p, log_inputs) for p in plans))
        ranked = sorted(results, key=lambda r: -r[0]["available_impact"])[:args["max_accounts"]]
        degraded = next((r["degraded"] for r, _ in results if r["degraded"]), "")
        version = results[0][1] if results else state.version
        return pb.RecommendForBookResponse(
            accounts=[convert.account(r) for r, _ in ranked], model_version=version,
            degraded=bool(degraded), degraded_reason=degraded)

    async def log_feedback(self, req: pb.LogFeedbackRequest, scope) -> pb.LogFeedbackResponse:
        args = convert.feedback(req, self.cfg.policy)
        imp = await asyncio.to_thread(self.log.impression, args["recommendation_id"])
        if imp is None:
            raise NotFoundError(f"recommendation {args['recommendation_id']!r} not found")
        scope.check(imp.advertiser_id)
        event = FeedbackEvent(
            event_id=args["event_id"], recommendation_id=imp.recommendation_id,
            advertiser_id=imp.advertiser_id, campaign_id=imp.campaign_id, item_id=imp.item_id,
            action_type=imp.action_type, type=args["type"], dismiss_reason=args["dismiss_reason"],
            snooze_days=args["snooze_days"], occurred_at_ms=self.state.now_ms())
        new = await asyncio.to_thread(self.log.append_feedback, event)
        return pb.LogFeedbackResponse(duplicate=not new)

    async def get_context(self, req: pb.GetContextRequest, scope) -> pb.GetContextResponse:
        scope.check(convert.required_advertiser(req))
        return convert.context(self.state.engine.context(req.advertiser_id,
                                                         req.include_campaigns))

    async def get_brief(self, req: pb.GetBriefRequest, scope) -> pb.GetBriefResponse:
        """The account's brief and, without logging anything, the assistant's most likely
        slate of `max_recommendations` items (the daily cap ignored: a brief shows nothing)."""
        args = convert.brief(req)
        advertiser = args["advertiser_id"]
        scope.check(advertiser)
        state = self.state
        # the brief's core is CPU work of tens of ms: off the event loop
        brief = await asyncio.to_thread(state.briefs.brief, advertiser, args["max_words"])
        plan = state.engine.plan(advertiser, 0, BRIEF_SURFACE, 0, state.now_ms())
        plan = dataclasses.replace(plan, k=args["max_recommendations"])
        scores, version, degraded = await self._scores(state, plan)
        result, _, _ = state.preview.slate(plan, scores, self.rng, degraded)
        return convert.brief_response(brief, state.data.snapshot, result, version)

    async def explain(self, req: pb.ExplainRequest, scope) -> pb.ExplainResponse:
        rec_id = convert.recommendation_id(req)
        imp = await asyncio.to_thread(self.log.impression, rec_id)
        if imp is None:
            raise NotFoundError(f"recommendation {rec_id!r} not found: no slate served it")
        scope.check(imp.advertiser_id)
        state = self.state
        return convert.explanation(explanation(
            state.data, imp, self._snapshot_of(state, imp.model_version)))

    def _snapshot_of(self, state: ModelState, version: str) -> str:
        """The snapshot registry version `version` serves ("" when the registry no longer
        holds it)."""
        if version == state.version:
            return state.data.snapshot
        path = f"registry/{version}/metadata.json"
        if not self.root.exists(path):
            return ""
        with self.root.fs.open_input_stream(self.root.join(path)) as f:
            return json.loads(f.read())["snapshot"]

    async def call(self, method: str, request, metadata) -> tuple[object, grpc.StatusCode, str]:
        """(response, code, details): errors become a status and an empty response."""
        try:
            if self.state is None:
                raise Unavailable("the service is still loading its model")
            scope = self.tokens.scope(metadata)
            return await getattr(self, method)(request, scope), grpc.StatusCode.OK, ""
        except Exception as e:  # noqa: BLE001  (the boundary: every error becomes a status)
            code, details = status_of(e)
            return None, code, details
