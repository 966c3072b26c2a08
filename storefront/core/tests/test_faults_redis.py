"""Redis (cache, throttles) stops under the running server, then comes back.

The server runs as a subprocess in full mode on the test database, with a
private redis-server as its cache: the test stops and restarts only that one
(by its PID, on the same port). The broker stays on the tests' Redis, so
/readyz must name the cache, and only the cache.
"""

from __future__ import annotations

import pytest
import requests

from storefront.core.testing import PrivateRedis, free_port
from storefront.core.tests.faults import full_env, poll, server
from storefront.orders.tests.factories import product

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RATE = 3  # anonymous requests a minute, so that the throttle is easy to see


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=15)


def test_redis_down_reads_from_the_database_throttles_fail_open_and_it_recovers():
    # Given a product and a server whose cache is a private Redis
    p = product(stock=5)
    cache_port = free_port()
    cache = PrivateRedis(cache_port)
    env = full_env(
        REDIS_URL=cache.url, BROKER_URL=full_env()["REDIS_URL"], THROTTLE_ANON=f"{RATE}/min"
    )
    try:
        with server(env) as (base, web):
            products = f"{base}/api/v1/products/"
            # (the throttle works while Redis is up)
            statuses = [get(products).status_code for _ in range(RATE + 1)]
            assert statuses == [200] * RATE + [429], web.output()
            assert get(f"{base}/readyz").status_code == 200

            # When Redis stops
            cache.stop()

            # Then the catalog is read from the database and the throttle lets
            # everyone through rather than refusing everyone
            for _ in range(2 * RATE):
                response = get(products)
                assert response.status_code == 200, (response.text, web.output())
                assert [item["id"] for item in response.json()["results"]] == [str(p.id)]
            assert get(f"{base}/api/v1/products/{p.id}/").status_code == 200
            # and readiness names the cache, and only the cache
            ready = get(f"{base}/readyz")
            assert ready.status_code == 503
            assert ready.headers["Content-Type"] == "application/problem+json"
            body = ready.json()
            assert body["code"] == "dependency_unavailable"
            assert body["checks"]["cache"].startswith("unavailable")
            assert body["checks"]["database"] == body["checks"]["broker"] == "ok"

            # When Redis is back on the same port (nothing else restarted)
            cache = PrivateRedis(cache_port)

            # Then the server is ready again, and throttles count again
            poll(lambda: get(f"{base}/readyz").status_code == 200, timeout=20)
            statuses = [get(products).status_code for _ in range(RATE + 2)]
            assert 429 in statuses, statuses
            assert set(statuses) <= {200, 429}
    finally:
        cache.stop()
