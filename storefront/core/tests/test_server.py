"""The web server as deployed (storefront/core/server.py): the command `make
run`, the benchmark, the soak and the fault tests share, and how it treats
connections."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest

from storefront.core.server import APPLICATION, GRACEFUL_SHUTDOWN_SECONDS, web_command
from storefront.core.tests.faults import full_env, server


def test_the_command_serves_the_project_application_with_the_workers_asked():
    argv = web_command(host="0.0.0.0", port=8123, workers=3, python="/opt/python")  # noqa: S104

    assert argv[:3] == ["/opt/python", "-m", "granian"]
    assert argv[-1] == APPLICATION
    assert argv[argv.index("--interface") + 1] == "asginl"  # Django speaks no lifespan
    assert argv[argv.index("--port") + 1] == "8123"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--workers-kill-timeout") + 1] == str(GRACEFUL_SHUTDOWN_SECONDS)
    assert "--no-access-log" in argv  # our middleware writes the access log, with request ids
    assert "--no-ws" not in argv  # the same processes serve the notifications socket


@pytest.mark.slow
@pytest.mark.django_db
def test_an_idle_keep_alive_connection_is_not_dropped_under_a_client():
    """uvicorn closed idle connections after 5 s, httpx's pool expires them after
    5 s too: a request sent on one just as the server closed it failed (the
    soak's transport errors). The server must leave closing to the client."""
    with server(full_env()) as (base, _):
        url = urlsplit(base)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            first = connection.getresponse()
            first.read()
            assert first.status == 200

            time.sleep(6)  # idle past both 5 s defaults

            connection.request("GET", "/healthz")  # the same socket
            second = connection.getresponse()
            second.read()
            assert second.status == 200
        finally:
            connection.close()
