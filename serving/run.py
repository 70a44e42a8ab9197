"""`guidance serve`: start a local Ray, deploy the app, hot-swap promoted models, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pipelines.errors import ConfigError
from pipelines.registry import store
from pipelines.storage.root import Root
from serving.config import APP_NAME, ServeConfig
from serving.mcp.config import McpConfig

WATCH_SECONDS = 2.0


class ServeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str = Field(description="Root folder or URI.")
    config: str | None = Field(None, description="ServeConfig YAML file.")
    port: int | None = Field(None, description="Overrides the config's grpc_port.")
    ranker: str | None = Field(None, description="Overrides the config's ranker.")
    watch: bool = Field(True, description="Follow the registry's promoted (current) model.")
    direct_ingress: bool = Field(False, description="Also serve gRPC on the ingress replica's "
                                                    "own port (RAY_SERVE_THROUGHPUT_OPTIMIZED).")
    metrics_port: int | None = Field(None, ge=1, le=65535,
                                     description="Port of Ray's Prometheus endpoint (/metrics) "
                                                 "on this node (default: one Ray picks).")
    mcp_port: int | None = Field(None, ge=1, le=65535,
                                 description="Also serve the MCP server (streamable HTTP, at "
                                             "/mcp) on Serve's HTTP proxy at this port.")


def load_config(opts: ServeOptions) -> ServeConfig:
    values: dict = {}
    if opts.config:
        try:
            values = yaml.safe_load(Path(opts.config).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read serve config {opts.config!r}: {e}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"serve config {opts.config!r} must be a mapping of ServeConfig "
                              "fields")
        if "applications" in values:  # a Serve config file: take the guidance app's args
            apps = [a for a in values["applications"] if a.get("name") == APP_NAME]
            if not apps:
                raise ConfigError(f"serve config {opts.config!r} has no application named "
                                  f"{APP_NAME!r}")
            values = dict(apps[0].get("args") or {})
    values["root"] = opts.root
    if opts.port is not None:
        values["grpc_port"] = opts.port
    if opts.ranker is not None:
        values["ranker"] = opts.ranker
    return ServeConfig(**values)


def mcp_config(cfg: ServeConfig, opts: ServeOptions) -> McpConfig | None:
    """The MCP app beside the gRPC app when `--mcp-port` asks for it: a client of the gRPC
    proxy on its own node, with the proxy's deadline."""
    if opts.mcp_port is None:
        return None
    return McpConfig(address=f"localhost:{cfg.grpc_port}", timeout_s=cfg.request_timeout_s,
                     port=opts.mcp_port)


def watch_step(cfg: ServeConfig, serving: str, mcp: McpConfig | None = None) -> str:
    """Deploy the registry's current version if it moved; returns the version now served.
    Only `guidance promote` moves `current`: a version that training registered (a candidate)
    is never picked up here. `mcp`: the MCP app deployed beside it (kept by the swap)."""
    from serving.app import deploy

    current = store.current(Root(cfg.root))
    return deploy(cfg, current, mcp=mcp) if current != serving else serving


def metrics_port() -> int:
    """The port of this node's Prometheus endpoint (Ray's metrics agent)."""
    import ray

    here = ray.get_runtime_context().get_node_id()
    return next(n["MetricsExportPort"] for n in ray.nodes() if n["NodeID"] == here)


def check_port_free(port: int, option: str) -> None:
    """Fail before starting Ray when `port` is taken (Ray's agent would fail to start)."""
    with socket.socket() as s:
        try:
            s.bind(("", port))
        except OSError as e:
            raise ConfigError(f"{option} {port} cannot be used: {e.strerror}") from None


def run(opts: ServeOptions, echo=print) -> None:
    cfg = load_config(opts)
    if opts.metrics_port is not None:
        check_port_free(opts.metrics_port, "--metrics-port")
    if opts.mcp_port is not None:
        check_port_free(opts.mcp_port, "--mcp-port")
    mcp = mcp_config(cfg, opts)
    store.current(Root(cfg.root))  # fail before starting Ray when no model is promoted
    # Serve's proxy would accept messages of up to 2 GiB otherwise.
    os.environ["RAY_SERVE_GRPC_MAX_MESSAGE_SIZE"] = str(cfg.max_message_bytes)
    if opts.direct_ingress:  # read by every Serve process, so set before Ray starts
        os.environ["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
    import ray
    from ray import serve

    from serving.app import deploy, direct_ingress_port

    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False,
             _metrics_export_port=opts.metrics_port)
    stop = threading.Event()
    # after ray.init, which installs its own handlers
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        version = deploy(cfg, mcp=mcp)
        echo(f"serving model {version} on gRPC port {cfg.grpc_port} "
             f"(ranker: {cfg.ranker}); Ctrl-C stops", )
        if mcp is not None:
            echo(f"MCP (streamable HTTP): {mcp.url()}")
        echo(f"metrics: http://127.0.0.1:{metrics_port()}/metrics")
        if opts.direct_ingress:
            echo(f"direct ingress: the ingress replica answers on port {direct_ingress_port()} "
                 f"(a replica that restarts may come back on another port)")
        while not stop.wait(WATCH_SECONDS):
            if opts.watch:
                new = watch_step(cfg, version, mcp)
                if new != version:
                    echo(f"model {new} promoted: swapped in without a restart")
                    version = new
    finally:
        echo("stopping")
        serve.shutdown()
        ray.shutdown()
