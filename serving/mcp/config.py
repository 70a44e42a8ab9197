"""The MCP server's one typed config: where the gRPC service is and where to listen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MCP_APP = "mcp"  # the Serve application's name
MCP_ROUTE = "/mcp"  # its route prefix on Serve's HTTP proxy; the gRPC app keeps "/"
TOKEN_ENV = "GUIDANCE_TOKEN"  # the bearer token of a stdio server (one user per process)
ADDRESS_ENV = "GUIDANCE_ADDRESS"


class McpConfig(BaseModel):
    """The MCP server of the guidance service; the Serve app's `args` (less host and port,
    which are the HTTP proxy's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field("localhost:9000", min_length=1,
                         description="host:port of the guidance gRPC service (Serve's gRPC "
                                     "proxy) that the tools call.")
    timeout_s: float = Field(10.0, gt=0, le=600,
                             description="Deadline of each gRPC call: past it the tool answers "
                                         "with an error instead of waiting.")
    replicas: int = Field(1, ge=1, le=64, description="MCP replicas on Serve.")
    cpus: float = Field(0.25, ge=0, le=64, description="CPUs reserved per MCP replica.")
    host: str = Field("127.0.0.1", min_length=1,
                      description="Interface the HTTP endpoint listens on (Serve's HTTP proxy, "
                                  "or the standalone server).")
    port: int = Field(8000, ge=1, le=65535,
                      description="Port of the HTTP endpoint (Serve's HTTP proxy, or the "
                                  "standalone server); MCP is at /mcp on it.")

    def app_args(self) -> dict:
        """The Serve application's args: host and port belong to the HTTP proxy, and leaving
        them out keeps the replicas when only they change."""
        return self.model_dump(mode="json", exclude={"host", "port"})

    def url(self) -> str:
        return f"http://{self.host}:{self.port}{MCP_ROUTE}"
