"""The ASGI handler for the REST API: the middleware chain and the view run as
one synchronous unit, in one thread hop per request.

Django's own ASGIHandler loads the middleware in async mode. Our views (DRF)
are synchronous, and so is every `MiddlewareMixin` middleware underneath its
async adapter: `MiddlewareMixin.__acall__` hands each `process_request` and
`process_response` to `sync_to_async` separately. With the middleware in
settings that is about twenty round trips between the event loop and a thread
for every request: a cached product detail took 5.2 ms in-process through
Django's handler, 2.7 ms through this one (docs/performance.md, finding 7).
This handler loads the chain in sync mode, as a WSGI server would, and runs
all of it, view included, in a single `sync_to_async` call.

Thread affinity is what Django's handler gives: every request runs inside its
own `ThreadSensitiveContext` (set by `ASGIHandler.__call__`), so the
`request_started` signal, the chain and `response.close()` (`request_finished`,
which returns the pooled database connection) all run in the same thread, the
one whose connection the request used.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super(ASGIHandler, self).__init__()  # BaseHandler: no async chain to load
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
