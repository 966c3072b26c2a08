"""The bench-only hooks: SQL statements per request, and the cache bypass."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from bench.cache import BypassableRedisCache, CacheBypassMiddleware
from bench.querycount import HEADER, QueryCountMiddleware
from storefront.catalog.api.caching import RESPONSE_KEY_PREFIX


def test_query_count_middleware_is_dropped_when_the_variable_is_off(monkeypatch):
    # Given BENCH_COUNT_QUERIES unset (the default), when Django builds the chain,
    # then the middleware removes itself: nothing runs per request.
    monkeypatch.delenv("BENCH_COUNT_QUERIES", raising=False)
    with pytest.raises(MiddlewareNotUsed):
        QueryCountMiddleware(lambda request: HttpResponse())
    monkeypatch.setenv("BENCH_COUNT_QUERIES", "0")
    with pytest.raises(MiddlewareNotUsed):
        QueryCountMiddleware(lambda request: HttpResponse())


@pytest.mark.django_db
@pytest.mark.parametrize("statements", [0, 1, 3])
def test_query_count_header_counts_every_statement_of_the_request(monkeypatch, statements):
    monkeypatch.setenv("BENCH_COUNT_QUERIES", "1")

    def view(request):
        with connection.cursor() as cursor:
            for _ in range(statements):
                cursor.execute("SELECT 1")
        return HttpResponse()

    response = QueryCountMiddleware(view)(RequestFactory().get("/"))
    assert response[HEADER] == str(statements)


@pytest.mark.django_db
def test_query_count_header_counts_orm_queries_of_a_real_endpoint(monkeypatch, client):
    # The catalog list runs a count and a page (and the image prefetch when non-empty).
    monkeypatch.setenv("BENCH_COUNT_QUERIES", "1")
    from django.urls import resolve

    request = RequestFactory().get("/api/v1/products/", HTTP_ACCEPT="application/json")
    match = resolve("/api/v1/products/")

    def view(request):
        response = match.func(request, *match.args, **match.kwargs)
        response.render()
        return response

    response = QueryCountMiddleware(view)(request)
    assert response.status_code == 200
    assert int(response[HEADER]) >= 1


def _bench_cache() -> BypassableRedisCache:
    params = dict(settings.CACHES["default"])
    return BypassableRedisCache(params.pop("LOCATION"), params)


def test_cache_bypass_hides_and_skips_only_response_entries():
    cache = _bench_cache()
    key = RESPONSE_KEY_PREFIX + "abc"
    cache.set(key, {"body": b"old"})
    cache.set("catalog:gen", 7)
    seen = {}

    def view(request):
        seen["response"] = cache.get(key)
        seen["generation"] = cache.get("catalog:gen")
        cache.set(key, {"body": b"new"})
        return HttpResponse()

    # Given a bypass request: the stored response is invisible and not overwritten,
    # but every other key (generations, throttles) behaves as always.
    request = RequestFactory().get("/", HTTP_X_BENCH_CACHE="bypass")
    CacheBypassMiddleware(view)(request)
    assert seen == {"response": None, "generation": 7}
    assert cache.get(key) == {"body": b"old"}
    # Without the header the cache is the ordinary one.
    CacheBypassMiddleware(view)(RequestFactory().get("/"))
    assert seen["response"] == {"body": b"old"}
    assert cache.get(key) == {"body": b"new"}
