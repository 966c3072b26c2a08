"""Rate limits: a sliding-window counter per client, one cache round trip per request.

DRF's `SimpleRateThrottle` keeps each client's request times as a list in the
cache: a get and a set per throttle class per request (with the anon and user
classes, four Redis round trips on every request, a third of a cached read's
time), and two concurrent requests can both read the list before either
writes it, so a burst gets through uncounted.

Here a client's requests are counted per fixed window (`INCR`, atomic), and
the limit applies to a sliding window: this window's count plus the previous
window's, weighted by how much of it the sliding window still covers (the
approximation Cloudflare and nginx-style limiters use). With Redis it is one
pipelined round trip: INCR and EXPIRE of this window's key, GET of the last
one. A refused request is taken back off the count, so a client that keeps
knocking while refused is let in again once its rate allows.

* `RateThrottle`: every endpoint; the `user` rate for an authenticated user
  (per user), the `anon` rate otherwise (per client address, NUM_PROXIES).
* `AuthRateThrottle`: login and registration, the strict `auth` rate per
  client address, whoever is logged in.

Rates come from `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` at request time
("N/s", "N/min", "N/hour", "N/day"). If the cache is unreachable, requests are
let through (availability first) and a warning is logged.

An anonymous catalog read is counted before Django by the replay layer
(core/replay.py), in the same Redis round trip as its cache lookup. When it
cannot answer, it hands its count on in the ASGI scope (`PRECOUNT_SCOPE_KEY`)
and `RateThrottle` decides on that count instead of counting again: one
request, one count.
"""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import caches
from django_redis.cache import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger("storefront.throttling")

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PRECOUNT_SCOPE_KEY = "storefront.throttle"


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """ "100/min" -> (100, 60); None (no limit) for no rate."""
    if rate is None:
        return None
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def window_keys(scope: str, client_key: str, now: float, duration: int) -> tuple[str, str]:
    """The (current, previous) window counters of a client, as cache keys (unprefixed)."""
    window = int(now // duration)
    base = f"throttle:{scope}:{client_key}"
    return f"{base}:{window}", f"{base}:{window - 1}"


def within_rate(*, current: int, previous: int, now: float, limit: int, duration: int) -> bool:
    """Whether the sliding window, this request included, stays within `limit`."""
    elapsed = (now % duration) / duration
    return current + previous * (1 - elapsed) <= limit


def _redis_client():
    """The raw Redis client behind the default cache, or None for another backend."""
    backend = caches["default"]
    return backend.client.get_client(write=True) if isinstance(backend, RedisCache) else None


def _count(current_key: str, previous_key: str, ttl: int) -> tuple[int, int]:
    """Count one request in the current window; return (current, previous) counts."""
    cache = caches["default"]
    client = _redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        pipe.incr(cache.make_key(current_key))
        pipe.expire(cache.make_key(current_key), ttl)
        pipe.get(cache.make_key(previous_key))
        current, _, previous = pipe.execute()
        return int(current), int(previous or 0)
    # Any other cache backend (embedded mode's local memory): same counts, in
    # three calls; add() then incr() keeps the increment atomic.
    cache.add(current_key, 0, ttl)
    current = cache.incr(current_key)
    return current, int(cache.get(previous_key) or 0)


def _uncount(current_key: str) -> None:
    cache = caches["default"]
    client = _redis_client()
    if client is not None:
        client.decr(cache.make_key(current_key))
    else:
        cache.decr(current_key)


def retry_after(*, current: int, previous: int, elapsed: float, limit: int, duration: int) -> int:
    """Seconds until one more request fits, given the counts without it.

    Within this window the previous window's weight decays linearly; if this
    window alone is already full, the wait runs into the next window, where
    this window's count becomes the decaying one.
    """
    room = limit - 1 - current  # what the previous window's weight may still be
    if room >= 0:
        if previous == 0:
            return 1
        fraction = max(0.0, 1 - room / previous - elapsed)
        return _whole_seconds(fraction * duration)
    # Next window: 1 + current * (1 - e) <= limit. After a full window this is
    # up to 1.5 periods away: the approximation spreads that window's requests
    # evenly over it, so they keep weighing until half the next one has passed.
    next_fraction = max(0.0, 1 - (limit - 1) / current) if current else 0.0
    return _whole_seconds((1 - elapsed + next_fraction) * duration)


def _whole_seconds(seconds: float) -> int:
    # Rounded first: 65.00000000000001 s of float noise is 65, not 66.
    return max(1, math.ceil(round(seconds, 6)))


class SlidingWindowThrottle(BaseThrottle):
    scope: str

    def get_scope(self, request) -> str:
        return self.scope

    def get_client_key(self, request) -> str:
        return self.get_ident(request)

    def allow_request(self, request, view) -> bool:
        self._wait: int | None = None
        scope = self.get_scope(request)
        rate = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(scope))
        if rate is None:
            return True
        limit, duration = rate
        client_key = self.get_client_key(request)
        counted = _precounted(request, scope, client_key)
        if counted is not None:
            now, current, previous = counted
            current_key, _ = window_keys(scope, client_key, now, duration)
        else:
            now = time.time()
            current_key, previous_key = window_keys(scope, client_key, now, duration)
            try:
                current, previous = _count(current_key, previous_key, 2 * duration)
            except Exception:  # the cache is down: let the request through
                logger.warning("throttle skipped: cache unavailable", exc_info=True)
                return True
        if within_rate(current=current, previous=previous, now=now, limit=limit, duration=duration):
            return True
        elapsed = (now % duration) / duration
        try:
            _uncount(current_key)
        except Exception:  # pragma: no cover - the cache failed between two calls
            logger.warning("throttle could not give a refused request back", exc_info=True)
        self._wait = retry_after(
            current=current - 1,
            previous=previous,
            elapsed=elapsed,
            limit=limit,
            duration=duration,
        )
        return False

    def wait(self) -> int | None:
        return self._wait


def _precounted(request, scope: str, client_key: str) -> tuple[float, int, int] | None:
    """(now, current, previous) if this request was already counted for `scope` and
    `client_key` before Django (core/replay.py), else None. Taken once."""
    asgi_scope = getattr(getattr(request, "_request", request), "scope", None)
    if not asgi_scope:
        return None
    counted = asgi_scope.get(PRECOUNT_SCOPE_KEY)
    if counted is None or counted["scope"] != scope or counted["client_key"] != client_key:
        return None
    del asgi_scope[PRECOUNT_SCOPE_KEY]
    return counted["now"], counted["current"], counted["previous"]


class RateThrottle(SlidingWindowThrottle):
    """The `user` rate per user when authenticated, else the `anon` rate per address."""

    def get_scope(self, request) -> str:
        return "user" if request.user and request.user.is_authenticated else "anon"

    def get_client_key(self, request) -> str:
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return self.get_ident(request)


class AuthRateThrottle(SlidingWindowThrottle):
    """Strict per-client limit on login and registration (brute force, spam)."""

    scope = "auth"
