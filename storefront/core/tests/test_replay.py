"""Anonymous cached reads are answered before Django with what Django answered, never
once a write made them stale, never to anyone Django would answer differently, and
counted once by the throttle."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog import services
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ReviewFactory,
)
from storefront.catalog.tests.test_cache import read_urls
from storefront.core.asgi import SyncChainASGIHandler
from storefront.core.replay import ReplayCache
from storefront.core.testing import asgi_request, asgi_scope, free_port
from storefront.core.throttling import window_keys

# Each request runs Django in a thread of the handler's pool: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

PER_REQUEST = {"x-request-id", "x-cache"}
JSON = (b"accept", b"application/json")


@pytest.fixture
def make_handler():
    """Handlers serving on one event loop of their own, as in a server process (the
    replay layer keeps a Redis connection pool per loop), closed after the test."""
    loop = asyncio.new_event_loop()
    handlers = []

    def make() -> SyncChainASGIHandler:
        handler = SyncChainASGIHandler()
        handler.test_loop = loop
        handlers.append(handler)
        return handler

    yield make
    for handler in handlers:
        if handler.replay is not None:
            loop.run_until_complete(handler.replay.aclose())
    loop.close()


@pytest.fixture
def handler(make_handler) -> SyncChainASGIHandler:
    return make_handler()


@pytest.fixture
def product():
    product = ProductFactory(
        name="Original", category=CategoryFactory(slug="tools", name="Tools"), is_featured=True
    )
    ProductImageFactory(product=product)
    ReviewFactory(product=product, rating=4)
    return product


def get(handler, url: str, *headers: tuple[bytes, bytes], method: str = "GET"):
    path, _, query = url.partition("?")
    scope = asgi_scope(path, method=method, headers=list(headers), query_string=query.encode())
    if any(name == b"host" for name, _ in headers):  # in place of testserver
        scope["headers"] = list(headers)
    return handler.test_loop.run_until_complete(asgi_request(handler, scope))


def stable(headers: dict) -> dict:
    return {name: value for name, value in headers.items() if name not in PER_REQUEST}


# --- answers ----------------------------------------------------------------------------


def test_every_cached_read_is_replayed_with_the_bytes_and_headers_django_sent(handler, product):
    for url in read_urls(product):
        # given an anonymous read Django answered
        status, first_headers, first_body = get(handler, url, JSON)
        assert status == 200, url
        assert first_headers["x-cache"] == "miss", url
        # when the same request comes again
        with mock.patch.object(SyncChainASGIHandler, "serve") as django:
            status, headers, body = get(handler, url, JSON)
        # then it is answered before Django, with the same body and headers
        django.assert_not_called()
        assert status == 200, url
        assert headers["x-cache"] == "replay", url
        assert body == first_body, url
        assert stable(headers) == stable(first_headers), url


def test_an_answer_is_recorded_after_the_middleware_with_its_final_headers(handler, product):
    url = f"/api/v1/products/{product.pk}/"
    _, first, _ = get(handler, url, JSON)
    _, replayed, _ = get(handler, url, JSON)
    # The security and content headers come from the middleware, not the view.
    for name in ("content-security-policy", "x-frame-options", "x-content-type-options", "vary"):
        assert replayed[name] == first[name], name
    assert replayed["content-length"] == first["content-length"]
    assert replayed["etag"] == first["etag"]


def test_a_replay_gets_a_request_id_of_its_own_or_the_clients(handler, product):
    url = f"/api/v1/products/{product.pk}/"
    _, first, _ = get(handler, url, JSON)
    _, second, _ = get(handler, url, JSON)
    _, third, _ = get(handler, url, JSON, (b"x-request-id", b"gateway-42"))
    _, fourth, _ = get(handler, url, JSON, (b"x-request-id", b"bad id with spaces"))
    assert second["x-cache"] == third["x-cache"] == fourth["x-cache"] == "replay"
    assert second["x-request-id"] != first["x-request-id"]
    assert third["x-request-id"] == "gateway-42"
    assert fourth["x-request-id"] not in ("", "bad id with spaces")


def test_a_replay_writes_the_access_log_line(handler, product, caplog):
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="storefront.access"):
        _, headers, _ = get(handler, url, JSON)
    (record,) = [r for r in caplog.records if r.name == "storefront.access"]
    assert headers["x-cache"] == "replay"
    assert (record.method, record.path, record.status, record.user_id) == ("GET", url, 200, None)
    assert record.request_id == headers["x-request-id"]
    assert record.duration_ms >= 0


# --- invalidation -----------------------------------------------------------------------


def test_a_product_write_makes_its_replayed_detail_stale(handler, product):
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    assert get(handler, url, JSON)[1]["x-cache"] == "replay"
    # when the product changes (the generation is bumped on commit)
    services.product_update(product=product, name="Renamed")
    # then the next read is Django's, with the new data, and is replayed from then on
    status, headers, body = get(handler, url, JSON)
    assert (status, headers["x-cache"]) == (200, "miss")
    assert b'"name":"Renamed"' in body
    assert get(handler, url, JSON)[1:] == (mock.ANY, body)
    assert get(handler, url, JSON)[1]["x-cache"] == "replay"


def test_a_catalog_write_makes_replayed_lists_stale(handler, product):
    url = "/api/v1/products/"
    get(handler, url, JSON)
    assert get(handler, url, JSON)[1]["x-cache"] == "replay"
    services.product_create(
        sku="NEW-1",
        slug="new-1",
        name="Brand new",
        category=product.category,
        price=Decimal("9.99"),
        currency="USD",
        stock=3,
    )
    _, headers, body = get(handler, url, JSON)
    assert headers["x-cache"] == "miss"
    assert b"Brand new" in body


def test_a_replay_is_not_served_once_its_generation_is_evicted(handler, product):
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    cache.delete_many(["catalog:epoch"])  # evicted: reseeded with a new random value
    assert get(handler, url, JSON)[1]["x-cache"] != "replay"


def test_a_miss_reuses_the_generations_the_lookup_read(handler, product):
    from storefront.catalog.api import caching

    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)  # seeds the generations
    services.product_update(product=product, name="Renamed")  # the entry is stale now
    with mock.patch.object(
        caching, "read_generations", wraps=caching.read_generations
    ) as read_again:
        _, headers, body = get(handler, url, JSON)
        assert headers["x-cache"] == "miss"
        assert b'"name":"Renamed"' in body
        read_again.assert_not_called()  # one Redis round trip fewer on a miss
        # A request the lookup declined (a cookie) reads them itself.
        get(handler, url, JSON, (b"cookie", b"sessionid=none"))
        read_again.assert_called_once()


# --- who is answered --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        (b"authorization", b"Bearer not-even-a-token"),
        (b"cookie", b"sessionid=abc"),
        (b"origin", b"https://shop.example"),
        (b"if-none-match", b'"anything"'),
        (b"if-modified-since", b"Sun, 29 Nov 2026 10:00:00 GMT"),
        (b"range", b"bytes=0-10"),
    ],
)
def test_requests_django_would_answer_differently_go_to_django(handler, product, header):
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    assert get(handler, url, JSON)[1]["x-cache"] == "replay"
    _, headers, _ = get(handler, url, JSON, header)
    assert headers.get("x-cache") != "replay"


def test_a_conditional_request_is_answered_304_by_django(handler, product):
    url = f"/api/v1/products/{product.pk}/"
    _, first, _ = get(handler, url, JSON)
    status, _, body = get(handler, url, JSON, (b"if-none-match", first["etag"].encode()))
    assert (status, body) == (304, b"")


def test_head_and_writes_are_never_replayed(handler, product):
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    status, headers, _ = get(handler, url, JSON, method="HEAD")
    assert status == 200
    assert headers["x-cache"] == "hit"  # Django's own cache, not the replay
    status, _, _ = get(handler, url, JSON, method="DELETE")
    assert status == 401


def test_another_host_or_media_type_is_keyed_apart(handler, product, settings):
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    # Another host: the body's absolute URLs differ, so Django answers.
    _, headers, body = get(handler, url, JSON, (b"host", b"other.example"))
    assert headers["x-cache"] != "replay"
    assert b"http://other.example/api/v1/products/" in body
    # Another Accept: the browsable API is not even cached.
    _, headers, _ = get(handler, url, (b"accept", b"text/html"))
    assert headers.get("x-cache") != "replay"
    assert headers["content-type"].startswith("text/html")


def test_an_unknown_host_is_refused_by_django_even_after_a_replay(handler, product):
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    assert get(handler, url, JSON)[1]["x-cache"] == "replay"
    assert get(handler, url, JSON, (b"host", b"evil.example"))[0] == 400


def test_a_staff_answer_is_never_recorded(handler, product):
    from rest_framework_simplejwt.tokens import AccessToken

    product.is_active = False
    product.save()
    url = f"/api/v1/products/{product.pk}/"
    token = str(AccessToken.for_user(StaffFactory()))
    # given staff read an inactive product (twice: Django's own cache then hits)
    for _ in range(2):
        status, headers, _ = get(handler, url, JSON, (b"authorization", f"Bearer {token}".encode()))
        assert status == 200
        assert headers["x-cache"] in ("miss", "hit")
    # then an anonymous client is not shown it
    status, headers, _ = get(handler, url, JSON)
    assert status == 404
    assert headers.get("x-cache") != "replay"


def test_routes_outside_the_cached_reads_are_left_to_django(handler, product):
    for url in ("/healthz", "/api/v1/", "/api/v1/auth/me/", "/nowhere/"):
        get(handler, url, JSON)
        _, headers, _ = get(handler, url, JSON)
        assert headers.get("x-cache") != "replay", url


# --- throttling -------------------------------------------------------------------------


def _anon_count(client_key: str = "127.0.0.1") -> int:
    current, _ = window_keys("anon", client_key, time.time(), 60)
    return int(cache.get(current) or 0)


def test_replayed_and_django_answers_are_each_counted_once(handler, product, rates):
    rates(anon="1000/min")
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)  # a miss: counted before Django, handed on
    assert _anon_count() == 1
    get(handler, url, JSON)  # a replay
    get(handler, url, JSON)
    assert _anon_count() == 3


def test_the_anonymous_rate_holds_for_replayed_reads(handler, product, rates):
    rates(anon="3/min")
    url = f"/api/v1/products/{product.pk}/"
    answers = [get(handler, url, JSON) for _ in range(5)]
    assert [status for status, _, _ in answers] == [200, 200, 200, 429, 429]
    assert [h.get("x-cache") for _, h, _ in answers[:3]] == ["miss", "replay", "replay"]
    _, headers, body = answers[3]
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["retry-after"]) >= 1
    assert b'"code":"throttled"' in body
    # a refused request is given back, as on Django's path
    assert _anon_count() == 3


def test_without_an_anonymous_rate_replays_are_served_and_nothing_is_counted(
    handler, product, rates
):
    rates(anon=None)
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON)
    assert get(handler, url, JSON)[1]["x-cache"] == "replay"
    assert _anon_count() == 0


def test_the_client_behind_a_proxy_is_counted_by_drfs_rule(handler, product, rates, settings):
    rates(anon="1000/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    url = f"/api/v1/products/{product.pk}/"
    forwarded = (b"x-forwarded-for", b"203.0.113.7, 10.0.0.1")
    get(handler, url, JSON, forwarded)
    get(handler, url, JSON, forwarded)
    assert _anon_count("10.0.0.1") == 2
    assert _anon_count("127.0.0.1") == 0


# --- failure and settings ---------------------------------------------------------------


def test_with_the_cache_unreachable_reads_go_to_django(make_handler, product):
    handler = make_handler()
    handler.replay.location = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    status, _, body = get(handler, f"/api/v1/products/{product.pk}/", JSON)
    assert status == 200
    assert b'"name":"Original"' in body


def test_replay_is_off_when_disabled_or_without_redis(settings):
    settings.CACHE_REPLAY = False
    assert ReplayCache.from_settings() is None
    assert SyncChainASGIHandler().replay is None
    settings.CACHE_REPLAY = True
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    assert ReplayCache.from_settings() is None


def test_extra_key_headers_key_answers_apart(make_handler, product, settings):
    settings.CACHE_REPLAY_EXTRA_KEY_HEADERS = ["x-tenant"]
    handler = make_handler()
    url = f"/api/v1/products/{product.pk}/"
    get(handler, url, JSON, (b"x-tenant", b"a"))
    assert get(handler, url, JSON, (b"x-tenant", b"a"))[1]["x-cache"] == "replay"
    assert get(handler, url, JSON, (b"x-tenant", b"b"))[1]["x-cache"] != "replay"
