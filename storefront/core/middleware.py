"""Request id propagation and the access log.

The id comes from the client's X-Request-ID when it is sane (so a gateway's id
follows the request through our logs), or is generated; it is returned in the
response header, attached to every log record of the request (see logging.py)
and to error bodies.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("storefront.access")


def current_request_id() -> str | None:
    return _request_id.get()


def request_id_from(candidate: str) -> str:
    """The client's X-Request-ID when it is sane, else a new id."""
    return candidate if _VALID_ID.match(candidate) else uuid.uuid4().hex


def _incoming_id(request: HttpRequest) -> str:
    return request_id_from(request.headers.get("X-Request-ID", ""))


def log_access(
    *, method: str, path: str, status: int, started: float, user_id: str | None, request_id: str
) -> None:
    """The access log line of one request (also written by core/replay.py)."""
    token = _request_id.set(request_id)
    try:
        access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": user_id,
            },
        )
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """Sets the request id, times the request and writes one access log line."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._acall(request)
        token = _request_id.set(_incoming_id(request))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            return self._finish(request, response, started)
        finally:
            _request_id.reset(token)

    async def _acall(self, request: HttpRequest):
        token = _request_id.set(_incoming_id(request))
        started = time.perf_counter()
        try:
            response = await self.get_response(request)
            return self._finish(request, response, started)
        finally:
            _request_id.reset(token)

    @staticmethod
    def _finish(request: HttpRequest, response: HttpResponse, started: float) -> HttpResponse:
        request_id = _request_id.get()
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        log_access(
            method=request.method,
            path=request.path,
            status=response.status_code,
            started=started,
            user_id=str(user.pk) if user is not None and user.is_authenticated else None,
            request_id=request_id,
        )
        return response
