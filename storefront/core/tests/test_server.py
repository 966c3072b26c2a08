"""The web server's command line is shared by `make run`, the benchmark and
the soak test, so all three measure and serve what the deployment runs."""

from __future__ import annotations

from storefront.core.server import KEEP_ALIVE_SECONDS, uvicorn_command


def test_the_server_outlives_the_idle_timeouts_of_clients_and_proxies():
    argv = uvicorn_command(host="127.0.0.1", port=8000, workers=2)

    keep_alive = int(argv[argv.index("--timeout-keep-alive") + 1])
    # httpx and uvicorn both default to 5 s, load balancers to 60 s: the side
    # that closes an idle connection first must be the client's.
    assert keep_alive == KEEP_ALIVE_SECONDS > 60


def test_the_command_serves_the_project_application_with_the_workers_asked():
    argv = uvicorn_command(host="0.0.0.0", port=8123, workers=3, python="/opt/python")  # noqa: S104

    assert argv[:4] == ["/opt/python", "-m", "uvicorn", "storefront.asgi:application"]
    assert argv[argv.index("--port") + 1] == "8123"
    assert argv[argv.index("--workers") + 1] == "3"
    assert "--no-access-log" in argv  # our middleware writes the access log, with request ids
