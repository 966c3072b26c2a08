"""The web server's command line, in one place: `make run`, the benchmark and
the soak test start the web processes exactly as docs/deployment.md says.

`--timeout-keep-alive 75`: an idle keep-alive connection must be closed by
the client or the proxy in front, never by the server first. When both sides
give up on an idle connection after the same time (uvicorn's default is 5 s,
httpx's too), a request sent on it just as the server closes it fails with a
connection reset: that was every transport error of the soak test. Load
balancers keep idle connections for 60 s by default (AWS ALB, nginx
`keepalive_timeout` 75 s upstream of clients), so the server waits longer.
"""

from __future__ import annotations

import sys

KEEP_ALIVE_SECONDS = 75


def uvicorn_command(*, host: str, port: int, workers: int, python: str | None = None) -> list[str]:
    return [
        python or sys.executable, "-m", "uvicorn", "storefront.asgi:application",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--lifespan", "off",
        "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS),
        "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip
