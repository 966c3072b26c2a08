"""Assertions shared by the catalog tests."""

from __future__ import annotations

from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is one of our problem details with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE, response["Content-Type"]
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body), body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def field_codes(body: dict[str, Any], field: str) -> list[str]:
    """The error codes reported for one field of a validation problem."""
    return [error["code"] for error in body["errors"][field]]
