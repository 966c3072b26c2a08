"""The notifications WebSocket: authentication and group membership only.

Protocol (docs/api/realtime.md): the client's first message must be
{"type": "auth", "token": "<JWT access token>"} within NOTIFICATIONS_AUTH_TIMEOUT
seconds; the token never travels in the URL, which ends up in access logs. Then
the socket joins the user's group (and, for staff, the staff group) and
forwards what services push there. Heartbeats go out every
NOTIFICATIONS_HEARTBEAT seconds; a client silent for IDLE_HEARTBEATS of them is
closed at the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from storefront.notifications.services import STAFF_GROUP, user_group

logger = logging.getLogger("storefront.notifications")

# Close codes (4000-4999 are for applications; these mirror HTTP statuses).
CLOSE_UNAUTHORIZED = 4401  # no, bad or late auth message; bad token; inactive user
CLOSE_IDLE = 4408  # the client stopped talking: nothing received for too long
# The channel layer (Redis) failed: the socket cannot hear its groups any more.
# Standard "internal error"; clients reconnect with backoff and catch up over
# REST (GET /notifications/?since=), docs/api/realtime.md.
CLOSE_LAYER_UNAVAILABLE = 1011

# What the channel layer raises when Redis is down or unreachable.
LAYER_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

# A client that sends nothing for this many heartbeat intervals is dead; it is
# closed at the next heartbeat, so after 2 to 3 silent intervals.
IDLE_HEARTBEATS = 2

# channels-redis forgets group members after a day (group_expiry); sockets that
# live longer re-join their groups this often to stay subscribed.
GROUP_REFRESH_SECONDS = 3600

MAX_TOKEN_LENGTH = 4096


@database_sync_to_async
def user_for_access_token(raw: Any):
    """The active user an access token names, or None (same rules as the REST API)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None  # AccessToken(None) would mint a new token, never validate one
    try:
        token = AccessToken(raw)  # signature, expiry, token_type == "access"
        return JWTAuthentication().get_user(token)  # exists, is_active
    except (TokenError, InvalidToken, AuthenticationFailed):
        return None


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send) -> None:
        """Close with 1011 when the channel layer fails, instead of crashing.

        channels' dispatch loop reads the client and the layer together; a layer
        error (Redis down: in group_add while authenticating, or in the layer
        read of an open socket) would otherwise escape as an unhandled ASGI
        exception and drop the TCP connection without a close frame (1006).
        """
        self.tasks: list[asyncio.Task] = []
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as exc:
            logger.warning(
                "channel layer unavailable; closing the notification socket (1011)",
                extra={"error": repr(exc)},
            )
            await self._cancel_tasks()
            # The client may be gone already; there is nobody left to tell.
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_LAYER_UNAVAILABLE})
        except StopConsumer:  # pragma: no cover - the base class handles it
            pass

    async def connect(self) -> None:
        self.user = None
        self.closing = False
        self.loop = asyncio.get_running_loop()
        self.last_received = self.loop.time()
        self.tasks: list[asyncio.Task] = []
        # Accept first: the token comes as the first message, never in the URL.
        await self.accept()
        self.tasks.append(asyncio.create_task(self._auth_deadline()))

    async def disconnect(self, code: int) -> None:
        # The base class has already left self.groups.
        await self._cancel_tasks()

    async def _cancel_tasks(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        self.last_received = self.loop.time()
        if text_data is None:
            return await self._reject("invalid_json", "Send JSON text frames, not binary.")
        try:
            content = json.loads(text_data)
        except ValueError:
            return await self._reject("invalid_json", "The message is not valid JSON.")
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            return await self._reject(
                "invalid_message", 'A message is a JSON object with a string "type".'
            )
        return await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs) -> None:
        kind = content["type"]
        if self.user is None:
            if kind == "auth":
                return await self._authenticate(content.get("token"))
            return await self.close(code=CLOSE_UNAUTHORIZED)
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "pong":
            pass  # the answer to our heartbeat: receive() noted that the client lives
        elif kind == "auth":
            await self._error("already_authenticated", "This socket is already authenticated.")
        else:
            await self._error("unknown_type", f"Unknown message type {kind!r}.")

    async def notification_push(self, event: dict[str, Any]) -> None:
        """A service pushed a message to one of our groups: forward it."""
        if not self.closing:
            await self.send_json(event["message"])

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    # --- internals ---------------------------------------------------------

    async def _authenticate(self, token: Any) -> None:
        user = await user_for_access_token(token)
        if self.closing:  # the auth deadline passed while the database answered
            return None
        if user is None:
            return await self.close(code=CLOSE_UNAUTHORIZED)
        self.user = user
        self.tasks[0].cancel()  # the auth deadline
        groups = [user_group(user.pk)] + ([STAFF_GROUP] if user.is_staff else [])
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)  # left by the base class on disconnect
        await self.send_json({"type": "auth.ok"})
        self.tasks.append(asyncio.create_task(self._heartbeat()))

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(settings.NOTIFICATIONS_AUTH_TIMEOUT)
        if self.user is None:
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def _heartbeat(self) -> None:
        interval = settings.NOTIFICATIONS_HEARTBEAT
        joined_at = self.loop.time()
        while True:
            await asyncio.sleep(interval)
            now = self.loop.time()
            if now - self.last_received >= IDLE_HEARTBEATS * interval:
                logger.info("closing idle notification socket", extra={"user": str(self.user.pk)})
                await self.close(code=CLOSE_IDLE)
                return
            if now - joined_at >= GROUP_REFRESH_SECONDS:
                for group in self.groups:
                    await self.channel_layer.group_add(group, self.channel_name)
                joined_at = now
            await self.send_json({"type": "heartbeat"})

    async def _reject(self, code: str, detail: str) -> None:
        """A malformed message: fatal before authentication, an error after."""
        if self.user is None:
            return await self.close(code=CLOSE_UNAUTHORIZED)
        return await self._error(code, detail)

    async def _error(self, code: str, detail: str) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail})
