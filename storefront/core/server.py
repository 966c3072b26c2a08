"""The web server's command line, in one place: `make run`, the benchmark, the
soak test and the tests that need a real server start the web processes
exactly as docs/deployment.md says.

The server is granian (ASGI, HTTP and WebSocket), chosen by measurement
against uvicorn (docs/performance.md, "ASGI server"):

* with several workers, uvicorn's processes share one listening socket and
  whichever is awake accepts most keep-alive connections: with 8 clients and
  2 workers, one worker often did nearly all the work, and uncached reads
  swung by up to 2.6x from run to run (list: 45, 116, 62 req/s). granian
  spreads the connections over its workers (111, 120, 107);
* granian keeps an idle HTTP/1.1 connection until the client (or the proxy
  in front) closes it. uvicorn closed idle connections after 5 s, the same
  time as httpx's pool, and sometimes just as the client reused one: that
  was every transport error of the soak test.

`asginl`: ASGI without the lifespan protocol, which Django does not speak.
`--workers-kill-timeout`: on SIGTERM, requests in flight get that long.
"""

from __future__ import annotations

import sys

APPLICATION = "storefront.asgi:application"
GRACEFUL_SHUTDOWN_SECONDS = 10


def web_command(*, host: str, port: int, workers: int, python: str | None = None) -> list[str]:
    return [
        python or sys.executable, "-m", "granian", "--interface", "asginl",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--no-access-log",  # ours, with request ids: storefront.core.middleware
        "--workers-kill-timeout", str(GRACEFUL_SHUTDOWN_SECONDS),
        APPLICATION,
    ]  # fmt: skip
