"""Assertions and utilities shared by the orders tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from django.db import connection

PROBLEM_CONTENT_TYPE = "application/problem+json"


def wait_until(predicate: Callable[[], bool], *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def assert_problem(response, status: int, code: str) -> dict:
    """The response is a problem-details error with this status and code."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body


@contextlib.contextmanager
def closing_connection() -> Iterator[None]:
    """For threads: close the thread's own database connection on exit."""
    try:
        yield
    finally:
        connection.close()
