"""Helpers of the fault tests (docs/reliability.md): real processes, real failures.

Every fault test runs the real server and/or worker as subprocesses, pointed at
the test database and at private services (core.testing.private_redis, a
private PostgreSQL cluster) that the test stops and starts by their PID. The
shared services (PostgreSQL 5432, Redis 6379, RabbitMQ 5672) are never touched.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

from storefront.core.server import web_command
from storefront.core.testing import free_port, wait_for_port

# Generous: the CI machine has 2 cores and runs other suites meanwhile.
START_TIMEOUT = 30.0


def database_url_for_tests() -> str:
    """DATABASE_URL naming the test database (test_<name>), for subprocesses."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()


def full_env(**overrides: str) -> dict[str, str]:
    """Full mode on the test database and the tests' Redis, plus `overrides`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "storefront.settings",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,  # tokens the test signs must verify there
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # The beat sweeps a test does not ask for stay out of its way.
        "ORDER_EXPIRY_SWEEP_SECONDS": "3600",
        "ORDER_DISPATCH_SWEEP_SECONDS": "3600",
    }
    env.pop("BROKER_URL", None)
    env.update(overrides)
    return env


def poll(predicate: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Wait until predicate() is truthy and return it; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            last = predicate()
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


class Process:
    """A subprocess of the test, with its output kept for failure messages."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our signals reach only what we aim at
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL this process only (by its PID) and reap it."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.kill()
        self.log.close()


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str], *, port: int | None = None) -> Iterator[Process]:
    """Run argv until the block ends; wait for `port` to answer first, if given."""
    process = Process(argv, env)
    try:
        if port is not None:
            try:
                wait_for_port(port, timeout=START_TIMEOUT)
            except TimeoutError:  # pragma: no cover - diagnostics
                raise AssertionError(f"{argv[2:4]} did not start:\n{process.output()}") from None
        yield process
    finally:
        process.stop()


@contextlib.contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[str, Process]]:
    """The web server as deployed (one worker); yields (base URL, process)."""
    port = free_port()
    argv = web_command(host="127.0.0.1", port=port, workers=1)
    with running(argv, env, port=port) as process:
        yield f"http://127.0.0.1:{port}", process


@contextlib.contextmanager
def worker(
    env: dict[str, str], *, pool: str = "solo", beat: bool = False, queues: str = ""
) -> Iterator[Process]:
    """A Celery worker subprocess (optionally with embedded beat)."""
    argv = [
        sys.executable, "-m", "celery", "-A", "storefront", "worker",
        "--pool", pool, "--concurrency", "1", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if queues:
        argv += ["--queues", queues]
    if beat:
        schedule = tempfile.mktemp(prefix="celerybeat-", dir=tempfile.gettempdir())  # noqa: S306
        argv += ["--beat", "--schedule", schedule]
    with running(argv, env) as process:
        yield process


def children_of(pid: int) -> list[int]:
    """PIDs of the direct children of `pid` (Linux /proc)."""
    path = f"/proc/{pid}/task/{pid}/children"
    with contextlib.suppress(OSError), open(path) as handle:
        return [int(child) for child in handle.read().split()]
    return []


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb in a temporary directory).

    PostgreSQL refuses to run as root, so when the tests run as root the
    cluster belongs to the `postgres` system user (runuser). `stop()` and
    `start()` act on this cluster only (pg_ctl -D <its data directory>).
    """

    def __init__(self, *, max_connections: int = 100) -> None:
        self.max_connections = max_connections
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"no PostgreSQL binaries in {PG_BIN}")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sf-pg-"))
        self.data = self.root / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self.start()

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *argv: object) -> None:
        subprocess.run(
            [*self.as_owner, *map(str, argv)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={self.max_connections}"
        )
        self._run(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.root / "log", "-o", options,
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """Stop this cluster (pg_ctl signals the postmaster PID of its data directory)."""
        if (self.data / "postmaster.pid").exists():
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
