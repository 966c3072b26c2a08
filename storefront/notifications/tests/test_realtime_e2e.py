"""End to end, across processes: the running server over a real socket.

A notification created in one process (as a Celery worker would) reaches a
socket held by another process (the web server) through channels-redis.
Both processes use the test database (committed data: transactional test) and
the tests' Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

import pytest
import websockets
from django.conf import settings
from django.db import connection

from storefront.core.server import web_command
from storefront.core.testing import free_port, wait_for_port
from storefront.notifications.models import Notification
from storefront.notifications.tests.conftest import access_token

pytestmark = pytest.mark.slow

# What the "worker" process runs: the service, exactly as a task would call it.
CREATE_NOTIFICATION = """
import sys
import django

django.setup()
from storefront.accounts.models import User
from storefront.notifications.services import notification_create

user = User.objects.get(pk=sys.argv[1])
notification = notification_create(user=user, kind="order.status", payload={"status": "paid"})
print(notification.id)
"""


def subprocess_env() -> dict[str, str]:
    """Full mode, pointed at the test database (test_<name>) and the tests' Redis."""
    database_url = urlsplit(os.environ["DATABASE_URL"])
    database_url = database_url._replace(path=f"/{connection.settings_dict['NAME']}")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "storefront.settings",
        "DATABASE_URL": database_url.geturl(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,  # tokens we sign must verify there
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def server(django_db_setup):
    """The web server as deployed, on a free port; stopped by its PID.

    Module-scoped (it takes seconds to start); it is stopped before the session
    ends, so the test database is dropped with no connection left open on it.
    """
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            web_command(host="127.0.0.1", port=port, workers=1),
            cwd=settings.BASE_DIR,
            env=subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            try:
                wait_for_port(port, timeout=30)
            except TimeoutError:  # pragma: no cover - diagnostics for a server that did not start
                log.seek(0)
                pytest.fail(f"the server did not start:\n{log.read().decode(errors='replace')}")
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                process.kill()
                process.wait()


@pytest.mark.django_db(transaction=True)  # both processes must see committed rows
def test_event_from_another_process_reaches_the_socket_on_the_running_server(server, user):
    # Given a user's socket on the running server, authenticated
    token = access_token(user)
    env = subprocess_env()

    async def scenario() -> tuple[str, dict]:
        async with websockets.connect(
            f"ws://127.0.0.1:{server}/ws/notifications/",
            origin=f"http://127.0.0.1:{server}",  # the server checks Origin
            open_timeout=10,
        ) as socket:
            await socket.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"type": "auth.ok"}

            # When another process creates a notification for them
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CREATE_NOTIFICATION, str(user.pk),
                env=env, cwd=settings.BASE_DIR,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(worker.communicate(), 30)
            assert worker.returncode == 0, err.decode()

            # Then the socket receives it
            return out.decode().strip(), json.loads(await asyncio.wait_for(socket.recv(), 10))

    notification_id, message = asyncio.run(scenario())

    notification = Notification.objects.get(pk=notification_id)
    assert notification.user == user
    assert message == {
        "type": "order.status",
        "id": notification_id,
        "created_at": message["created_at"],
        "payload": {"status": "paid"},
    }
    assert message["created_at"].endswith("Z")


def test_socket_without_an_allowed_origin_is_refused(server):
    # The server only accepts browsers' sockets from allowed hosts (and refuses
    # clients sending no Origin at all): non-browser clients must send one.
    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"ws://127.0.0.1:{server}/ws/notifications/"):
                pass  # pragma: no cover
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())
