"""Notification writes and their real-time push.

Every notification is a row first; after the writing transaction commits it is
pushed to the owner's channel-layer group, where any web process holding one of
the owner's sockets forwards it (channels-redis in full mode). The push is best
effort: a channel-layer failure is logged and never fails the write, because a
client catches up over REST (`GET /notifications/?since=`).

Entry points for other apps (keyword-only, called inside their transaction):

    notification_create(user=..., kind=..., payload=...)       any user-facing event
    notify_order_status(order=..., from_status=..., to_status=...)
    notify_order_created(order=...)                             staff broadcast, not stored

`order` is duck-typed (id, user_id, total, currency, status, created_at) so this
module does not import the orders app.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from storefront.notifications.models import Notification

logger = logging.getLogger("storefront.notifications")

# Channel-layer groups. Names allow ASCII letters, digits, "-", "_" and "." only.
STAFF_GROUP = "staff"

# The channel-layer event type the consumer forwards (handler `notification_push`).
PUSH_EVENT = "notification.push"

# WebSocket message types of the protocol itself; a notification kind must not
# reuse one, or clients could not tell an event from a control message.
RESERVED_KINDS = frozenset({"auth", "auth.ok", "ping", "pong", "heartbeat", "error"})

ORDER_STATUS = "order.status"
ORDER_CREATED = "order.created"


class OrderLike(Protocol):
    id: Any
    user_id: Any
    total: Any
    currency: str
    status: str


def user_group(user_id: Any) -> str:
    """The group every socket of one user joins."""
    return f"user.{user_id}"


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the REST API renders datetimes."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def notification_message(notification: Notification) -> dict[str, Any]:
    """The WebSocket message for a stored notification."""
    return {
        "type": notification.kind,
        "id": str(notification.id),
        "created_at": isoformat(notification.created_at),
        "payload": notification.payload,
    }


class _PushLoop:
    """One event loop per process, running in a daemon thread, for pushes from sync code.

    `async_to_sync()` called from a plain thread (a request on the web pool, a
    Celery task) starts a thread and an event loop for every call, and
    channels-redis keeps its Redis connections per event loop: every push paid
    for a thread, a loop, a new Redis connection and its handshake, about 3 ms
    of CPU per order placed or paid (docs/performance.md, "Orders"). Pushes
    submitted to this loop reuse its connections. Created on first use and
    again in a forked child (a Celery pool process), whose copy has no thread.
    """

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _pid: int | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._pid != os.getpid() or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="notifications-push", daemon=True
                ).start()
                cls._loop, cls._pid = loop, os.getpid()
            return cls._loop


def _run_push(layer: Any, send: Any, timeout: float) -> None:
    if isinstance(layer, InMemoryChannelLayer):
        # Its queues belong to the loop of whoever awaits them (embedded mode,
        # one process): asgiref finds that loop when there is one.
        async_to_sync(send)()
        return
    future = asyncio.run_coroutine_threadsafe(send(), _PushLoop.get())
    try:
        # send() gives up after `timeout` itself; the margin only guards
        # against a loop that never ran it.
        future.result(timeout + 1)
    finally:
        future.cancel()  # a no-op once done


def group_push(*, group: str, message: dict[str, Any]) -> bool:
    """Send `message` to every socket in `group` now. Never raises.

    Returns whether the channel layer accepted it. A timeout bounds the wait so
    that an unreachable Redis cannot stall the request or task that called us.
    """
    layer = get_channel_layer()
    if layer is None:  # no CHANNEL_LAYERS configured: nothing to push to
        return False
    event = {"type": PUSH_EVENT, "message": message}
    timeout = settings.NOTIFICATIONS_PUSH_TIMEOUT

    async def send() -> None:
        await asyncio.wait_for(layer.group_send(group, event), timeout=timeout)

    try:
        _run_push(layer, send, timeout)
    except Exception:
        # Deliberately broad: whatever the layer raises (connection refused,
        # timeout, serialisation), the data is committed and REST serves it.
        logger.warning(
            "notification push failed; clients will catch up over REST",
            exc_info=True,
            extra={"group": group, "message_type": message.get("type")},
        )
        return False
    return True


def group_push_on_commit(*, group: str, message: dict[str, Any]) -> None:
    """Push after the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(group_push, group=group, message=message))


def _notification_create(*, user_id: Any, kind: str, payload: dict[str, Any]) -> Notification:
    if kind in RESERVED_KINDS:
        raise ValueError(f"{kind!r} is a protocol message type, not a notification kind.")
    notification = Notification.objects.create(user_id=user_id, kind=kind, payload=payload)
    group_push_on_commit(group=user_group(user_id), message=notification_message(notification))
    return notification


def notification_create(*, user, kind: str, payload: dict[str, Any]) -> Notification:
    """Store a notification for `user` and push it to their sockets after commit.

    `payload` must be JSON-serialisable (render money and ids as strings).
    """
    return _notification_create(user_id=user.pk, kind=kind, payload=payload)


def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark read; idempotent (the first read time is kept)."""
    if notification.read_at is None:
        now = timezone.now()
        # The filter keeps the first read time if two requests race.
        updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=now, updated_at=now
        )
        if updated:
            notification.read_at = notification.updated_at = now
        else:  # the other request won: report its read time
            notification.refresh_from_db(fields=["read_at", "updated_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of `user` read; returns how many changed."""
    now = timezone.now()
    return Notification.objects.for_user(user).unread().update(read_at=now, updated_at=now)


def notify_order_status(*, order: OrderLike, from_status: str, to_status: str) -> Notification:
    """Tell the order's owner its status changed (call from the order transition)."""
    return _notification_create(
        user_id=order.user_id,
        kind=ORDER_STATUS,
        payload={
            "order": str(order.id),
            # str(): statuses may be TextChoices members; the payload holds plain strings.
            "status": str(to_status),
            "previous": str(from_status),
            "total": str(order.total),
            "currency": str(order.currency),
        },
    )


def notify_order_created(*, order: OrderLike) -> None:
    """Tell every connected staff socket about a new order, after commit.

    Not stored: one row per staff member per order would put a write per staff
    user into every checkout, and the orders list is already the staff's record
    of new orders (catch up there). The message id is a fresh event id, unique
    but not a notification id.
    """
    created_at = getattr(order, "created_at", None) or timezone.now()
    group_push_on_commit(
        group=STAFF_GROUP,
        message={
            "type": ORDER_CREATED,
            "id": str(uuid.uuid4()),
            "created_at": isoformat(created_at),
            "payload": {
                "order": str(order.id),
                "user": str(order.user_id),
                "status": str(order.status),
                "total": str(order.total),
                "currency": str(order.currency),
            },
        },
    )
