"""Settings of the benchmarked server: production settings plus two bench-only hooks.

The server under test runs `storefront.asgi:application` with
DJANGO_SETTINGS_MODULE=bench.settings. Everything comes from
storefront.settings unchanged, except, and only when asked for:

* BENCH_COUNT_QUERIES=1 adds `bench.querycount.QueryCountMiddleware` (SQL
  statements per request in the `X-SQL-Queries` response header);
* the cache backend is `bench.cache.BypassableRedisCache`, which behaves
  exactly like django-redis unless a request carries `X-Bench-Cache: bypass`,
  in which case cached catalog responses are neither read nor stored (the
  honest "uncached" variant: the whole miss path runs, generations included);

Database connections are the production ones (DB_POOL, DB_CONN_MAX_AGE): the
`persistent` variant of bench/run.py sets them back to persistent connections.
"""

from __future__ import annotations

import os

from storefront.settings import *  # noqa: F403
from storefront.settings import CACHE_REPLAY_EXTRA_KEY_HEADERS, CACHES, MIDDLEWARE, env_bool

if env_bool("BENCH_COUNT_QUERIES", False):
    MIDDLEWARE = ["bench.querycount.QueryCountMiddleware", *MIDDLEWARE]
    # Counted by a middleware, so every request must run Django: a replayed answer
    # would carry the X-SQL-Queries of the request that recorded it. (It runs none.)
    CACHE_REPLAY = False

if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    CACHES["default"]["BACKEND"] = "bench.cache.BypassableRedisCache"
    MIDDLEWARE = ["bench.cache.CacheBypassMiddleware", *MIDDLEWARE]
    # The bypass header changes the answer's path: its own replay key (bench/cache.py).
    CACHE_REPLAY_EXTRA_KEY_HEADERS = [*CACHE_REPLAY_EXTRA_KEY_HEADERS, "x-bench-cache"]

BENCH = True
BENCH_RUN_ID = os.environ.get("BENCH_RUN_ID", "")
