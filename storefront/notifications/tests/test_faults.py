"""The WebSocket server loses its channel layer (Redis), then gets it back.

The server runs as a subprocess in full mode on the test database, its channel
layer on a private redis-server that only this test stops and restarts (by its
PID, on the same port). Sockets are closed cleanly (1011, a close frame, not a
dropped connection), new ones are refused the same way while Redis is down,
and afterwards clients reconnect and catch up over REST (`?since=`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import requests
import websockets
from django.utils import timezone

from storefront.core.testing import PrivateRedis, free_port
from storefront.core.tests.faults import full_env, poll, server
from storefront.notifications.consumers import CLOSE_LAYER_UNAVAILABLE
from storefront.notifications.models import Notification
from storefront.notifications.services import isoformat
from storefront.notifications.tests.conftest import access_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def authenticated(base: str, token: str):
    socket = await websockets.connect(
        base.replace("http://", "ws://") + "/ws/notifications/", origin=base, open_timeout=10
    )
    # With the layer down the server may close the socket before our auth
    # message: reading the close code below tells.
    with contextlib.suppress(websockets.ConnectionClosed):
        await socket.send(json.dumps({"type": "auth", "token": token}))
    return socket


async def close_code(socket) -> int:
    """Read until the server closes; its close code (1006: no close frame)."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 15)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else 1006


def test_sockets_close_with_1011_when_redis_goes_and_clients_catch_up_after(user):
    token = access_token(user)
    layer_port = free_port()
    layer = PrivateRedis(layer_port)
    env = full_env(REDIS_URL=layer.url, BROKER_URL=full_env()["REDIS_URL"])
    try:
        with server(env) as (base, web):
            # Given an authenticated socket
            async def before() -> int:
                socket = await authenticated(base, token)
                assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "auth.ok"
                # When Redis stops
                layer.stop()
                # Then the server closes it cleanly, saying why
                return await close_code(socket)

            assert asyncio.run(before()) == CLOSE_LAYER_UNAVAILABLE, web.output()

            # and a socket opened while Redis is down is closed the same way
            # (its read of the layer fails at once), instead of hanging
            async def during() -> int:
                return await close_code(await authenticated(base, token))

            assert asyncio.run(during()) == CLOSE_LAYER_UNAVAILABLE, web.output()
            assert "Exception in ASGI application" not in web.output()

            # Meanwhile an event is committed (its push cannot go out)
            since = isoformat(timezone.now())
            missed = Notification.objects.create(
                user=user, kind="order.status", payload={"status": "paid"}
            )

            # When Redis is back on the same port
            restarted = PrivateRedis(layer_port)
            try:
                # Then the client reconnects...
                async def after() -> dict:
                    socket = await authenticated(base, token)
                    try:
                        return json.loads(await asyncio.wait_for(socket.recv(), 10))
                    finally:
                        await socket.close()

                assert poll(lambda: asyncio.run(after()) == {"type": "auth.ok"}, timeout=20)
                # ...and catches up over REST with ?since=
                response = requests.get(
                    f"{base}/api/v1/notifications/",
                    params={"since": since},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=15,
                )
                assert response.status_code == 200, response.text
                assert [item["id"] for item in response.json()["results"]] == [str(missed.id)]
            finally:
                restarted.stop()
    finally:
        layer.stop()
