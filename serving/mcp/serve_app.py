"""The MCP server as a Ray Serve application: streamable HTTP at /mcp on Serve's HTTP proxy,
beside the gRPC app, scaled by Serve like the rest.

Each replica builds the server from its config (`__serve_build_asgi_app__`), and Serve runs the
ASGI app's lifespan there, which starts the SDK's session manager. Stateless HTTP with JSON
answers: any replica answers any request, so clients of the older handshake protocol work across
replicas too (a stateful session lives on one replica), and nothing streams through the proxy.
"""

from __future__ import annotations

from ray import serve

from serving.mcp.config import McpConfig


@serve.deployment(logging_config={"enable_access_log": False})
@serve.ingress()
class McpIngress:
    def __init__(self, config: dict):
        self.cfg = McpConfig(**config)

    def __serve_build_asgi_app__(self):
        from serving.mcp.server import build_server

        # host 0.0.0.0 turns the SDK's DNS-rebinding check off: behind the proxy the Host header
        # is whatever name the cluster is reached by, and the tools need a bearer token anyway
        return build_server(self.cfg).streamable_http_app(
            streamable_http_path="/", stateless_http=True, json_response=True, host="0.0.0.0")


def build(cfg: McpConfig):
    """The bound application for `cfg`."""
    return McpIngress.options(num_replicas=cfg.replicas,
                              ray_actor_options={"num_cpus": cfg.cpus}
                              ).bind(cfg.app_args())


def app_builder(args: dict):
    """Entry point for `serve deploy` (import_path: serving.mcp.serve_app:app_builder)."""
    return build(McpConfig(**args))
