"""A small HTTP/1.1 load generator: asyncio streams, keep-alive, closed loop.

Run as its own process (bench/run.py does), never inside the server:

    python -m bench.loadgen SPEC.json

SPEC: {"host", "port", "concurrency", "duration", "warmup", "requests": [...]}
where each request is {"method", "path", "headers": {...}, "body": str|null}.
Connection i sends requests[i % len], requests[(i+1) % len], ... in turn
(so 16 connections with 16 order templates are 16 buyers). During `warmup`
seconds nothing is recorded. Prints one JSON object: requests/s, latency
percentiles (ms), status counts, errors (transport failures and 5xx),
bytes, and the first invalid body (if any response was not JSON).

Pure Python on purpose: it installs with the project (no wrk to build). On a
small machine it competes with the server for CPU; bench/run.py pins it to
one core and the report says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import orjson


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def build(host: str, port: int, request: dict[str, Any]) -> bytes:
    body = (request.get("body") or "").encode()
    headers = {"Host": f"{host}:{port}", "Accept": "application/json", **request.get("headers", {})}
    if body:
        headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(body))
    lines = [f"{request.get('method', 'GET')} {request['path']} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif status in (204, 304):
        body = b""
    else:
        body = await reader.read()
    return status, headers, body


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.transport_errors = 0
        self.invalid_json = 0
        self.first_invalid: str | None = None
        self.bytes = 0
        self.sql_queries: set[int] = set()
        self.last_error: str | None = None
        self.last_done = 0.0


async def connection(spec: dict, index: int, stats: Stats, start: float, stop: float) -> None:
    host, port = spec["host"], spec["port"]
    templates = spec["requests"]
    payloads = [build(host, port, r) for r in templates]
    n = index
    reader = writer = None
    check_json = spec.get("check_json", True)
    timeout = spec.get("timeout", 30.0)
    while time.perf_counter() < stop:
        payload = payloads[n % len(payloads)]
        n += 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            t0 = time.perf_counter()
            writer.write(payload)
            status, headers, body = await asyncio.wait_for(read_response(reader), timeout)
            t1 = time.perf_counter()
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ) as exc:
            stats.last_error = repr(exc)
            if time.perf_counter() >= start:
                stats.transport_errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        if headers.get("connection", "").lower() == "close":
            writer.close()
            reader = writer = None
        if t0 < start:  # sent during the warm-up
            continue
        stats.last_done = max(stats.last_done, t1)
        stats.latencies.append((t1 - t0) * 1000)
        stats.statuses[str(status)] = stats.statuses.get(str(status), 0) + 1
        stats.bytes += len(body)
        if "x-sql-queries" in headers:
            stats.sql_queries.add(int(headers["x-sql-queries"]))
        if check_json and status != 304:
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError:
                stats.invalid_json += 1
                stats.first_invalid = stats.first_invalid or body[:300].decode("utf-8", "replace")
    if writer is not None:
        writer.close()


async def run(spec: dict) -> dict[str, Any]:
    stats = Stats()
    now = time.perf_counter()
    start = now + spec.get("warmup", 0)
    stop = start + spec["duration"]
    await asyncio.gather(
        *(connection(spec, i, stats, start, stop) for i in range(spec["concurrency"]))
    )
    # Requests sent inside the window count, even when they finish after it.
    elapsed = max(stats.last_done, stop) - start
    latencies = sorted(stats.latencies)
    server_errors = sum(v for k, v in stats.statuses.items() if k.startswith("5"))
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
        "statuses": stats.statuses,
        "errors": stats.transport_errors + server_errors + stats.invalid_json,
        "transport_errors": stats.transport_errors,
        "server_errors": server_errors,
        "invalid_json": stats.invalid_json,
        "first_invalid": stats.first_invalid,
        "last_transport_error": stats.last_error,
        "bytes_per_response": round(stats.bytes / len(latencies)) if latencies else 0,
        "sql_queries": sorted(stats.sql_queries),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="JSON spec file, or - for standard input")
    args = parser.parse_args(argv)
    raw = sys.stdin.read() if args.spec == "-" else open(args.spec).read()  # noqa: SIM115
    result = asyncio.run(run(json.loads(raw)))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
