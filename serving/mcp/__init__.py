"""The guidance service as tools an LLM agent calls over the Model Context Protocol.

The MCP server is a client of the gRPC service, as any product surface is: every tool call is
one gRPC call carrying the caller's bearer token, so the service's scoping applies unchanged.
It runs as a Ray Serve application over streamable HTTP beside the gRPC app (`serve_app`), or
on its own over stdio or HTTP (`guidance mcp`).
"""
