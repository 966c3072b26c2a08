"""Notification services: stored first, pushed after commit, never failing the write.

`django_capture_on_commit_callbacks(execute=True)` stands for the commit of the
caller's transaction; test_consumers.py and test_realtime_e2e.py also push after
real commits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from types import SimpleNamespace
from uuid import uuid4

import pytest
from django.db import transaction
from django.utils import timezone

from storefront.notifications import services
from storefront.notifications.models import Notification
from storefront.notifications.tests.helpers import receive_from_group

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # Port 1: nothing listens there, so connections are refused at once.
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
    }
}


def order_stand_in(user, **fields) -> SimpleNamespace:
    """Only the attributes the order wrappers read (they are duck-typed; the real
    Order goes through them in storefront/orders/tests/test_notifications.py)."""
    defaults = {
        "id": uuid4(),
        "user_id": user.pk,
        "status": "paid",
        "total": Decimal("19.90"),
        "currency": "USD",
        "created_at": timezone.now(),
    }
    return SimpleNamespace(**{**defaults, **fields})


# --- notification_create ---------------------------------------------------------


@pytest.mark.django_db
def test_created_notification_is_stored_and_pushed_to_the_owner_group(
    user, django_capture_on_commit_callbacks
):
    created = []

    # When a notification is created (and its transaction commits)
    def create():
        with django_capture_on_commit_callbacks(execute=True):
            created.append(
                services.notification_create(user=user, kind="test.event", payload={"n": 1})
            )

    event = receive_from_group(services.user_group(user.pk), create)

    # Then it is stored for the user, unread, and its message reached the group
    notification = Notification.objects.get()
    assert notification == created[0]
    assert (notification.user, notification.kind, notification.payload) == (
        user,
        "test.event",
        {"n": 1},
    )
    assert notification.read_at is None
    assert event == {
        "type": services.PUSH_EVENT,
        "message": {
            "type": "test.event",
            "id": str(notification.id),
            "created_at": services.isoformat(notification.created_at),
            "payload": {"n": 1},
        },
    }


@pytest.mark.django_db
def test_push_waits_for_commit(user, monkeypatch, django_capture_on_commit_callbacks):
    pushed = []
    monkeypatch.setattr(services, "group_push", lambda **kwargs: pushed.append(kwargs))

    # Given a transaction that creates a notification
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.notification_create(user=user, kind="test.event", payload={})
        # Then nothing is pushed while it is open
        assert pushed == []

    # And it is pushed once it commits
    assert [p["group"] for p in pushed] == [services.user_group(user.pk)]


@pytest.mark.django_db
def test_rolled_back_notification_is_never_pushed(
    user, monkeypatch, django_capture_on_commit_callbacks
):
    pushed = []
    monkeypatch.setattr(services, "group_push", lambda **kwargs: pushed.append(kwargs))

    # Given a transaction that creates a notification and then fails
    def transition_that_fails():
        with transaction.atomic():
            services.notification_create(user=user, kind="test.event", payload={})
            raise RuntimeError("the order transition failed")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        transition_that_fails()

    # Then neither the row nor the push exist
    assert pushed == []
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_channel_layer_down_never_fails_the_write(
    user, settings, caplog, django_capture_on_commit_callbacks
):
    # Given a channel layer whose Redis refuses connections
    settings.CHANNEL_LAYERS = UNREACHABLE_REDIS

    # When a notification is created and committed
    with (
        caplog.at_level(logging.WARNING, logger="storefront.notifications"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notification = services.notification_create(user=user, kind="test.event", payload={})

    # Then it is stored all the same, and the failed push is logged
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert "notification push failed" in caplog.text


@pytest.mark.django_db
def test_hanging_channel_layer_is_given_up_after_the_push_timeout(
    user, settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    # Given a channel layer that never answers
    class HangingLayer:
        async def group_send(self, group, message):
            await asyncio.sleep(30)

    monkeypatch.setattr(services, "get_channel_layer", HangingLayer)
    settings.NOTIFICATIONS_PUSH_TIMEOUT = 0.1

    # When a notification is created and committed
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="storefront.notifications"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notification = services.notification_create(user=user, kind="test.event", payload={})

    # Then the caller waits no longer than the timeout, and the row is there
    assert time.monotonic() - started < 2
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert "notification push failed" in caplog.text


@pytest.mark.django_db
def test_pushes_from_sync_code_share_one_event_loop_and_its_connections(user, monkeypatch):
    # Given a channel layer that records the event loop each push runs on
    loops = []

    class RecordingLayer:
        async def group_send(self, group, message):
            loops.append(asyncio.get_running_loop())

    monkeypatch.setattr(services, "get_channel_layer", RecordingLayer)

    # When two pushes are made from plain sync code (a request, a task)
    assert services.group_push(group="staff", message={"type": "x"}) is True
    assert services.group_push(group="staff", message={"type": "y"}) is True

    # Then both ran on the same long-lived loop (channels-redis keeps its
    # connections per loop: no new connection per push), not on this thread
    assert len(loops) == 2
    assert loops[0] is loops[1]
    assert loops[0].is_running()


@pytest.mark.django_db
def test_redis_push_made_on_the_shared_loop_reaches_a_listener_on_another_loop(
    user, django_capture_on_commit_callbacks
):
    # Given a listener on the owner's group (its own event loop, its own connection)
    def create():
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_create(user=user, kind="test.event", payload={"n": 2})

    # When a notification is committed from sync code
    event = receive_from_group(services.user_group(user.pk), create)

    # Then the message pushed from the shared loop arrives
    assert event["message"]["payload"] == {"n": 2}


def test_a_forked_process_starts_its_own_push_loop(monkeypatch):
    # Given the loop of this process
    parent_loop = services._PushLoop.get()

    # When a forked child (another pid: a Celery pool process) asks for one
    monkeypatch.setattr(services.os, "getpid", lambda: -1)
    child_loop = services._PushLoop.get()

    # Then it gets a loop of its own, running (the parent's thread is not in the child)
    assert child_loop is not parent_loop
    assert child_loop.is_running() or _started(child_loop)
    monkeypatch.undo()
    assert services._PushLoop.get() is not child_loop  # back in "the parent": a new one again


def _started(loop: asyncio.AbstractEventLoop) -> bool:
    deadline = time.monotonic() + 2
    while not loop.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    return loop.is_running()


@pytest.mark.django_db
def test_in_memory_layer_pushes_still_reach_a_listener(
    user, settings, django_capture_on_commit_callbacks
):
    # Given embedded mode's in-memory channel layer (one process, no Redis)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    # When a notification is committed
    def create():
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_create(user=user, kind="test.event", payload={"n": 3})

    event = receive_from_group(services.user_group(user.pk), create)

    # Then the listener gets it (pushed on the listener's loop, as before)
    assert event["message"]["payload"] == {"n": 3}


def test_push_without_a_channel_layer_is_a_no_op(monkeypatch):
    monkeypatch.setattr(services, "get_channel_layer", lambda: None)

    assert services.group_push(group="staff", message={"type": "x"}) is False


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(services.RESERVED_KINDS))
def test_protocol_message_types_are_not_notification_kinds(user, kind):
    with pytest.raises(ValueError, match="protocol message type"):
        services.notification_create(user=user, kind=kind, payload={})

    assert not Notification.objects.exists()


# --- read state ---------------------------------------------------------------


@pytest.mark.django_db
def test_mark_read_is_idempotent_and_keeps_the_first_read_time(user):
    notification = Notification.objects.create(user=user, kind="test.event")

    first = services.notification_mark_read(notification=notification).read_at
    again = services.notification_mark_read(
        notification=Notification.objects.get(pk=notification.pk)
    ).read_at

    assert first is not None
    assert again == first
    assert Notification.objects.get(pk=notification.pk).read_at == first


@pytest.mark.django_db
def test_mark_read_that_loses_a_race_reports_the_winners_read_time(user):
    # Given a stale copy (loaded before another request marked it read)
    notification = Notification.objects.create(user=user, kind="test.event")
    stale = Notification.objects.get(pk=notification.pk)
    winner = services.notification_mark_read(notification=notification).read_at

    # When the stale copy is marked read
    result = services.notification_mark_read(notification=stale)

    # Then the first read time stands
    assert result.read_at == winner


@pytest.mark.django_db
def test_mark_all_read_counts_only_the_users_unread(user, other_user):
    Notification.objects.create(user=user, kind="a")
    Notification.objects.create(user=user, kind="b")
    Notification.objects.create(user=user, kind="c", read_at=timezone.now())
    Notification.objects.create(user=other_user, kind="d")

    assert services.notifications_mark_all_read(user=user) == 2
    assert services.notifications_mark_all_read(user=user) == 0
    assert not Notification.objects.for_user(user).unread().exists()
    assert Notification.objects.for_user(other_user).unread().count() == 1


# --- order wrappers (duck-typed: a stand-in here, the real Order in orders tests) --


@pytest.mark.django_db
def test_order_status_change_notifies_the_owner(user, django_capture_on_commit_callbacks):
    order = order_stand_in(user)

    def transition():
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_order_status(order=order, from_status="pending", to_status="paid")

    event = receive_from_group(services.user_group(user.pk), transition)

    notification = Notification.objects.get(user=user)
    assert notification.kind == "order.status"
    assert notification.payload == {
        "order": str(order.id),
        "status": "paid",
        "previous": "pending",
        "total": "19.90",
        "currency": "USD",
    }
    assert event["message"]["id"] == str(notification.id)


@pytest.mark.django_db
def test_new_order_is_broadcast_to_staff_and_not_stored(user, django_capture_on_commit_callbacks):
    order = order_stand_in(user, status="pending", created_at=None)

    def checkout():
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_order_created(order=order)

    event = receive_from_group(services.STAFF_GROUP, checkout)

    assert event["message"]["type"] == "order.created"
    assert event["message"]["payload"]["order"] == str(order.id)
    assert event["message"]["created_at"].endswith("Z")
    assert not Notification.objects.exists()


def test_group_names_are_valid_channel_layer_names():
    from channels.layers import BaseChannelLayer

    layer = BaseChannelLayer()
    assert layer.require_valid_group_name(services.user_group(uuid4()))
    assert layer.require_valid_group_name(services.STAFF_GROUP)


@pytest.mark.django_db
def test_wrappers_accept_the_real_order_model(user, django_capture_on_commit_callbacks):
    # Given a real order (the stand-in above mimics it)
    from storefront.orders.models import OrderStatus
    from storefront.orders.tests.factories import make_order

    order = make_order(user=user)

    # When its status change and creation are notified
    with django_capture_on_commit_callbacks(execute=False) as pushes:
        notification = services.notify_order_status(
            order=order, from_status=OrderStatus.PENDING, to_status=OrderStatus.PAID
        )
        services.notify_order_created(order=order)

    # Then the payload holds plain strings, and both pushes wait for the commit
    notification.refresh_from_db()
    assert notification.payload == {
        "order": str(order.id),
        "status": "paid",
        "previous": "pending",
        "total": str(order.total),
        "currency": order.currency,
    }
    assert len(pushes) == 2
    for push in pushes:  # msgpack (channels-redis) and clients get plain strings too
        payload = push.keywords["message"]["payload"]
        assert all(type(value) is str for value in payload.values()), payload
