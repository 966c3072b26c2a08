"""Helpers for tests of every app.

* `assert_problem(response, status, code)`: the response is one of our RFC 9457
  problem details, with the status and stable code expected; returns the body.
* `free_port()`: a TCP port nothing listens on right now.
* `asgi_scope(path)` and `await asgi_request(application, scope)`: one HTTP
  request straight through an ASGI application, as a server would send it.
* `private_redis()`: a throw-away redis-server of our own, for tests that need a
  dependency to fail. Only that process is ever stopped (by its PID): the
  shared services other engineers and `make test` use are never touched.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

from asgiref.testing import ApplicationCommunicator

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert `response` is a problem-details error; return its JSON body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE, response["Content-Type"]
    body = response.json()
    missing = PROBLEM_KEYS - set(body)
    assert not missing, f"problem body lacks {missing}: {body}"
    assert body["status"] == status
    assert body["type"].endswith(body["code"])
    assert body.get("request_id") == response["X-Request-ID"]
    if code is not None:
        assert body["code"] == code, body
    return body


def free_port() -> int:
    """A port free at the time of the call (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered on {host}:{port} within {timeout}s")


class PrivateRedis:
    """A redis-server started for one test; `stop()` kills only this process."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        binary = shutil.which("redis-server")
        if binary is None:  # pragma: no cover - the test machines have it
            raise RuntimeError("redis-server is not on PATH")
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]  # nothing written to disk
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port)
        except TimeoutError:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Stop this instance (by its PID) and wait until its port is closed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """Start a private redis-server on a free port; always stopped on exit."""
    server = PrivateRedis(free_port())
    try:
        yield server
    finally:
        server.stop()


def asgi_scope(
    path: str, *, method: str = "GET", headers: list | None = None, query_string: bytes = b""
) -> dict:
    """An HTTP scope for `path` on host testserver, with `headers` (bytes pairs) added."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def asgi_request(application, scope: dict, body: bytes = b"") -> tuple[int, dict, bytes]:
    """(status, headers with lower-case names, body) of one request through `application`."""
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
