"""The ASGI handler for the REST API: each request is served whole by one
thread of a fixed pool, in one hop from the event loop.

Our views (DRF) are synchronous, and so is every `MiddlewareMixin` middleware.
Django's own `ASGIHandler` costs them dearly (docs/performance.md, finding 7):

* it loads the middleware in async mode, and `MiddlewareMixin.__acall__` hands
  each `process_request` and `process_response` to `sync_to_async` on its own:
  about twenty round trips between the loop and a thread per request;
* it serves each request inside a new `ThreadSensitiveContext`, so the first
  `sync_to_async` of every request starts a new thread, and the end of the
  request starts another to join it;
* `request_started`, the view and `response.close()` (`request_finished`) are
  three separate hops.

Measured in-process, one request at a time: `/healthz` took 1.96 ms through
that path against 0.34 ms through Django's test client (no ASGI at all).

This handler loads the chain in sync mode, as a WSGI server would, and runs a
whole request in one call on a thread of its own pool (`WEB_THREADS` per
process): `request_started`, the request object, the chain and the view, and
`response.close()`, which sends `request_finished` and so hands the pooled
database connection back. All of that happens in one thread, the one whose
connection the request used, as under WSGI; the event loop only reads the
body and sends the answer. A streaming response is iterated in that same
thread too (its iterator may read the database), each chunk passed to the
loop and awaited there, so a slow client holds back the producer.

Before any of that, an anonymous read that Django has already answered may be
answered from the loop by `ReplayCache` (core/replay.py), which records
Django's answers here, after the middleware chain, with their final headers.

The pool bounds the requests a process serves at once: the others wait in
its queue, not in the database pool's (whose timeout turns a wait into a
503). `async_to_sync` inside a request (the channel layer) runs on the
server's event loop, as it does under `sync_to_async`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix

from storefront.core.replay import ReplayCache


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super(ASGIHandler, self).__init__()  # BaseHandler: no async chain to load
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(
            max_workers=settings.WEB_THREADS, thread_name_prefix="storefront-web"
        )
        self.replay = ReplayCache.from_settings()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        if self.replay is not None and await self.replay.answer(scope, send):
            return  # an anonymous read Django already answered (core/replay.py)
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        serve = sync_to_async(self.serve, thread_sensitive=False, executor=self.executor)
        answer = await serve(scope, body_file, send)
        if answer is not None:  # not streamed: the thread is already done with it
            start, body = answer
            await send(start)
            await send({"type": "http.response.body", "body": body})

    def serve(self, scope, body_file, send) -> tuple[dict, bytes] | None:
        """One whole request, in the pool's thread: what a WSGI server's thread does."""
        with body_file:
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
                response._handler_class = self.__class__
            try:
                start = {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": self.response_headers(response),
                }
                if not response.streaming:
                    if self.replay is not None:
                        self.replay.store(scope, response, start["headers"])
                    return start, response.content
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
                self.stream(response, start, async_to_sync(send))
                return None
            finally:
                response.close()  # request_finished: the connection goes back to the pool

    def stream(self, response, start: dict, send) -> None:
        send(start)
        for part in response:
            for chunk, _ in self.chunk_bytes(part):
                send({"type": "http.response.body", "body": chunk, "more_body": True})
        send({"type": "http.response.body"})

    @staticmethod
    def response_headers(response) -> list[tuple[bytes, bytes]]:
        # As ASGIHandler.send_response: header case kept, cookies as Set-Cookie.
        headers = [
            (name.encode("ascii"), value.encode("latin1")) for name, value in response.items()
        ]
        headers.extend(
            (b"Set-Cookie", cookie.OutputString().encode("ascii"))
            for cookie in response.cookies.values()
        )
        return headers
