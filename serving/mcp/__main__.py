"""`python -m serving.mcp`: the MCP server over stdio for a desktop agent, configured from the
environment (GUIDANCE_ADDRESS, GUIDANCE_TOKEN), as `guidance mcp --stdio` is."""

from __future__ import annotations

import os
import sys

from serving.mcp.config import ADDRESS_ENV, TOKEN_ENV, McpConfig
from serving.mcp.server import run_stdio

if __name__ == "__main__":
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        sys.exit(f"error: set {TOKEN_ENV} to a token from `guidance tokens create`")
    run_stdio(McpConfig(address=os.environ.get(ADDRESS_ENV, "localhost:9000")), token)
