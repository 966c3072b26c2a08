"""The ASGI entry point serves each request whole in one thread of its own pool
(signals, middleware chain, view, streaming, close), and still behaves as
Django's own handler does."""

from __future__ import annotations

import asyncio
import threading
import time

import orjson
import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.backends.signals import connection_created
from django.http import HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from storefront.catalog.tests.factories import ProductFactory
from storefront.core.asgi import SyncChainASGIHandler
from storefront.core.testing import asgi_request, asgi_scope

_call = async_to_sync(asgi_request)


@pytest.fixture(scope="module")
def handler() -> SyncChainASGIHandler:
    return SyncChainASGIHandler()


# Views of this module's own URLconf (@pytest.mark.urls(__name__)).
seen_threads: dict[str, int] = {}
running = {"now": 0, "most": 0}
running_lock = threading.Lock()


def _streaming_view(request):
    def parts():
        seen_threads["iterator"] = threading.get_ident()
        yield b"a" * 70_000  # more than one ASGI chunk (64 KiB)
        yield b"b"
        yield b""
        yield b"c" * 10

    return StreamingHttpResponse(parts(), content_type="application/octet-stream")


def _slow_view(request):
    with running_lock:
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
    time.sleep(0.1)
    with running_lock:
        running["now"] -= 1
    return HttpResponse(threading.current_thread().name)


def _loop_view(request):
    async def which_loop() -> int:
        return id(asyncio.get_running_loop())

    return HttpResponse(str(async_to_sync(which_loop)()))


urlpatterns = [
    path("stream/", _streaming_view),
    path("slow/", _slow_view),
    path("loop/", _loop_view),
]


def test_the_deployed_application_uses_the_sync_chain_handler():
    from storefront.asgi import django_asgi_app

    assert isinstance(django_asgi_app, SyncChainASGIHandler)


def test_the_middleware_chain_is_loaded_in_sync_mode(handler):
    # An async chain would adapt each MiddlewareMixin hook through sync_to_async.
    assert not iscoroutinefunction(handler._middleware_chain)


def test_a_request_through_the_handler_gets_every_middleware(handler):
    status, headers, body = _call(handler, asgi_scope("/healthz"))

    assert status == 200
    assert orjson.loads(body)["status"] == "ok"
    assert headers["x-request-id"]  # RequestIdMiddleware
    assert headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware
    assert headers["x-frame-options"] == "DENY"  # XFrameOptionsMiddleware


def test_an_unknown_path_is_a_problem_document(handler):
    status, headers, body = _call(handler, asgi_scope("/api/v1/nowhere/"))

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
        status, _, body = _call(handler, asgi_scope(f"/api/v1/products/{product.pk}/"))
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
        asgi_scope(
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


@pytest.mark.urls(__name__)
def test_a_streaming_response_is_iterated_in_the_request_thread_and_sent_in_chunks(handler):
    """Its iterator may read the database: it must run in the thread that holds
    the request's connection, before request_finished hands it back."""
    seen_threads.clear()

    def on_started(**kwargs):
        seen_threads["started"] = threading.get_ident()

    def on_finished(**kwargs):
        seen_threads["finished"] = threading.get_ident()

    request_started.connect(on_started)
    request_finished.connect(on_finished)
    try:
        communicator_messages = _call_messages(handler, asgi_scope("/stream/"))
    finally:
        request_started.disconnect(on_started)
        request_finished.disconnect(on_finished)

    start, *bodies = communicator_messages
    assert start["status"] == 200
    assert (b"Content-Type", b"application/octet-stream") in start["headers"]
    assert [len(m.get("body", b"")) for m in bodies] == [65_536, 70_000 - 65_536, 1, 0, 10, 0]
    assert [m.get("more_body", False) for m in bodies] == [True] * 5 + [False]
    assert b"".join(m.get("body", b"") for m in bodies) == b"a" * 70_000 + b"b" + b"c" * 10
    assert seen_threads["started"] == seen_threads["iterator"] == seen_threads["finished"]
    assert seen_threads["started"] != threading.get_ident()


@async_to_sync
async def _call_messages(application, scope: dict) -> list[dict]:
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    messages = [await communicator.receive_output(timeout=10)]
    while True:
        messages.append(await communicator.receive_output(timeout=10))
        if not messages[-1].get("more_body"):
            break
    await communicator.wait(timeout=10)
    return messages


@pytest.mark.urls(__name__)
def test_requests_run_on_the_pool_and_at_most_web_threads_at_once():
    with override_settings(WEB_THREADS=2):
        handler = SyncChainASGIHandler()
    running.update(now=0, most=0)

    @async_to_sync
    async def five_at_once() -> list[tuple[int, dict, bytes]]:
        async def one():
            return await asgi_request(handler, asgi_scope("/slow/"))

        return await asyncio.gather(*(one() for _ in range(5)))

    answers = five_at_once()

    assert [status for status, _, _ in answers] == [200] * 5
    assert {body.decode().rsplit("_", 1)[0] for _, _, body in answers} == {"storefront-web"}
    assert running["most"] == 2  # the other three waited for a thread


@pytest.mark.urls(__name__)
def test_async_to_sync_in_a_view_runs_on_the_servers_event_loop(handler):
    """The channel layer is called this way: its connections belong to the
    server's loop, not to a loop started for one call."""

    @async_to_sync
    async def call() -> tuple[int, bytes]:
        status, _, body = await asgi_request(handler, asgi_scope("/loop/"))
        return status, body, id(asyncio.get_running_loop())

    status, body, loop_id = call()

    assert status == 200
    assert int(body) == loop_id


def test_a_client_gone_before_its_body_arrived_is_not_served(handler):
    served = []
    request_started.connect(lambda **kwargs: served.append(1), weak=False, dispatch_uid="gone")
    try:

        @async_to_sync
        async def call():
            communicator = ApplicationCommunicator(handler, asgi_scope("/healthz", method="POST"))
            await communicator.send_input({"type": "http.request", "body": b"{", "more_body": True})
            await communicator.send_input({"type": "http.disconnect"})
            await communicator.wait(timeout=10)
            return await communicator.receive_nothing()

        assert call()
    finally:
        request_started.disconnect(dispatch_uid="gone")
    assert served == []


def test_only_http_is_served(handler):
    with pytest.raises(ValueError, match="not websocket"):
        async_to_sync(handler)({"type": "websocket"}, None, None)
