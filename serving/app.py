"""The Ray Serve application: a gRPC ingress and, where the config asks for it, a batched ranker.

Deployments are split only where resources differ: every hop between deployments costs more
CPU than a request's own work on a small machine, so the ingress runs validation, auth,
context, candidates, retrieval and policy in-process; the ranker is its own deployment only so
it can batch requests and sit on GPUs (`ranker: deployment`), or runs inside the ingress
(`ranker: local`).

A model version is hot-swapped through `user_config`: Serve calls `reconfigure` on the live
replicas, which load the version aside and swap one reference.
"""

from __future__ import annotations

import time

import numpy as np
import ray
from ray import serve
from ray.serve.config import HTTPOptions, gRPCOptions
from ray.serve.context import _get_global_client
from ray.serve.handle import DeploymentHandle
from ray.serve.schema import ApplicationStatus, ServeDeploySchema

from grpc_health.v1 import health_pb2
from pipelines.registry import store
from pipelines.storage.root import Root
from serving.config import APP_NAME, ServeConfig
from pipelines.context.online import campaign_context
from serving.gen.guidance.v1 import guidance_pb2 as pb
from serving.mcp.config import MCP_APP, MCP_ROUTE, McpConfig
from serving.metrics import ServingMetrics
from serving.ranker import RankerCore, encoded_rows
from serving.service import GuidanceService

SERVICERS = ["serving.gen.guidance.v1.guidance_pb2_grpc.add_GuidanceServiceServicer_to_server",
             "grpc_health.v1.health_pb2_grpc.add_HealthServicer_to_server"]
_NO_ACCESS_LOG = {"enable_access_log": False}  # one log line per request costs ~10 % of QPS


@serve.deployment(logging_config=_NO_ACCESS_LOG)
class Ranker:
    """The multi-task ranker, batching concurrent requests into one forward pass."""

    def __init__(self, root: str):
        self.root = Root(root)
        self.core: RankerCore | None = None

    def reconfigure(self, user_config: dict) -> None:
        version = user_config["model_version"]
        self.score.set_max_batch_size(user_config["max_batch_size"])
        self.score.set_batch_wait_timeout_s(user_config["batch_wait_timeout_s"])
        if self.core is None or self.core.version != version:
            meta, files = store.load(self.root, version)
            self.core = RankerCore(version, files, campaign_context(self.root, meta["snapshot"]))

    def check_health(self) -> None:
        if self.core is None:
            raise RuntimeError("no model loaded")

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
    async def score(self, campaign_ids: list[np.ndarray], candidates: list[dict],
                    with_inputs: list[bool]) -> list[dict]:
        """Each request's scores (RankerCore.forward) and version; a request that sets
        `with_inputs` also gets the encoded rows it was scored on."""
        core = self.core
        encoded = [core.inputs(c, f) for c, f in zip(campaign_ids, candidates)]
        merged = {k: np.concatenate([e[k] for e in encoded]) for k in encoded[0]}
        out = core.forward(merged)
        cuts = np.cumsum([len(c) for c in campaign_ids])[:-1]
        parts = {k: np.split(v, cuts) for k, v in out.items()}
        return [{**{k: parts[k][i] for k in parts}, "version": core.version,
                 **(encoded_rows(encoded[i]) if with_inputs[i] else {})}
                for i in range(len(campaign_ids))]


@serve.deployment(logging_config=_NO_ACCESS_LOG)
class GuidanceIngress:
    """Serves guidance.v1.GuidanceService (and grpc.health.v1.Health) through Serve's proxy."""

    def __init__(self, config: dict, ranker: DeploymentHandle | None = None):
        self.cfg = ServeConfig(**config)
        remote = None
        if ranker is not None:
            async def remote(campaign_ids, candidates, with_inputs=False):
                return await ranker.score.remote(campaign_ids, candidates, with_inputs)
        self.service = GuidanceService(self.cfg, remote)
        self.metrics = ServingMetrics()

    def reconfigure(self, user_config: dict) -> None:
        before = self.service.state.version if self.service.state is not None else None
        self.metrics.serving(before, self.service.load(user_config["model_version"]))

    def check_health(self) -> None:
        if self.service.state is None:
            raise RuntimeError("no model loaded")

    async def _call(self, method: str, request, grpc_context, empty):
        started = time.perf_counter()
        response, code, details = await self.service.call(
            method, request, grpc_context.invocation_metadata())
        self.metrics.call(method, request, response, code, time.perf_counter() - started)
        if response is None:
            grpc_context.set_code(code)
            grpc_context.set_details(details)
            return empty()
        return response

    async def Recommend(self, request, grpc_context):
        return await self._call("recommend", request, grpc_context, pb.RecommendResponse)

    async def RecommendForBook(self, request, grpc_context):
        return await self._call("recommend_for_book", request, grpc_context,
                                pb.RecommendForBookResponse)

    async def LogFeedback(self, request, grpc_context):
        return await self._call("log_feedback", request, grpc_context, pb.LogFeedbackResponse)

    async def GetContext(self, request, grpc_context):
        return await self._call("get_context", request, grpc_context, pb.GetContextResponse)

    async def GetBrief(self, request, grpc_context):
        return await self._call("get_brief", request, grpc_context, pb.GetBriefResponse)

    async def Explain(self, request, grpc_context):
        return await self._call("explain", request, grpc_context, pb.ExplainResponse)

    async def Check(self, request, grpc_context):
        """grpc.health.v1: SERVING once a model is loaded (for load balancers)."""
        ok = self.service.state is not None
        return health_pb2.HealthCheckResponse(
            status=health_pb2.HealthCheckResponse.SERVING if ok
            else health_pb2.HealthCheckResponse.NOT_SERVING)


def user_config(cfg: ServeConfig, version: str) -> dict:
    return {"model_version": version, "max_batch_size": cfg.max_batch_size,
            "batch_wait_timeout_s": cfg.batch_wait_timeout_s}


def build(cfg: ServeConfig, version: str | None = None):
    """The bound application for `cfg`, serving `version` (default: the registry's current)."""
    version = version or cfg.model_version or store.current(Root(cfg.root))
    uc = user_config(cfg, version)
    ranker = None
    if cfg.ranker == "deployment":
        ranker = Ranker.options(
            num_replicas=cfg.ranker_replicas, user_config=uc,
            max_queued_requests=cfg.max_queued_requests,
            max_ongoing_requests=max(cfg.max_ongoing_requests, cfg.max_batch_size),
            ray_actor_options={"num_cpus": cfg.ranker_cpus, "num_gpus": cfg.ranker_gpus},
        ).bind(cfg.root)
    # Serve's default of 5 ongoing requests makes the proxy hold the rest back with exponential
    # back-off: at 32 clients throughput fell to a tenth (benchmarks/serve.py)
    return GuidanceIngress.options(
        num_replicas=cfg.ingress_replicas, user_config=uc,
        max_queued_requests=cfg.max_queued_requests,
        max_ongoing_requests=cfg.max_ongoing_requests,
        ray_actor_options={"num_cpus": cfg.ingress_cpus},
    ).bind(cfg.model_dump(mode="json"), ranker)


def app_builder(args: dict):
    """Entry point for `serve deploy` / `serve run` (import_path: serving.app:app_builder)."""
    return build(ServeConfig(**args))


def _grpc_settings(cfg: ServeConfig) -> dict:
    return {"port": cfg.grpc_port, "grpc_servicer_functions": SERVICERS,
            "request_timeout_s": cfg.request_timeout_s}


def deploy_schema(cfg: ServeConfig, version: str, mcp: McpConfig | None = None
                  ) -> ServeDeploySchema:
    """The apps as `serve deploy` takes them: the gRPC app and, with `mcp`, the MCP app on
    the HTTP proxy at /mcp. The model version travels only in the deployments' `user_config`,
    never in the builder's args: Serve restarts replicas when an app's args change, and only
    reconfigures them in place when nothing but `user_config` does. Serve deletes every app a
    deploy does not list, so each deploy (a model swap too) lists both."""
    uc = user_config(cfg, version)
    deployments = [{"name": "GuidanceIngress", "user_config": uc}]
    if cfg.ranker == "deployment":
        deployments.append({"name": "Ranker", "user_config": uc})
    apps = [{"name": APP_NAME, "route_prefix": "/", "import_path": "serving.app:app_builder",
             "args": cfg.model_dump(mode="json", exclude={"model_version"}),
             "deployments": deployments}]
    http = {}
    if mcp is not None:
        apps.append({"name": MCP_APP, "route_prefix": MCP_ROUTE,
                     "import_path": "serving.mcp.serve_app:app_builder", "args": mcp.app_args()})
        http = {"http_options": {"host": mcp.host, "port": mcp.port}}
    return ServeDeploySchema(grpc_options=_grpc_settings(cfg), applications=apps, **http)


def deploy(cfg: ServeConfig, version: str | None = None, timeout_s: float = 600.0,
           mcp: McpConfig | None = None) -> str:
    """Start Serve (if needed) with the gRPC proxy and deploy or update the app through the
    declarative API (what `serve deploy` does), then wait until it runs. A new model version
    of a running app is a `user_config` change: live replicas reconfigure in place, so a
    client of the proxy or of a replica's own port (direct ingress) sees no restart. The
    imperative `serve.run` would not do: it gives every call a new code version, which rolls
    the replicas over.

    With `mcp`, the MCP app runs beside it on the HTTP proxy (mcp.host:mcp.port, which only
    the first start of Serve sets); pass the same `mcp` to every later deploy, or Serve
    deletes the MCP app. Clients of the gRPC proxy must then send the app's name
    (serving.client.APP_METADATA)."""
    version = version or cfg.model_version or store.current(Root(cfg.root))
    http = {} if mcp is None else {"http_options": HTTPOptions(host=mcp.host, port=mcp.port)}
    serve.start(grpc_options=gRPCOptions(**_grpc_settings(cfg)), **http)
    asked = time.time()
    _get_global_client().deploy_apps(deploy_schema(cfg, version, mcp))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        apps = serve.status().applications
        app = apps.get(APP_NAME)
        # the MCP app's args do not change with the model: only its being up is waited for
        mcp_app = apps.get(MCP_APP) if mcp is not None else None
        if mcp_app is not None and mcp_app.status == ApplicationStatus.DEPLOY_FAILED:
            raise RuntimeError(f"deploying {MCP_APP} failed: {mcp_app.message}")
        mcp_up = mcp is None or (mcp_app is not None
                                 and mcp_app.status == ApplicationStatus.RUNNING)
        if app is not None and app.last_deployed_time_s >= asked - 1:
            if app.status == ApplicationStatus.RUNNING and mcp_up:
                return version
            if app.status == ApplicationStatus.DEPLOY_FAILED:
                raise RuntimeError(f"deploying {APP_NAME} failed: {app.message}")
        time.sleep(0.2)
    raise TimeoutError(f"{APP_NAME} was not running {timeout_s:g} s after deploying {version}")


def direct_ingress_port(app: str = APP_NAME, timeout_s: float = 120.0) -> int:
    """The gRPC port the app's ingress replica serves on itself with direct ingress
    (RAY_SERVE_THROUGHPUT_OPTIMIZED=1), as the controller publishes it to load balancers (its
    target groups). A replica that restarts may come back on another port: clients ask again."""
    from ray.serve._private.common import RequestProtocol
    from ray.serve._private.constants import (
        RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT, RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT,
    )
    from ray.serve.context import _get_global_client

    controller = _get_global_client()._controller
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        groups = ray.get(controller.get_target_groups.remote(app))
        ports = [t.port for g in groups if g.protocol == RequestProtocol.GRPC for t in g.targets
                 if RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT <= t.port
                 <= RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT]
        if ports:
            return ports[0]
        time.sleep(0.5)
    raise TimeoutError(f"no direct-ingress gRPC port for app {app!r} after {timeout_s:g} s")
