"""`make soak`: the whole system under load for a minute, then its books checked.

1. A database of its own (storefront_soak: created, dropped at the end) with a
   generated catalog (seed_demo, 10,000 products by default), and a private
   redis-server (cache, broker, channel layer) stopped by its PID at the end.
2. The real processes: uvicorn (--workers 2) and a Celery worker (prefork,
   with beat for the dispatch sweep), in full mode.
3. bench/soak/client.py, a separate process: 200 customers for 60 s browsing,
   searching, reading products and checking out on a few hot products with
   little stock (where overselling would show).
4. Then it waits for the queue to drain and checks: no 5xx, no transport error,
   every accepted order exists and ended paid or failed, exactly one terminal
   event each, each paid order charged once, no stock below zero and stock
   equal to what the paid orders left; RSS of every process sampled at the
   start, middle and end.

Prints a JSON report (also written to var/soak/result.json); exits 1 if a check
fails. Options: --products, --clients, --duration (see --help).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from storefront.core.server import web_command  # noqa: E402
from storefront.core.testing import free_port, private_redis, wait_for_port  # noqa: E402
from storefront.core.tests.faults import PrivatePostgres  # noqa: E402

HOT_PRODUCTS = 30
HOT_STOCK = 40
USERS = 50
DRAIN_TIMEOUT = 240  # seconds for the worker to settle every order after the load


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree(pid: int) -> list[int]:
    pids = [pid]
    for child in pids:
        with contextlib.suppress(OSError), open(f"/proc/{child}/task/{child}/children") as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def sample(processes: dict[str, subprocess.Popen]) -> dict[str, dict[str, float]]:
    """RSS in MiB of each process and its children (uvicorn's, the pool's)."""
    return {
        name: {str(pid): round(rss_kib(pid) / 1024, 1) for pid in tree(proc.pid)}
        for name, proc in processes.items()
    }


def connections(url: str) -> int:
    """Server connections open on the soak database right now."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        query = "SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = current_database()"
        return conn.execute(query).fetchone()[0]


def stop_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process and everything it started (its own session, by its PID)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(argv, cwd=ROOT, env=env, check=True)  # noqa: S603 - fixed argv


def prepare(products: int) -> dict:
    """Catalog, hot products with little stock, customers and their tokens."""
    import django

    django.setup()
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from storefront.accounts.models import User
    from storefront.catalog.models import Product

    ids = list(Product.objects.filter(is_active=True).values_list("id", flat=True)[:2000])
    currency = Product.objects.filter(pk=ids[0]).values_list("currency", flat=True).get()
    hot = list(
        Product.objects.filter(is_active=True, currency=currency).values_list("id", flat=True)[
            :HOT_PRODUCTS
        ]
    )
    Product.objects.filter(pk__in=hot).update(stock=HOT_STOCK)
    words = sorted(
        {
            word.lower()
            for name in Product.objects.values_list("name", flat=True)[:500]
            for word in name.split()
            if word.isalpha() and len(word) > 3
        }
    )[:200]
    users = [
        User.objects.create_user(email=f"soak{n}@example.com", password=secrets.token_urlsafe())
        for n in range(USERS)
    ]
    plan = {
        "tokens": [str(AccessToken.for_user(user)) for user in users],
        "products": [str(i) for i in ids],
        "hot": [str(i) for i in hot],
        "words": words or ["product"],
        # Half the pages there are: deep pages are as valid, but never a 404.
        "pages": max(1, Product.objects.filter(is_active=True).count() // 20 // 2),
    }
    connection.close()
    return plan


def check(result: dict, plan: dict) -> dict:
    from django.db import connection
    from django.db.models import Count, Sum

    from storefront.catalog.models import Product
    from storefront.orders.models import FakeCharge, Order, OrderEvent, OrderLine

    accepted = set(result["orders"])
    orders = dict(Order.objects.values_list("id", "status"))
    statuses: dict[str, int] = {}
    for status in orders.values():
        statuses[status] = statuses.get(status, 0) + 1
    terminal_events = (
        OrderEvent.objects.filter(to_status__in=["paid", "failed"])
        .values("order")
        .annotate(n=Count("id"))
    )
    paid = [i for i, s in orders.items() if s == "paid"]
    charges = FakeCharge.objects.filter(outcome="succeeded")
    sold = dict(
        OrderLine.objects.filter(order__status="paid", product_id__in=plan["hot"])
        .values_list("product_id")
        .annotate(q=Sum("quantity"))
    )
    stock = dict(Product.all_objects.filter(pk__in=plan["hot"]).values_list("id", "stock"))
    checks = {
        "no 5xx": result["server_error_count"] == 0,
        "no transport errors": not result["transport_errors"],
        "every 201 order exists, no other order": {str(i) for i in orders} == accepted,
        "every order paid or failed": set(statuses) <= {"paid", "failed"},
        "one terminal event per order": len(terminal_events) == len(orders)
        and all(row["n"] == 1 for row in terminal_events),
        "each paid order charged once": charges.count() == len(paid)
        and set(charges.values_list("idempotency_key", flat=True)) == {str(i) for i in paid},
        "no stock below zero": min(stock.values()) >= 0,
        "stock = initial - sold (paid)": all(
            stock[p] == HOT_STOCK - (sold.get(p) or 0) for p in stock
        ),
    }
    connection.close()
    return {
        "orders": len(orders),
        "statuses": statuses,
        "hot_units_sold": sum(v or 0 for v in sold.values()),
        "hot_units_available": HOT_STOCK * len(stock),
        "checks": checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    python = sys.executable
    report: dict = {"clients": args.clients, "duration": args.duration, "products": args.products}

    # A private PostgreSQL cluster: the load (and any connection leak) can
    # never exhaust the shared server other people's tests use.
    cluster = PrivatePostgres(max_connections=500)
    database_url = cluster.url("storefront_soak")
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE storefront_soak")
    processes: dict[str, subprocess.Popen] = {}
    db_connections: dict[str, int] = {}
    try:
        with private_redis() as redis, tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "storefront.settings",
                "DATABASE_URL": database_url,
                "REDIS_URL": redis.url,
                "SECRET_KEY": secrets.token_urlsafe(50),
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "text",
                # One loopback address for 200 clients: throttles would measure
                # themselves, not the system.
                "THROTTLE_ANON": "1000000/min",
                "THROTTLE_USER": "1000000/min",
                "STOREFRONT_VAR_DIR": tmp,
                # No SMTP server here: confirmation e-mails go to memory.
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            }
            env.pop("BROKER_URL", None)
            os.environ.update(env)
            started = time.monotonic()
            run([python, "manage.py", "migrate", "--verbosity", "0"], env)
            run([python, "manage.py", "seed_demo", "--products", str(args.products),
                 "--no-progress", "--verbosity", "0"], env)  # fmt: skip
            report["setup_seconds"] = round(time.monotonic() - started, 1)
            plan = prepare(args.products)
            plan_path = Path(tmp) / "plan.json"
            plan_path.write_text(json.dumps(plan))

            port = free_port()
            logs = {name: open(Path(tmp) / f"{name}.log", "wb") for name in ("web", "worker")}  # noqa: SIM115
            processes["web"] = subprocess.Popen(  # noqa: S603
                web_command(
                    host="127.0.0.1", port=port, workers=args.web_workers, python=python
                ),
                cwd=ROOT, env=env, stdout=logs["web"], stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            processes["worker"] = subprocess.Popen(  # noqa: S603
                [python, "-m", "celery", "-A", "storefront", "worker", "--pool", "prefork",
                 "--concurrency", "2", "--loglevel", "WARNING", "--beat",
                 "--schedule", str(Path(tmp) / "beat")],
                cwd=ROOT, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            wait_for_port(port, timeout=60)
            time.sleep(2)  # let uvicorn's workers and the pool finish booting

            rss = {"start": sample(processes)}
            db_connections["start"] = connections(database_url)

            def middle() -> None:
                rss["middle"] = sample(processes)
                db_connections["middle"] = connections(database_url)

            timer = threading.Timer(args.duration / 2, middle)
            timer.start()
            client = subprocess.run(  # noqa: S603
                [python, str(ROOT / "bench/soak/client.py"), "--base", f"http://127.0.0.1:{port}",
                 "--plan", str(plan_path), "--clients", str(args.clients),
                 "--duration", str(args.duration)],
                cwd=ROOT, env=env, capture_output=True, check=True, timeout=args.duration + 120,
            )  # fmt: skip
            timer.cancel()
            rss["end"] = sample(processes)
            db_connections["end"] = connections(database_url)
            result = json.loads(client.stdout)

            from storefront.orders.models import Order

            drained = time.monotonic()
            deadline = drained + DRAIN_TIMEOUT
            while Order.objects.filter(status="pending").exists() and time.monotonic() < deadline:
                time.sleep(1)
            report["drain_seconds"] = round(time.monotonic() - drained, 1)
            rss["after_drain"] = sample(processes)
            report.update(check(result, plan))
            report["load"] = {k: v for k, v in result.items() if k != "orders"}
            report["rss_mib"] = rss
            report["db_connections"] = db_connections
            for log in logs.values():
                log.close()
            report["errors_logged"] = {
                name: [
                    line[:300]
                    for line in (Path(tmp) / f"{name}.log").read_text(errors="replace").splitlines()
                    if "ERROR" in line or "Traceback" in line or "WARNING" in line
                ][:10]
                for name in logs
            }
    finally:
        for proc in processes.values():
            stop_group(proc)
        from django.db import connections as django_connections

        with contextlib.suppress(Exception):
            django_connections.close_all()
        cluster.destroy()  # the database goes with its cluster

    out = ROOT / "var/soak/result.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201 - the command's output
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
