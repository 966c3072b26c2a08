"""Idempotency keys for unsafe requests (the `Idempotency-Key` header).

Generic: nothing here knows about orders, so it can move to core as is.

A view wraps its work in `idempotent(request, scope=..., handler=...)`:

* no header: the handler runs as usual;
* a new key: the handler runs in a transaction that also stores the key with
  the response (only 2xx responses are stored: after an error nothing
  happened, and the client may retry with the same key once it has fixed the
  request);
* a known key, same request (method, path and canonical JSON body, hashed):
  the stored response is replayed with `Idempotent-Replayed: true`, and
  nothing is done again;
* a known key, another request: 422 `idempotency_key_reused`;
* an invalid key (not 1 to 255 printable ASCII characters): 400
  `idempotency_key_invalid`.

Keys belong to one user and one scope (endpoint) and expire after
IDEMPOTENCY_KEY_TTL_HOURS (an expired key is a new key; `idempotency_keys_purge`
deletes them, periodically).

Concurrency: the key's row is inserted first, in the handler's transaction.
A second request with the same key blocks on the unique index until the first
commits (then replays its response) or rolls back (then runs itself), so one
key never does the work twice. It waits at most
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS, then gets 409 `idempotency_request_in_progress`
(with Retry-After).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from storefront.core.exceptions import Conflict, DomainError, Unprocessable
from storefront.core.renderers import dumps
from storefront.orders.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Response headers worth replaying (the body and status always are).
REPLAYED_HEADERS = ("Location",)
_VALID_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    location=OpenApiParameter.HEADER,
    type=str,
    required=False,
    description=(
        "A unique value (1 to 255 printable ASCII characters, e.g. a UUID) making the request "
        "safe to retry: the same key with the same body replays the first response (with "
        "`Idempotent-Replayed: true`) and does nothing again; the same key with another "
        "body is a 422 `idempotency_key_reused`. Keys are per user and endpoint and expire "
        "after 24 hours (IDEMPOTENCY_KEY_TTL_HOURS). A request arriving while another with "
        "the same key is still running waits for it, then replays its response (or, after "
        "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS, gets a 409 `idempotency_request_in_progress`)."
    ),
)


class IdempotencyKeyInvalid(DomainError):
    default_detail = f"The {HEADER} header must be 1 to 255 printable ASCII characters."
    default_code = "idempotency_key_invalid"


class IdempotencyKeyReused(Unprocessable):
    default_detail = f"This {HEADER} was already used for a different request."
    default_code = "idempotency_key_reused"


class IdempotencyRequestInProgress(Conflict):
    default_detail = f"A request with this {HEADER} is still being processed; retry in a moment."
    default_code = "idempotency_request_in_progress"
    wait = 1  # the problem handler turns it into Retry-After


def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path and the body as canonical JSON (sorted keys)."""
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict (form data): every value of every key
        data = dict(data.lists())
    body = orjson.dumps(
        data,
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        default=str,
    )
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.path.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    data = orjson.loads(record.response_body) if record.response_body else None
    return Response(data, status=record.response_status, headers=headers)


def _set_lock_timeout(seconds: float | None) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite (embedded mode) serialises writers anyway
    with connection.cursor() as cursor:
        if seconds is None:
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
        else:
            timeout = f"{int(seconds * 1000)}ms"
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [timeout])


def _claim(request: Request, scope: str, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """Insert the key's row (ours) or lock the existing one; True if ours to fill."""
    expires_at = timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=request.user,
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                expires_at=expires_at,
            )
        return record, True
    except IntegrityError:
        pass
    record = IdempotencyKey.objects.select_for_update().get(user=request.user, scope=scope, key=key)
    if record.expires_at <= timezone.now():
        # An expired key is a new key: the row is reused, filled on success.
        record.fingerprint = fingerprint
        record.expires_at = expires_at
        record.response_status = None
        record.response_body = ""
        record.response_headers = {}
        return record, True
    return record, False


def idempotent(request: Request, *, scope: str, handler: Callable[[], Response]) -> Response:
    """Run `handler` at most once per (user, scope, Idempotency-Key); see the module doc."""
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    if not _VALID_KEY.match(key):
        raise IdempotencyKeyInvalid()
    fingerprint = request_fingerprint(request)
    try:
        with transaction.atomic():
            _set_lock_timeout(settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS)
            record, ours = _claim(request, scope, key, fingerprint)
            _set_lock_timeout(None)
            if not ours:
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                if record.response_status is None:  # never committed so; be safe
                    raise IdempotencyRequestInProgress()
                return _replay(record)
            response = handler()
            if not status.is_success(response.status_code):
                transaction.set_rollback(True)  # nothing is stored for a failure
                return response
            _store(record, response)
            return response
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise IdempotencyRequestInProgress() from exc
        raise


def _store(record: IdempotencyKey, response: Response) -> None:
    record.response_status = response.status_code
    record.response_body = dumps(response.data).decode()
    record.response_headers = {
        name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)
    }
    record.save()


def _is_lock_timeout(exc: OperationalError) -> bool:
    # PostgreSQL's lock_not_available (55P03), raised when lock_timeout expires.
    return getattr(exc.__cause__, "sqlstate", None) == "55P03"


def idempotency_keys_purge(*, now=None) -> int:
    """Delete expired keys; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
