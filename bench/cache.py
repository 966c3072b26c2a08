"""The "uncached" variant of cached catalog reads, for benchmarks only.

A request with `X-Bench-Cache: bypass` (honoured only by bench/settings.py,
never in production) sees the response cache as always empty and never
stores into it: the whole miss path runs (cache key, generations, query,
serialisation, ETag) except the final writes of the body (the view's entry,
and the replay layer's: the middleware unmarks the answer), which would
otherwise fill Redis with one entry per request. Every other cache use
(generations, throttles) is untouched. The header is part of the replay
layer's key (bench/settings.py), so a bypassed request is never answered
from an entry that a cached request recorded: it pays the replay layer's
lookup, as a real miss does, then runs Django.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django_redis.cache import RedisCache

from storefront.catalog.api.caching import RESPONSE_KEY_PREFIX

HEADER = "X-Bench-Cache"
_bypass: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_cache_bypass", default=False)


class CacheBypassMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        bypass = request.headers.get(HEADER) == "bypass"
        token = _bypass.set(bypass)
        try:
            return _unmarked(self.get_response(request), bypass)
        finally:
            _bypass.reset(token)

    async def _acall(self, request):
        bypass = request.headers.get(HEADER) == "bypass"
        token = _bypass.set(bypass)
        try:
            return _unmarked(await self.get_response(request), bypass)
        finally:
            _bypass.reset(token)


def _unmarked(response, bypass: bool):
    # The replay layer records after this middleware has returned: a bypassed
    # answer is taken off its list here.
    if bypass and getattr(response, "replay", None) is not None:
        response.replay = None
    return response


def _bypassed(key: str) -> bool:
    return _bypass.get() and RESPONSE_KEY_PREFIX in str(key)


class BypassableRedisCache(RedisCache):
    def get(self, key, default=None, version=None, client=None):
        if _bypassed(key):
            return default
        return super().get(key, default=default, version=version, client=client)

    def set(self, key, *args, **kwargs):
        if _bypassed(key):
            return True
        return super().set(key, *args, **kwargs)
