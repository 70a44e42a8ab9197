"""The project's errors as gRPC status codes, with a message and never a stack trace."""

from __future__ import annotations

import asyncio
import logging
import uuid

import grpc
from pydantic import ValidationError

from pipelines.errors import ConfigError, DataError, GuidanceError, NotFoundError
from pipelines.feedback.log import FeedbackConflict
from serving.auth import AuthError, ScopeError

log = logging.getLogger("guidance.serving")


class RequestError(GuidanceError):
    """A request field is malformed or out of range."""


class Unavailable(GuidanceError):
    """The service cannot answer yet (still loading its model)."""


class DeadlineError(GuidanceError):
    """The request ran past its deadline."""


_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (AuthError, grpc.StatusCode.UNAUTHENTICATED),
    (ScopeError, grpc.StatusCode.PERMISSION_DENIED),
    (RequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (DataError, grpc.StatusCode.INVALID_ARGUMENT),
    (ConfigError, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (FeedbackConflict, grpc.StatusCode.ALREADY_EXISTS),
    (DeadlineError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (asyncio.TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
)


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """(code, message) for an error; unexpected ones become INTERNAL with an id to find the
    logged traceback, never the traceback itself."""
    if isinstance(error, ValidationError):
        e = error.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "request"
        return grpc.StatusCode.INVALID_ARGUMENT, f"invalid {where}: {e['msg']}"
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code, str(error) or kind.__name__
    ref = uuid.uuid4().hex[:12]
    log.exception("internal error %s", ref, exc_info=error)
    return grpc.StatusCode.INTERNAL, f"internal error (reference {ref})"
