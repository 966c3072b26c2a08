"""The ASGI entry point runs the whole middleware chain and view synchronously,
in one thread per request, and still behaves as Django's own handler does."""

from __future__ import annotations

import threading

import orjson
import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.backends.signals import connection_created

from storefront.catalog.tests.factories import ProductFactory
from storefront.core.asgi import SyncChainASGIHandler


def _scope(path: str, *, method: str = "GET", headers: list | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


@async_to_sync
async def _call(application, scope: dict, body: bytes = b"") -> tuple[int, dict, bytes]:
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=10)
    chunks = []
    while True:
        message = await communicator.receive_output(timeout=10)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(chunks)


@pytest.fixture(scope="module")
def handler() -> SyncChainASGIHandler:
    return SyncChainASGIHandler()


def test_the_deployed_application_uses_the_sync_chain_handler():
    from storefront.asgi import django_asgi_app

    assert isinstance(django_asgi_app, SyncChainASGIHandler)


def test_the_middleware_chain_is_loaded_in_sync_mode(handler):
    # An async chain would adapt each MiddlewareMixin hook through sync_to_async.
    assert not iscoroutinefunction(handler._middleware_chain)


def test_a_request_through_the_handler_gets_every_middleware(handler):
    status, headers, body = _call(handler, _scope("/healthz"))

    assert status == 200
    assert orjson.loads(body)["status"] == "ok"
    assert headers["x-request-id"]  # RequestIdMiddleware
    assert headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware
    assert headers["x-frame-options"] == "DENY"  # XFrameOptionsMiddleware


def test_an_unknown_path_is_a_problem_document(handler):
    status, headers, body = _call(handler, _scope("/api/v1/nowhere/"))

    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert orjson.loads(body)["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_signals_chain_and_connection_share_one_thread_per_request(handler):
    """request_started (closes stale connections), the view's queries and
    request_finished (hands the connection back to the pool) must all act on
    the same thread's connection, or connections leak."""
    product = ProductFactory()
    seen: dict[str, int] = {}

    def on_started(**kwargs):
        seen["started"] = threading.get_ident()

    def on_finished(**kwargs):
        seen["finished"] = threading.get_ident()
        seen["connection_open_at_finish"] = connection.connection is not None

    def on_connection(**kwargs):
        seen.setdefault("query", threading.get_ident())

    request_started.connect(on_started)
    request_finished.connect(on_finished)
    connection_created.connect(on_connection)
    try:
        status, _, body = _call(handler, _scope(f"/api/v1/products/{product.pk}/"))
    finally:
        request_started.disconnect(on_started)
        request_finished.disconnect(on_finished)
        connection_created.disconnect(on_connection)

    assert status == 200, body
    assert orjson.loads(body)["id"] == str(product.pk)
    assert seen["started"] == seen["query"] == seen["finished"] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
def test_a_write_with_a_body_reaches_the_view(handler):
    payload = b'{"email": "nobody@example.com", "password": "wrong-password"}'
    status, headers, body = _call(
        handler,
        _scope(
            "/api/v1/auth/token/",
            method="POST",
            headers=[
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        ),
        body=payload,
    )

    assert status == 401, body
    assert headers["content-type"] == "application/problem+json"
