"""Replay cached anonymous reads at the ASGI layer, before Django runs.

A cached catalog read costs little inside Django (no SQL), yet most of its
time is the stack around the cache lookup: the hop to a web thread, eleven
middleware, DRF's dispatch, and three Redis round trips (throttle counts,
generations, entry). docs/performance.md, finding 14, has the figures. This
layer answers the commonest case, an anonymous GET that Django has already
answered, from the event loop in one Redis round trip, with the bytes and
the headers Django sent.

How an answer gets here. A view opts in by being a `ReplayableRead` (the
catalog's `CachedReadMixin`). When such a view answers 200 with a cacheable
body, it marks the response with a `Replay` (the generation keys the body
depends on, and their values when the body was built). After the middleware
chain, `SyncChainASGIHandler` calls `ReplayCache.store()`, which records the
body and the final headers (less the per-request ones) under a key made of
the raw request: path, query string and every header the answer may depend
on (`BASE_KEY_HEADERS`, CACHE_REPLAY_EXTRA_KEY_HEADERS). Nothing is stored
for a request that carried credentials, a cookie or an Origin.

How it is served. For a GET without credentials, cookie, Origin, body or
conditional header, on a route whose view is a `ReplayableRead`, one Redis
script (`LOOKUP_SCRIPT`, one command) counts the request for the anonymous
throttle, reads the entry and reads the current generations. The entry is
served if its generations are still the current ones (any catalog write bumps
them, catalog/cache.py) and the client is within its rate; a fresh
X-Request-ID is added and the access log written as the middleware would.
Anything else goes to Django unchanged, with the throttle count handed on
(core/throttling.py) so it is not counted twice: an unknown route, a miss, a
stale entry, a refused rate (Django answers the 429), a Redis failure. The
generations it read are handed on as well (`generations_read_before`): the
miss path does not read them a second time.

Off in embedded mode (no Redis) and with CACHE_REPLAY=false.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpResponse
from django.http.request import HttpHeaders
from django.urls import Resolver404, get_urlconf, resolve
from django_redis.cache import RedisCache
from redis import asyncio as aioredis
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from storefront.core.middleware import log_access, request_id_from
from storefront.core.throttling import (
    PRECOUNT_SCOPE_KEY,
    parse_rate,
    window_keys,
    within_rate,
)

logger = logging.getLogger("storefront.replay")

REPLAY_KEY_PREFIX = "resp:replay:"
GENERATIONS_SCOPE_KEY = "storefront.generations"
# Headers Django adds per request: never stored, made anew on a replay.
PER_REQUEST_HEADERS = frozenset({"x-request-id", "x-cache"})
# A request with any of these goes to Django: the answer depends on who asks
# (credentials, cookies), on CORS (Origin), on a body, or is conditional.
DECLINE_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "origin",
        "if-none-match",
        "if-match",
        "if-modified-since",
        "if-unmodified-since",
        "if-range",
        "range",
        "content-length",
        "transfer-encoding",
    }
)
# Every header a cached read's body or headers may depend on: URLs are built from
# the host and scheme (proxies' headers included), the renderer from Accept.
BASE_KEY_HEADERS = (
    "host",
    "accept",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-proto",
    "forwarded",
)


# The lookup, one command (EVALSHA; half the client's time of the same five
# commands pipelined, measured): KEYS are the throttle's current and previous
# window, the entry, then the generations; ARGV[1] is the throttle window's
# TTL, 0 for no throttle. Returns {count, previous count, entry, {generations}}.
LOOKUP_SCRIPT = """
local count, previous = false, false
if tonumber(ARGV[1]) > 0 then
  count = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  previous = redis.call('GET', KEYS[2])
end
return {count, previous, redis.call('GET', KEYS[3]), redis.call('MGET', unpack(KEYS, 4))}
"""


class ReplayableRead:
    """A view whose anonymous GET answers may be replayed (see the module docstring)."""

    @classmethod
    def replay_generation_keys(cls, url_kwargs: Mapping[str, Any]) -> list[str]:
        """The cache keys of the generations an answer for these URL kwargs depends on."""
        raise NotImplementedError


def generations_read_before(request, keys: list[str]) -> tuple[int, ...] | None:
    """The values of the generations `keys` if this request read them before Django
    (in the replay lookup, a moment ago, in the same request), else None."""
    scope = getattr(getattr(request, "_request", request), "scope", None)
    read = scope.get(GENERATIONS_SCOPE_KEY) if scope else None
    if read is None or read[0] != tuple(keys):
        return None
    return read[1]


@dataclass(frozen=True)
class Replay:
    """Set as `response.replay` by a `ReplayableRead` view: the answer may be replayed
    while the generations of its `replay_generation_keys` keep these values (as
    read before the answer was built) and for at most `timeout` seconds."""

    generations: tuple[int, ...]
    timeout: int


def key_headers() -> tuple[str, ...]:
    names = list(BASE_KEY_HEADERS)
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:  # e.g. HTTP_X_FORWARDED_PROTO -> x-forwarded-proto
        names.append(proxy_header[0].removeprefix("HTTP_").lower().replace("_", "-"))
    names.extend(name.lower() for name in settings.CACHE_REPLAY_EXTRA_KEY_HEADERS)
    return tuple(dict.fromkeys(names))


@functools.lru_cache(maxsize=4096)
def _resolve_replayable(urlconf: str, path_info: str):
    """(view class, URL kwargs) of a `ReplayableRead` route, else None; remembered
    per URLconf and path (resolving took a fifth of a lookup's time)."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return None
    view_class = getattr(match.func, "cls", None)
    if not (isinstance(view_class, type) and issubclass(view_class, ReplayableRead)):
        return None
    return view_class, MappingProxyType(match.kwargs)


class ReplayCache:
    """One per web process; see the module docstring."""

    anon_scope: ClassVar[str] = "anon"

    def __init__(self) -> None:
        self.key_headers = key_headers()
        self.location = settings.CACHES["default"]["LOCATION"]
        # One client per event loop (a server has one; tests make many).
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def from_settings(cls) -> ReplayCache | None:
        """A replay cache for this process, or None (CACHE_REPLAY off, or no Redis cache)."""
        if not settings.CACHE_REPLAY or not isinstance(caches["default"], RedisCache):
            return None
        return cls()

    # --- the request ---------------------------------------------------------------

    def _candidate(self, scope: dict) -> tuple[dict[bytes, bytes], str] | None:
        """(headers, path_info) if `scope` is a request this layer may answer, else None."""
        if scope.get("method") != "GET":
            return None
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers", ()):
            name = name.lower()
            if name.decode("latin1") in DECLINE_HEADERS or name in headers:
                return None  # a repeated header: leave its meaning to Django
            headers[name] = value
        root = scope.get("root_path", "")
        return headers, scope["path"].removeprefix(root) if root else scope["path"]

    def _key(self, scope: dict, headers: dict[bytes, bytes]) -> str:
        parts = [
            scope.get("scheme", "http"),
            scope.get("root_path", ""),
            scope["path"],
            scope.get("query_string", b"").decode("latin1"),
        ]
        parts.extend(headers.get(name.encode(), b"").decode("latin1") for name in self.key_headers)
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
        return REPLAY_KEY_PREFIX + digest

    @staticmethod
    def _view_class(path_info: str) -> tuple[type[ReplayableRead], MappingProxyType] | None:
        return _resolve_replayable(get_urlconf() or settings.ROOT_URLCONF, path_info)

    @staticmethod
    def _client_key(scope: dict, headers: dict[bytes, bytes]) -> str:
        # DRF's own rule (X-Forwarded-For and NUM_PROXIES), on the META it would see.
        meta = {"REMOTE_ADDR": (scope.get("client") or ("",))[0]}
        if b"x-forwarded-for" in headers:
            meta["HTTP_X_FORWARDED_FOR"] = headers[b"x-forwarded-for"].decode("latin1")
        return BaseThrottle().get_ident(SimpleNamespace(META=meta, headers=HttpHeaders(meta)))

    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(
                self.location, socket_timeout=1, socket_connect_timeout=1
            )
            self._clients[loop] = client
            self._lookup = client.register_script(LOOKUP_SCRIPT)
        return client

    async def aclose(self) -> None:
        """Close this event loop's Redis connections (a server's loop lives as long as
        the process; tests that run many loops close theirs)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    # --- serving ---------------------------------------------------------------------

    async def answer(self, scope: dict, send) -> bool:
        """Answer `scope` from a recorded answer if possible; True when it did."""
        candidate = self._candidate(scope)
        if candidate is None:
            return False
        headers, path_info = candidate
        found = self._view_class(path_info)
        if found is None:
            return False
        view_class, url_kwargs = found
        started = time.perf_counter()
        try:
            generation_keys = view_class.replay_generation_keys(url_kwargs)
            rate = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(self.anon_scope))
            client_key = self._client_key(scope, headers) if rate else ""
            now = time.time()
            if rate:
                limit, duration = rate
                throttle_keys = window_keys(self.anon_scope, client_key, now, duration)
                ttl = 2 * duration
            else:
                throttle_keys, ttl = ("-", "-"), 0  # not read when ttl is 0
            keys = [
                *(cache.make_key(key) for key in throttle_keys),
                cache.make_key(self._key(scope, headers)),
                *(cache.make_key(key) for key in generation_keys),
            ]
            client = self._client()
            current, previous, raw_entry, generations = await self._lookup(
                keys=keys, args=[ttl], client=client
            )
        except Exception:  # Redis unreachable or slow: Django copes (and logs it)
            logger.debug("replay skipped: cache unavailable", exc_info=True)
            return False
        if None not in generations:  # Django's miss path need not read them again
            scope[GENERATIONS_SCOPE_KEY] = (
                tuple(generation_keys),
                tuple(int(value) for value in generations),
            )
        if rate:
            current, previous = int(current), int(previous or 0)
            scope[PRECOUNT_SCOPE_KEY] = {
                "scope": self.anon_scope,
                "client_key": client_key,
                "now": now,
                "current": current,
                "previous": previous,
            }
            if not within_rate(
                current=current, previous=previous, now=now, limit=limit, duration=duration
            ):
                return False  # Django answers the 429 (and gives the count back)
        if raw_entry is None or None in generations:
            return False
        entry = cache.client.decode(raw_entry)
        if tuple(entry["generations"]) != scope[GENERATIONS_SCOPE_KEY][1]:
            return False  # stale: a write happened since; Django rebuilds and records
        scope.pop(PRECOUNT_SCOPE_KEY, None)  # counted here, and answered here
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin1"))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    *entry["headers"],
                    (b"X-Cache", b"replay"),
                    (b"X-Request-ID", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": entry["body"]})
        log_access(
            method="GET",
            path=scope["path"],
            status=200,
            started=started,
            user_id=None,
            request_id=request_id,
        )
        return True

    # --- recording -------------------------------------------------------------------

    def store(
        self, scope: dict, response: HttpResponse, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """Record Django's answer to `scope` for replay, if it is one (in the request's thread)."""
        replay: Replay | None = getattr(response, "replay", None)
        if (
            replay is None
            or response.status_code != 200
            or response.streaming
            or response.cookies
            or self._candidate(scope) is None
        ):
            return
        entry = {
            "body": response.content,
            "headers": [
                (name, value)
                for name, value in headers
                if name.decode("latin1").lower() not in PER_REQUEST_HEADERS
            ],
            "generations": replay.generations,
        }
        request_headers = self._candidate(scope)[0]
        cache.set(self._key(scope, request_headers), entry, timeout=replay.timeout)
