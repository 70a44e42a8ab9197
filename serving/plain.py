"""The guidance service on a plain `grpc.aio` server, without Ray: one process, the ranker
in-process.

A deployment mode of its own where Ray Serve's scaling, batching and hot swap are not needed
(one host, one model version for the life of the process), and the baseline that
`benchmarks/serve.py` measures Serve against. It answers the same RPCs through the same
`GuidanceService.call`, plus grpc.health.v1 (SERVING once started: the model loads first).

    .venv/bin/python -m serving.plain --root DIR --port 9000 [--config serve.yaml]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal

import grpc
from grpc_health.v1 import health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from serving.config import ServeConfig
from serving.gen.guidance.v1 import guidance_pb2_grpc as pb_grpc
from serving.service import GuidanceService


class PlainServicer(pb_grpc.GuidanceServiceServicer):
    """guidance.v1.GuidanceService over an in-process GuidanceService."""

    def __init__(self, service: GuidanceService):
        self.service = service

    async def _call(self, method: str, request, context: grpc.aio.ServicerContext):
        response, code, details = await self.service.call(
            method, request, context.invocation_metadata())
        if response is None:
            await context.abort(code, details)
        return response

    async def Recommend(self, request, context):
        return await self._call("recommend", request, context)

    async def RecommendForBook(self, request, context):
        return await self._call("recommend_for_book", request, context)

    async def LogFeedback(self, request, context):
        return await self._call("log_feedback", request, context)

    async def GetContext(self, request, context):
        return await self._call("get_context", request, context)

    async def GetBrief(self, request, context):
        return await self._call("get_brief", request, context)

    async def Explain(self, request, context):
        return await self._call("explain", request, context)


async def serve_plain(cfg: ServeConfig, port: int, ready=None) -> None:
    """Load the registry version (`cfg.model_version` or current) and serve on `port` until
    SIGINT or SIGTERM; `ready` (an Event), if given, is set once the port accepts calls."""
    service = GuidanceService(cfg, remote_ranker=None)
    service.load(cfg.model_version)
    limit = cfg.max_message_bytes
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", limit),
                                      ("grpc.max_send_message_length", limit)])
    pb_grpc.add_GuidanceServiceServicer_to_server(PlainServicer(service), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_aio.HealthServicer(), server)
    if server.add_insecure_port(f"[::]:{port}") == 0:
        raise OSError(f"cannot listen on port {port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    await stop.wait()
    await server.stop(grace=2.0)


def _run(config: dict, port: int, ready) -> None:
    asyncio.run(serve_plain(ServeConfig(**config), port, ready))


def start_process(cfg: ServeConfig, port: int, timeout_s: float = 300.0
                  ) -> multiprocessing.Process:
    """The plain server in a child process (spawned: its own interpreter and GIL), returned
    once it serves; stop it with `.terminate()` (SIGTERM) and `.join()`."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_run, args=(cfg.model_dump(mode="json"), port, ready),
                       name="guidance-plain", daemon=True)
    proc.start()
    if not ready.wait(timeout_s) or not proc.is_alive():
        proc.terminate()
        proc.join()
        raise RuntimeError(f"the plain gRPC server did not start within {timeout_s:g} s "
                           f"(exit code {proc.exitcode})")
    return proc


def main() -> None:
    from serving.run import ServeOptions, load_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--config", default=None, help="ServeConfig YAML file.")
    args = ap.parse_args()
    cfg = load_config(ServeOptions(root=args.root, config=args.config, port=args.port,
                                   watch=False))
    asyncio.run(serve_plain(cfg, cfg.grpc_port))


if __name__ == "__main__":
    main()
