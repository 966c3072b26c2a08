"""Count the SQL statements a request runs, counted by the server itself.

`QueryCountMiddleware` is for benchmarks only: bench/settings.py installs it
when BENCH_COUNT_QUERIES=1, and it removes itself (MiddlewareNotUsed, so
Django drops it from the chain: zero cost) when the variable is not set. It
wraps every connection the request thread uses with
`connection.execute_wrapper` and returns the total in `X-SQL-Queries`.

It is a synchronous middleware on purpose: Django then runs it in the same
thread as the (synchronous) views, the thread whose connections run the SQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack

from django.core.exceptions import MiddlewareNotUsed
from django.db import connections
from django.http import HttpRequest, HttpResponse

HEADER = "X-SQL-Queries"


def enabled() -> bool:
    return os.environ.get("BENCH_COUNT_QUERIES", "").strip().lower() in {"1", "true", "yes", "on"}


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not enabled():
            raise MiddlewareNotUsed("BENCH_COUNT_QUERIES is off")
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = QueryCounter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(counter))
            response = self.get_response(request)
        response[HEADER] = str(counter.count)
        return response
