"""`guidance mcp`: the MCP server on its own, over stdio (desktop agents) or streamable HTTP.

Beside the gRPC app on Ray Serve it runs with `guidance serve --mcp-port P` instead."""

from __future__ import annotations

from typing import Optional

import typer

from cli.common import run_job
from serving.mcp.config import ADDRESS_ENV, TOKEN_ENV


def mcp_cmd(
    stdio: bool = typer.Option(False, "--stdio", help="Talk over stdin/stdout (one desktop "
                                                      "agent, with --token) instead of HTTP."),
    port: int = typer.Option(8000, help="HTTP port; the endpoint is http://HOST:PORT/mcp."),
    host: str = typer.Option("127.0.0.1", help="HTTP interface (0.0.0.0: every interface, "
                                               "no Host-header check)."),
    address: str = typer.Option("localhost:9000", "--address", envvar=ADDRESS_ENV,
                                help="host:port of the guidance gRPC service."),
    token: Optional[str] = typer.Option(None, "--token", envvar=TOKEN_ENV,
                                        help="Bearer token for --stdio (over HTTP each "
                                             "request sends its own)."),
    timeout: float = typer.Option(10.0, help="Seconds each call to the service may take."),
) -> None:
    """Serve the guidance tools (account brief, recommend, explain, sales book, feedback) and
    resources (signals, actions) to LLM agents over the Model Context Protocol."""
    def job():
        from pipelines.errors import ConfigError
        from serving.mcp.config import McpConfig
        from serving.mcp.server import run_http, run_stdio

        cfg = McpConfig(address=address, timeout_s=timeout, host=host, port=port)
        if not stdio:
            from serving.run import check_port_free

            check_port_free(port, "--port")
            return run_http(cfg)
        if not token:
            raise ConfigError(f"--stdio needs --token (or {TOKEN_ENV}): a token from "
                              "`guidance tokens create`")
        return run_stdio(cfg, token)

    run_job(job)
