"""Test helpers: drive async scenarios without an async test plugin."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer

from storefront.asgi import application

WS_PATH = "/ws/notifications/"
# AllowedHostsOriginValidator refuses sockets without an allowed Origin.
ORIGIN = [(b"origin", b"http://localhost")]


class WebsocketCommunicator(ApplicationCommunicator):
    """channels.testing.WebsocketCommunicator's API, on asgiref's communicator.

    channels.testing cannot be imported here: its package __init__ imports the
    live-server helpers, which need daphne (we serve with uvicorn).
    """

    def __init__(self, application: Any, path: str, headers: list | None = None) -> None:
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": headers or [],
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data: Any) -> None:
        await self.send_to(text_data=json.dumps(data))

    async def receive_json_from(self, timeout: float = 1) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def async_test(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run an `async def` test body in an event loop (pytest sees a sync test).

    Database work inside goes through database_sync_to_async, which runs in the
    test's own thread; such tests need django_db(transaction=True).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return async_to_sync(fn)(*args, **kwargs)

    return wrapper


@contextlib.asynccontextmanager
async def open_socket(path: str = WS_PATH) -> AsyncIterator[WebsocketCommunicator]:
    """A socket to the real ASGI application, accepted but not yet authenticated."""
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    try:
        yield communicator
    finally:
        await communicator.disconnect()


@contextlib.asynccontextmanager
async def authenticated_socket(token: str) -> AsyncIterator[WebsocketCommunicator]:
    async with open_socket() as communicator:
        await communicator.send_json_to({"type": "auth", "token": token})
        assert await communicator.receive_json_from(timeout=2) == {"type": "auth.ok"}
        yield communicator


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 2) -> int:
    """Wait for the server to close the socket; return the close code."""
    output = await communicator.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output["code"]


def receive_from_group(group: str, action: Callable[[], Any], timeout: float = 2) -> Any:
    """Join `group` with a channel of our own, run `action` (sync), return what arrives."""

    async def scenario() -> Any:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            await sync_to_async(action)()
            return await asyncio.wait_for(layer.receive(channel), timeout)
        finally:
            await layer.group_discard(group, channel)

    return async_to_sync(scenario)()
