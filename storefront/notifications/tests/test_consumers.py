"""The notifications WebSocket, spoken to through the real ASGI application.

The channel layer is the real Redis one (the tests run in full mode), so these
tests also prove group fan-out through Redis within one process; the
cross-process proof is test_realtime_e2e.py.

Most tests run inside the usual test transaction (a transactional test costs a
TRUNCATE of every table, about a second on a busy machine): the consumer's
database calls run in the test's thread (thread-sensitive sync_to_async under
async_to_sync), and services' on_commit pushes are run by `committed`. One
test uses real commits to show nothing depends on that.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from uuid import uuid4

import jwt
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from storefront.notifications import services
from storefront.notifications.consumers import CLOSE_IDLE, CLOSE_UNAUTHORIZED
from storefront.notifications.tests.helpers import (
    async_test,
    authenticated_socket,
    closed_with,
    open_socket,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    # database_sync_to_async closes "old" connections around each call, which
    # inside the test transaction would close the test's own connection (the
    # same patch channels.testing applies).
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """await committed(service, **kwargs): call a service as if its transaction
    committed, so that its on_commit pushes go out."""

    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return sync_to_async(call)


def _malformed(user) -> str:
    return "not-a-jwt"


def _expired(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


def _wrong_signature(user) -> str:
    payload = AccessToken.for_user(user).payload
    return jwt.encode(payload, "a key that is not ours, long enough for HS256", "HS256")


def _refresh_token(user) -> str:
    return str(RefreshToken.for_user(user))


def _inactive_user(user) -> str:
    token = str(AccessToken.for_user(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    return token


def _deleted_user(user) -> str:
    token = str(AccessToken.for_user(user))
    user.delete()
    return token


BAD_TOKENS = {
    "malformed": _malformed,
    "expired": _expired,
    "wrong_signature": _wrong_signature,
    "refresh_token": _refresh_token,
    "inactive_user": _inactive_user,
    "deleted_user": _deleted_user,
    "empty": lambda user: "",
    "not_a_string": lambda user: 12345,
    "absurdly_long": lambda user: "x" * 5000,
}


@pytest.fixture(params=list(BAD_TOKENS))
def bad_token(request, user):
    return BAD_TOKENS[request.param](user)


def order_stand_in(user, **fields) -> SimpleNamespace:
    """Only the attributes the order wrappers read (they are duck-typed; the real
    Order goes through them in storefront/orders/tests/test_notifications.py)."""
    defaults = {
        "id": uuid4(),
        "user_id": user.pk,
        "status": "pending",
        "total": Decimal("42.50"),
        "currency": "EUR",
        "created_at": timezone.now(),
    }
    return SimpleNamespace(**{**defaults, **fields})


# --- authentication -----------------------------------------------------------


@async_test
async def test_valid_access_token_is_answered_auth_ok(user_token):
    # Given an open socket
    async with open_socket() as socket:
        # When the first message is an auth message with a valid access token
        await socket.send_json_to({"type": "auth", "token": user_token})

        # Then the server answers auth.ok and keeps the socket open
        assert await socket.receive_json_from(timeout=2) == {"type": "auth.ok"}
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=2) == {"type": "pong"}


@async_test
async def test_bad_token_closes_4401(bad_token):
    # Given an open socket
    async with open_socket() as socket:
        # When the auth message carries a token that does not name an active user
        await socket.send_json_to({"type": "auth", "token": bad_token})

        # Then the socket is closed with 4401
        assert await closed_with(socket) == CLOSE_UNAUTHORIZED


@pytest.mark.parametrize(
    "first_message",
    [
        {"type": "auth"},  # missing token
        {"type": "auth", "token": None},
        {"type": "ping"},  # anything but auth
        {"type": "subscribe", "token": "x"},
        {"token": "x"},  # no type
        ["auth"],  # not an object
    ],
    ids=["missing_token", "null_token", "ping", "other_type", "no_type", "not_an_object"],
)
@async_test
async def test_first_message_that_is_not_a_valid_auth_closes_4401(first_message):
    async with open_socket() as socket:
        await socket.send_json_to(first_message)

        assert await closed_with(socket) == CLOSE_UNAUTHORIZED


@pytest.mark.parametrize("frame", [{"text_data": "{not json"}, {"bytes_data": b"\x00\x01"}])
@async_test
async def test_first_frame_that_is_not_json_closes_4401(frame):
    async with open_socket() as socket:
        await socket.send_to(**frame)

        assert await closed_with(socket) == CLOSE_UNAUTHORIZED


@async_test
async def test_no_auth_message_in_time_closes_4401(settings):
    # Given a short authentication deadline
    settings.NOTIFICATIONS_AUTH_TIMEOUT = 0.2
    async with open_socket() as socket:
        # When the client sends nothing
        # Then the server closes with 4401 once the deadline has passed
        assert await closed_with(socket, timeout=2) == CLOSE_UNAUTHORIZED


@async_test
async def test_authenticated_socket_outlives_the_auth_deadline(settings, user_token):
    settings.NOTIFICATIONS_AUTH_TIMEOUT = 0.1
    async with authenticated_socket(user_token) as socket:
        await asyncio.sleep(0.3)

        assert await socket.receive_nothing(timeout=0.1)


# --- events -------------------------------------------------------------------


@async_test
async def test_owner_receives_their_notification(user, user_token, committed):
    # Given the user's authenticated socket
    async with authenticated_socket(user_token) as socket:
        # When a notification is created for them
        notification = await committed(
            services.notification_create,
            user=user,
            kind="order.status",
            payload={"order": "o-1", "status": "paid"},
        )

        # Then it arrives as type/id/created_at/payload
        message = await socket.receive_json_from(timeout=2)
        assert message == {
            "type": "order.status",
            "id": str(notification.id),
            "created_at": services.isoformat(notification.created_at),
            "payload": {"order": "o-1", "status": "paid"},
        }


@pytest.mark.django_db(transaction=True)
@async_test
async def test_owner_receives_their_notification_after_a_real_commit(user, user_token):
    # Given the user's socket, and no test transaction around the service
    async with authenticated_socket(user_token) as socket:
        # When a notification is created and really committed
        notification = await database_sync_to_async(services.notification_create)(
            user=user, kind="test.event", payload={}
        )

        # Then its on_commit push reaches the socket
        assert (await socket.receive_json_from(timeout=2))["id"] == str(notification.id)


@async_test
async def test_order_status_change_reaches_the_owner(user, user_token, committed):
    # Given the owner's socket and an order (stand-in) that becomes paid
    order = order_stand_in(user, status="paid")
    async with authenticated_socket(user_token) as socket:
        # When the order transition notifies
        notification = await committed(
            services.notify_order_status, order=order, from_status="pending", to_status="paid"
        )

        # Then the owner hears of it, with the order's total and currency
        message = await socket.receive_json_from(timeout=2)
        assert message["type"] == "order.status"
        assert message["id"] == str(notification.id)
        assert message["payload"] == {
            "order": str(order.id),
            "status": "paid",
            "previous": "pending",
            "total": "42.50",
            "currency": "EUR",
        }


@async_test
async def test_every_socket_of_the_owner_receives_it(user, user_token, committed):
    # Given the same user on two devices
    async with authenticated_socket(user_token) as phone, authenticated_socket(user_token) as web:
        # When a notification is created
        await committed(services.notification_create, user=user, kind="test.event", payload={})

        # Then both sockets receive it
        assert (await phone.receive_json_from(timeout=2))["type"] == "test.event"
        assert (await web.receive_json_from(timeout=2))["type"] == "test.event"


@async_test
async def test_users_never_receive_each_others_events(user, user_token, other_user, committed):
    # Given A and B connected
    other_token = await database_sync_to_async(lambda: str(AccessToken.for_user(other_user)))()
    async with authenticated_socket(user_token) as a, authenticated_socket(other_token) as b:
        # When B is notified
        await committed(
            services.notification_create, user=other_user, kind="test.event", payload={"for": "b"}
        )

        # Then B receives it and A receives nothing
        assert (await b.receive_json_from(timeout=2))["payload"] == {"for": "b"}
        assert await a.receive_nothing(timeout=0.3)


@async_test
async def test_staff_hear_of_every_new_order_and_customers_do_not(
    staff, user, user_token, committed
):
    staff_token = await database_sync_to_async(lambda: str(AccessToken.for_user(staff)))()
    order = order_stand_in(user)
    async with (
        authenticated_socket(staff_token) as staff_socket,
        authenticated_socket(user_token) as customer_socket,
    ):
        # When an order is created
        await committed(services.notify_order_created, order=order)

        # Then staff get order.created; the customer (even the buyer) does not
        message = await staff_socket.receive_json_from(timeout=2)
        assert message["type"] == "order.created"
        assert message["payload"] == {
            "order": str(order.id),
            "user": str(user.pk),
            "status": "pending",
            "total": "42.50",
            "currency": "EUR",
        }
        assert message["created_at"] == services.isoformat(order.created_at)
        assert message["id"]
        assert await customer_socket.receive_nothing(timeout=0.3)


@async_test
async def test_closed_socket_leaves_its_groups(monkeypatch, staff):
    # Given a staff socket (two groups), watched as it leaves them
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    left = []
    real_discard = layer.group_discard

    async def spy(group, channel):
        left.append(group)
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_discard", spy)
    staff_token = await database_sync_to_async(lambda: str(AccessToken.for_user(staff)))()

    # When it is authenticated and then closed
    async with authenticated_socket(staff_token):
        pass

    # Then it has left both groups, so Redis keeps no stale members
    assert sorted(left) == sorted([services.user_group(staff.pk), services.STAFF_GROUP])


# --- protocol -----------------------------------------------------------------


@async_test
async def test_ping_is_answered_pong(user_token):
    async with authenticated_socket(user_token) as socket:
        await socket.send_json_to({"type": "ping"})

        assert await socket.receive_json_from(timeout=2) == {"type": "pong"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text_data": '{"type": "subscribe"}'}, "unknown_type"),
        ({"text_data": "{not json"}, "invalid_json"),
        ({"bytes_data": b"\x00"}, "invalid_json"),
        ({"text_data": "[1, 2]"}, "invalid_message"),
        ({"text_data": '{"type": 7}'}, "invalid_message"),
        ({"text_data": '{"type": "auth", "token": "again"}'}, "already_authenticated"),
    ],
    ids=["unknown_type", "invalid_json", "binary", "not_an_object", "type_not_a_string", "auth"],
)
@async_test
async def test_bad_message_after_auth_is_an_error_not_a_close(user_token, frame, code):
    async with authenticated_socket(user_token) as socket:
        # When the client sends a message the server cannot act on
        await socket.send_to(**frame)

        # Then it answers an error with a stable code, and the socket stays usable
        reply = await socket.receive_json_from(timeout=2)
        assert reply["type"] == "error"
        assert reply["code"] == code
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=2) == {"type": "pong"}


@async_test
async def test_server_sends_heartbeats(settings, user_token):
    settings.NOTIFICATIONS_HEARTBEAT = 0.05
    async with authenticated_socket(user_token) as socket:
        assert await socket.receive_json_from(timeout=1) == {"type": "heartbeat"}


@async_test
async def test_silent_client_is_dropped_with_4408(settings, user_token):
    # Given heartbeats every 0.1 s and a client that never answers them
    interval = settings.NOTIFICATIONS_HEARTBEAT = 0.1
    async with authenticated_socket(user_token) as socket:
        started = asyncio.get_running_loop().time()
        # When it stays silent, it hears only heartbeats...
        while (output := await socket.receive_output(timeout=2))["type"] == "websocket.send":
            assert output["text"] == '{"type": "heartbeat"}'

        # ...until it is closed with 4408, after two intervals of silence at the
        # earliest (the upper bound leaves room for a busy machine)
        elapsed = asyncio.get_running_loop().time() - started
        assert output["code"] == CLOSE_IDLE
        assert 2 * interval <= elapsed < 3 * interval + 0.5


@async_test
async def test_client_answering_heartbeats_stays_connected(settings, user_token):
    settings.NOTIFICATIONS_HEARTBEAT = 0.2
    async with authenticated_socket(user_token) as socket:
        # Given a client that answers every heartbeat with pong
        for _ in range(4):  # past the 2-3 intervals after which a silent client is dropped
            assert await socket.receive_json_from(timeout=2) == {"type": "heartbeat"}
            await socket.send_json_to({"type": "pong"})

        # Then it is still connected
        await socket.send_json_to({"type": "ping"})
        reply = await socket.receive_json_from(timeout=2)
        while reply == {"type": "heartbeat"}:
            reply = await socket.receive_json_from(timeout=2)
        assert reply == {"type": "pong"}


@async_test
async def test_long_lived_socket_rejoins_its_groups(
    settings, monkeypatch, user, user_token, committed
):
    # Given a socket older than the group refresh period
    monkeypatch.setattr("storefront.notifications.consumers.GROUP_REFRESH_SECONDS", 0)
    settings.NOTIFICATIONS_HEARTBEAT = 0.05
    async with authenticated_socket(user_token) as socket:
        assert await socket.receive_json_from(timeout=1) == {"type": "heartbeat"}
        await socket.send_json_to({"type": "pong"})

        # When a notification is pushed after the refresh, it still arrives
        await committed(services.notification_create, user=user, kind="test.event", payload={})
        message = await socket.receive_json_from(timeout=1)
        while message == {"type": "heartbeat"}:
            message = await socket.receive_json_from(timeout=1)
        assert message["type"] == "test.event"


@async_test
async def test_user_lookup_finishing_after_the_deadline_does_not_authenticate(
    settings, monkeypatch, user_token
):
    # Given a database slower than the auth deadline
    settings.NOTIFICATIONS_AUTH_TIMEOUT = 0.05
    from storefront.notifications import consumers

    real_lookup = consumers.user_for_access_token

    async def slow_lookup(token):
        await asyncio.sleep(0.2)
        return await real_lookup(token)

    monkeypatch.setattr(consumers, "user_for_access_token", slow_lookup)
    async with open_socket() as socket:
        await socket.send_json_to({"type": "auth", "token": user_token})

        # Then the deadline closes the socket and no auth.ok follows
        assert await closed_with(socket) == CLOSE_UNAUTHORIZED
        assert await socket.receive_nothing(timeout=0.3)
