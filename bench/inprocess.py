"""Time requests through the ASGI application in-process: no server, no network.

For the per-request cost of the stack itself (docs/performance.md, findings
7 to 9), one request at a time by default:

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=.../storefront_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 SECRET_KEY=x \\
    python -m bench.inprocess /api/v1/products/<id>/ --requests 1000 [--bypass] 2>/dev/null

(`make bench BENCH_ARGS=--keep-db` leaves the database behind.) `--bypass`
sends `X-Bench-Cache: bypass`, the uncached path. The access log stays on, as
in production (hence 2>/dev/null). Wrap it in a sampling
profiler (py-spy record -- python -m bench.inprocess ...) to see where the time
goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time


async def _one(application, path: str, headers: list) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path.split("?")[0],
        "raw_path": path.split("?")[0].encode(),
        "query_string": path.partition("?")[2].encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    received = False
    status: list[int] = []

    async def receive():
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the response ends the call

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await application(scope, receive, send)
    return status[0]


async def _run(path: str, requests: int, concurrency: int, bypass: bool) -> None:
    from storefront.asgi import application

    headers = [(b"host", b"127.0.0.1"), (b"accept", b"application/json")]
    if bypass:
        headers.append((b"x-bench-cache", b"bypass"))

    async def worker(count: int) -> None:
        for _ in range(count):
            status = await _one(application, path, headers)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")

    await worker(50)  # warm-up: imports, connections, cache entries
    started = time.perf_counter()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    done = requests // concurrency * concurrency
    sys.stdout.write(
        f"{path}: {done / elapsed:.0f} req/s, {elapsed / done * 1000:.2f} ms per request\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--bypass", action="store_true", help="the uncached path")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    asyncio.run(_run(args.path, args.requests, args.concurrency, args.bypass))


if __name__ == "__main__":
    main()
