"""One error format for the whole API: RFC 9457 problem details.

Every error, whether raised by DRF, by Django (404, 403, 400, 500 outside a
view) or by our services (domain errors), leaves as::

    {"type": "urn:storefront:problem:<code>", "title": "...", "status": 400,
     "detail": "...", "code": "<code>", "instance": "/api/v1/...",
     "request_id": "...", "errors": {"field": [{"code": "...", "message": "..."}]}}

with Content-Type application/problem+json. `code` is stable and meant for
machines; `title` and `detail` are for people and may change.
"""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from storefront.core.middleware import current_request_id

logger = logging.getLogger("storefront.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"

# DRF's default codes, renamed where ours read better; the rest pass through.
_CODE_BY_STATUS = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


class DomainError(exceptions.APIException):
    """Base for errors raised by services; mapped once, here, to a problem."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request cannot be processed."
    default_code = "invalid"

    def __init__(self, detail: str | None = None, code: str | None = None) -> None:
        super().__init__(detail=detail, code=code)


class PayloadTooLarge(exceptions.ParseError):
    """The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE (a parse error, 413)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class Unprocessable(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request is well-formed but cannot be processed."
    default_code = "unprocessable"


class ServiceUnavailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service this request needs is unavailable; try again shortly."
    default_code = "service_unavailable"


# The database cannot be reached (down, restarting, connection dropped): the
# request may well succeed in a moment, so it is a 503, not a 500. Connections
# are health-checked (conn_health_checks), so the next request reconnects.
DATABASE_UNAVAILABLE = (DatabaseOperationalError, DatabaseInterfaceError)
# Seconds a client is told to wait before retrying after a 503.
RETRY_AFTER_SECONDS = 5


def _database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


def problem(
    *,
    status_code: int,
    code: str | None = None,
    detail: str | None = None,
    title: str | None = None,
    errors: dict[str, list[dict[str, str]]] | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build a problem details body."""
    code = code or _CODE_BY_STATUS.get(status_code, "error")
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {
        "type": f"{settings.PROBLEM_TYPE_BASE}{code}",
        "title": title or phrase,
        "status": status_code,
        "detail": detail or phrase,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def _flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """Turn DRF's nested ErrorDetail structure into {"a.0.b": [{code, message}]}."""
    out: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            key = prefix or "non_field_errors"
            out[key] = [
                {"code": getattr(item, "code", "invalid") or "invalid", "message": str(item)}
                for item in detail
            ]
        else:
            for index, item in enumerate(detail):
                path = f"{prefix}.{index}" if prefix else str(index)
                if item:  # DRF puts {} for list items without errors
                    for k, v in _flatten_errors(item, path).items():
                        out.setdefault(k, []).extend(v)
    else:
        key = prefix or "non_field_errors"
        out[key] = [
            {"code": getattr(detail, "code", "invalid") or "invalid", "message": str(detail)}
        ]
    return out


def _first_message(errors: dict[str, list[dict[str, str]]]) -> str:
    for field, items in errors.items():
        if items:
            if field == "non_field_errors":
                return items[0]["message"]
            return f"{field}: {items[0]['message']}"
    return "Invalid input."


def _code_of(exc: exceptions.APIException) -> str:
    detail = exc.detail
    code = getattr(detail, "code", None) if isinstance(detail, str) else None
    code = code or exc.default_code
    if code in {"error", None}:
        code = _CODE_BY_STATUS.get(exc.status_code, "error")
    return code


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes a problem response."""
    # Imported here: rest_framework.views loads the renderer classes named in
    # settings, and our renderer imports this module (a cycle at import time).
    from rest_framework.views import set_rollback

    request = context.get("request")
    instance = request.path if request is not None else None

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, RequestDataTooBig):
        # Django's own body limit (DATA_UPLOAD_MAX_MEMORY_SIZE), met while DRF
        # reads the body: the client's doing, not a server error.
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    elif isinstance(exc, SuspiciousOperation):
        # Too many form fields or files (DATA_UPLOAD_MAX_NUMBER_FIELDS/_FILES),
        # a malformed multipart body...: Django answers these with a 400.
        exc = exceptions.ParseError(str(exc) or None)
    elif _database_unavailable(exc):
        logger.warning("database unavailable: %r", exc, extra={"path": instance})
        exc = ServiceUnavailable()
        exc.wait = RETRY_AFTER_SECONDS

    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_errors(exc.detail)
        body = problem(
            status_code=exc.status_code,
            code="validation_error",
            title="Invalid input.",
            detail=_first_message(errors),
            errors=errors,
            instance=instance,
        )
    elif isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(max(1, int(exc.wait)))
        detail = exc.detail
        extra: dict[str, Any] = {}
        if isinstance(detail, dict):
            # simplejwt puts {"detail", "code", "messages"} in its errors.
            message = str(detail.get("detail", "")) or None
            code = str(detail.get("code", "")) or _code_of(exc)
        elif isinstance(detail, list):
            message = "; ".join(str(d) for d in detail)
            code = _code_of(exc)
        else:
            message = str(detail)
            code = _code_of(exc)
        if isinstance(exc, exceptions.PermissionDenied) and message.startswith("CSRF Failed"):
            # DRF's session authentication says so only in the text; give it the
            # code Django's own CSRF failure view (csrf_failure below) uses.
            code = "csrf_failed"
        if exc.status_code == 401 and code == "not_authenticated" and not headers:
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        body = problem(
            status_code=exc.status_code, code=code, detail=message, instance=instance, **extra
        )
    else:
        logger.exception(
            "unhandled error",
            extra={"path": instance, "method": getattr(request, "method", None)},
        )
        body = problem(
            status_code=500,
            detail="An unexpected error occurred. It has been logged; "
            "quote the request id when reporting it.",
            instance=instance,
        )
    set_rollback()
    response = Response(body, status=body["status"], headers=headers)
    response.is_problem = True  # read by the renderers to set the media type
    if body["status"] == 500:
        # Logged above with its traceback and request id: Django's request
        # logger would log it again, as one line without either.
        response._has_been_logged = True
    return response


def problem_response(request: HttpRequest, status_code: int, **kwargs: Any) -> HttpResponse:
    """A plain Django response carrying a problem (for non-DRF handlers)."""
    body = problem(status_code=status_code, instance=request.path, **kwargs)
    return HttpResponse(orjson.dumps(body), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


# Django's own error handlers (urls.py handler400/403/404/500, CSRF failures),
# so that errors raised outside DRF views have the same shape.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, 400, detail="The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(
        request, 403, detail="You do not have permission to perform this action."
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, 404, detail="No resource at this URL.")


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls handler500 inside its `except` block: the error is at hand.
    exc = sys.exc_info()[1]
    if _database_unavailable(exc):
        logger.warning("database unavailable: %r", exc, extra={"path": request.path})
        response = problem_response(
            request, 503, detail=ServiceUnavailable.default_detail, code="service_unavailable"
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return problem_response(
        request,
        500,
        detail="An unexpected error occurred. It has been logged; "
        "quote the request id when reporting it.",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return problem_response(request, 403, code="csrf_failed", detail=f"CSRF check failed: {reason}")
