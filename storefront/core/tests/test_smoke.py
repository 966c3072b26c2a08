"""Smoke test: `make run` on a clean machine, end to end, then a clean stop.

Boots `manage.py serve` (what `make run` runs) in embedded mode: no
DATABASE_URL, REDIS_URL or SECRET_KEY, everything under a temporary var/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from storefront.core.testing import free_port

pytestmark = pytest.mark.slow

BOOT_TIMEOUT = 60  # first start migrates a fresh SQLite database
STOP_TIMEOUT = 30


def _request(
    url: str, data: dict | None = None, token: str | None = None, accept: str = "application/json"
):
    headers = {"Accept": accept}
    body = None
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - local http
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _children(pid: int) -> set[int]:
    """PIDs whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Server:
    def __init__(self, var_dir: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = var_dir / f"serve-{self.port}.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BROKER_URL", "DEBUG"}
        }
        env.update(STOREFRONT_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(self.port), *args],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited early:\n{self.output()}"
            try:
                if _request(f"{self.base}/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        pytest.fail(f"/healthz did not answer within {BOOT_TIMEOUT}s:\n{self.output()}")

    def stop(self) -> tuple[int, set[int]]:
        """SIGTERM, as Ctrl-C or a process manager would; returns (code, children)."""
        children = _children(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"serve did not stop within {STOP_TIMEOUT}s:\n{self.output()}")
        return code, children

    def kill(self) -> None:
        """Last resort in a failing test: this process and its children only."""
        for pid in _children(self.process.pid):
            os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _verification_token(output: str) -> str:
    """The token of the confirmation e-mail printed by the console backend."""
    # On a line of its own: short enough to survive quoted-printable unwrapped.
    tokens = re.findall(r"^([\w-]{22}\.[0-9a-z]+\.[\w-]{22})$", output, flags=re.M)
    assert len(tokens) == 1, output
    return tokens[0]


def _demo_accounts(output: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(r"^\s+(\S+@example\.com)\s+(\S+)\s+(\S+)$", output, flags=re.M)
    return {email: (password, role) for email, password, role in rows}


def test_make_run_serves_the_api_and_stops_cleanly(tmp_path):
    # given a clean machine: no services configured, an empty var/ directory
    server = Server(tmp_path, "--demo-products", "3")
    try:
        # when it starts, it becomes healthy and prints the demo accounts
        server.wait_healthy()
        accounts = _demo_accounts(server.output())
        assert set(accounts) == {"admin@example.com", "staff@example.com", "customer@example.com"}
        assert "embedded" in server.output()

        # the API, its docs and the docs' assets are served
        status, headers, body = _request(f"{server.base}/api/v1/")
        assert headers["X-Request-ID"]
        assert status == 200
        assert json.loads(body)["version"] == "v1"
        status, _, html = _request(f"{server.base}/api/docs/", accept="text/html")
        assert status == 200
        for src in re.findall(rb'src="(/static/[^"]+\.js)"', html):
            assert _request(server.base + src.decode(), accept="*/*")[0] == 200, src
        assert _request(f"{server.base}/readyz")[0] == 200

        # a new customer registers, confirms the address with the token the
        # console e-mail backend printed, and reads their account with a JWT
        payload = {"email": "smoke@example.com", "password": "a smoke test passphrase 1"}
        status, _, body = _request(f"{server.base}/api/v1/auth/register/", payload)
        assert status == 202, body
        token = _verification_token(server.output())
        status, _, body = _request(f"{server.base}/api/v1/auth/verify/", {"token": token})
        assert status == 200, body
        status, _, body = _request(f"{server.base}/api/v1/auth/token/", payload)
        assert status == 200, body
        access = json.loads(body)["access"]
        status, _, body = _request(f"{server.base}/api/v1/auth/me/", token=access)
        assert status == 200
        assert json.loads(body)["email"] == "smoke@example.com"

        # and the printed demo credentials work
        password, role = accounts["customer@example.com"]
        login = {"email": "customer@example.com", "password": password}
        assert _request(f"{server.base}/api/v1/auth/token/", login)[0] == 200
        assert role == "customer"
    except BaseException:
        server.kill()
        raise

    # when it is asked to stop
    code, children = server.stop()

    # then it exits cleanly and leaves no process behind
    assert code == 0, server.output()
    assert children, "serve should have started the web server"
    assert not [pid for pid in children if _alive(pid)]
    assert "Stopped." in server.output()

    # and a second start on the same var/ keeps the same demo credentials
    again = Server(tmp_path, "--demo-products", "3")
    try:
        again.wait_healthy()
        assert _demo_accounts(again.output()) == accounts
    finally:
        code, children = again.stop()
    assert code == 0
    assert not [pid for pid in children if _alive(pid)]


def test_serve_without_demo_data_prints_no_accounts(tmp_path):
    server = Server(tmp_path, "--no-demo")
    try:
        server.wait_healthy()
        assert _demo_accounts(server.output()) == {}
    finally:
        code, _ = server.stop()
    assert code == 0
