"""The soak load client: N concurrent customers for D seconds, loopback only.

Run by bench/soak/soak.py as its own process (never against another host):

    python bench/soak/client.py --base http://127.0.0.1:PORT --plan plan.json \
        --clients 200 --duration 60 > result.json

Each client loops over a weighted mix until the time is up: browse a product
page (55%), search (20%), read a product (15%), check out (10%: one to three
hot products, tok_success mostly, some tok_decline). It prints one JSON
document: requests by kind and status, latency percentiles, every 5xx, and the
ids of the orders the server accepted (201).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import httpx

MIX = [("browse", 55), ("search", 20), ("detail", 15), ("checkout", 10)]
ADDRESS = {
    "name": "Soak Tester",
    "line1": "1 Load Street",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000, 1)


class Stats:
    def __init__(self) -> None:
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.server_errors: list[dict] = []
        self.transport_errors: Counter = Counter()
        self.orders: list[str] = []


async def customer(
    number: int, client: httpx.AsyncClient, plan: dict, stats: Stats, deadline: float
) -> None:
    rng = random.Random(number)  # noqa: S311 - load mix, not crypto
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    auth = {"Authorization": f"Bearer {plan['tokens'][number % len(plan['tokens'])]}"}
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        if kind == "browse":
            request = client.build_request(
                "GET", "/api/v1/products/", params={"page": rng.randint(1, plan["pages"])}
            )
        elif kind == "search":
            request = client.build_request(
                "GET", "/api/v1/products/", params={"search": rng.choice(plan["words"])}
            )
        elif kind == "detail":
            request = client.build_request(
                "GET", f"/api/v1/products/{rng.choice(plan['products'])}/"
            )
        else:
            items = rng.sample(plan["hot"], rng.randint(1, 3))
            body = {
                "items": [{"product": p, "quantity": rng.randint(1, 3)} for p in items],
                "shipping_address": ADDRESS,
                "payment_token": "tok_decline" if rng.random() < 0.1 else "tok_success",
            }
            request = client.build_request("POST", "/api/v1/orders/", json=body, headers=auth)
        started = time.monotonic()
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            stats.transport_errors[f"{kind}:{type(exc).__name__}"] += 1
            continue
        stats.latency[kind].append(time.monotonic() - started)
        stats.status[kind][response.status_code] += 1
        if response.status_code >= 500:
            stats.server_errors.append(
                {"kind": kind, "status": response.status_code, "body": response.text[:300]}
            )
        elif kind == "checkout" and response.status_code == 201:
            stats.orders.append(response.json()["id"])


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--plan", required=True, help="JSON: tokens, products, hot, words, pages")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    if urlsplit(args.base).hostname not in {"127.0.0.1", "localhost", "::1"}:
        sys.exit("the soak client only talks to loopback")
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 600:
        sys.exit("1..1000 clients, 0..600 seconds")
    with open(args.plan) as handle:
        plan = json.load(handle)

    stats = Stats()
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    timeout = httpx.Timeout(30.0, connect=10.0)
    started = time.monotonic()
    deadline = started + args.duration
    async with httpx.AsyncClient(base_url=args.base, limits=limits, timeout=timeout) as client:
        await asyncio.gather(
            *(customer(n, client, plan, stats, deadline) for n in range(args.clients))
        )
    elapsed = time.monotonic() - started
    total = sum(sum(counter.values()) for counter in stats.status.values())
    json.dump(
        {
            "clients": args.clients,
            "seconds": round(elapsed, 1),
            "requests": total,
            "requests_per_second": round(total / elapsed, 1),
            "status": {k: {str(s): n for s, n in c.items()} for k, c in stats.status.items()},
            "latency_ms": {
                kind: {"p50": percentile(v, 50), "p95": percentile(v, 95), "p99": percentile(v, 99)}
                for kind, v in stats.latency.items()
            },
            "server_errors": stats.server_errors[:20],
            "server_error_count": len(stats.server_errors),
            "transport_errors": dict(stats.transport_errors),
            "orders": stats.orders,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
