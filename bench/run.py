"""`make bench`: generate, import, serve as in production, load, and report.

    python -m bench.run [--products N] [--catalog FILE] [--duration S] ...

Every knob has an environment variable too (BENCH_PRODUCTS, BENCH_CATALOG,
BENCH_DURATION, ...; see `--help`). Steps:

1. catalog: `manage.py generate_catalog --products N --seed S` (or BENCH_CATALOG);
2. database: drop and create `storefront_bench` (only names starting with
   "storefront_bench" are ever touched), migrate, `import_catalog`; the same
   again at a small size (`storefront_bench_small`) for the SQL-count check;
3. fixtures (bench/fixtures.py): the detail product, search words, buyers;
4. SQL statements per request: a one-worker server with BENCH_COUNT_QUERIES=1
   on each database; its cold start (spawn to first response) is reported;
5. load: the app under granian with --workers W (docs/deployment.md), a
   Celery worker for the order run, then bench/baseline and bench/limit on
   the same tables; the load generator (bench/loadgen.py) is a separate
   process pinned to the last core;
6. EXPLAIN of the hot queries; results JSON + a Markdown table under
   bench/results/ (and the plots with --plots).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storefront.core.server import APPLICATION, web_command  # noqa: E402

PY = sys.executable
DB_PREFIX = "storefront_bench"


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# --- databases -------------------------------------------------------------------------


def db_url(base: str, name: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def recreate_database(base: str, name: str, template: str | None = None) -> None:
    import psycopg

    for db in (name, template or DB_PREFIX):
        if not db.startswith(DB_PREFIX):
            raise SystemExit(f"refusing to touch database {db!r}: bench databases are {DB_PREFIX}*")
    with psycopg.connect(db_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def drop_database(base: str, name: str) -> None:
    import psycopg

    if name.startswith(DB_PREFIX):
        with psycopg.connect(db_url(base, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    if client.connection_pool.connection_kwargs.get("db", 0) in (0, 15):
        raise SystemExit("refusing to flush Redis db 0 or 15: give the bench its own db")
    client.flushdb()


# --- processes -------------------------------------------------------------------------


def base_env(args, database: str, settings: str = "bench.settings") -> dict[str, str]:
    environ = dict(os.environ)
    environ.update(
        DJANGO_SETTINGS_MODULE=settings,
        DATABASE_URL=db_url(args.database_url, database),
        REDIS_URL=args.redis_url,
        SECRET_KEY=environ.get("SECRET_KEY") or SECRET_KEY,
        DEBUG="false",
        # Throttles stay on (their Redis round trips are part of every request), at
        # a rate one load generator never reaches.
        THROTTLE_ANON="1000000000/s",
        THROTTLE_USER="1000000000/s",
        JWT_ACCESS_MINUTES="600",
        # The worker e-mails each paid order's confirmation. With the default SMTP
        # backend and no mail server here, every send failed and was retried five
        # times, and those retries took the cores the measured server needs (the
        # soak does the same).
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        # One key space per database: runs (and the two sizes of one run) share
        # the Redis db, and counts and generations must not leak between them.
        CACHE_KEY_PREFIX=f"bench-{database}",
        PYTHONPATH=str(ROOT),
    )
    environ.pop("BENCH_COUNT_QUERIES", None)
    return environ


def manage(environ: dict, *argv: str) -> str:
    out = subprocess.run(  # noqa: S603
        [PY, "manage.py", *argv], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(argv)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def pymodule(environ: dict, *argv: str) -> dict:
    out = subprocess.run(  # noqa: S603
        [PY, "-m", *argv], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"python -m {' '.join(argv)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


SECRET_KEY = "bench-" + uuid.uuid4().hex  # one per run: the buyers' tokens must verify
LOAD_TIMEOUT = 10.0  # seconds one request may take before it counts as an error
LOG_DIR = Path("/tmp")  # noqa: S108 - set to the run's work directory by run()
PORT = 0  # one port for every server of a run: absolute URLs in bodies then compare


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(port: int, path: str, *, headers=None, method="GET", body=None, timeout=30.0):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=body.encode() if body else None,
        headers={"Accept": "application/json", **(headers or {})},
    )
    if body:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@contextmanager
def server(environ: dict, app: str, workers: int, *, server_kind: str = "deployed", port: int = 0):
    """Serve `app` as docs/deployment.md does; yields (port, cold start seconds).

    `server_kind="uvicorn"` is the measured alternative (the `uvicorn` variant).
    """
    port = port or PORT
    if server_kind == "uvicorn":
        cmd = [PY, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--workers", str(workers), "--no-access-log", "--lifespan", "off"]
        cmd += ["--timeout-keep-alive", "75"]  # no keep-alive race in the comparison
    else:
        cmd = web_command(host="127.0.0.1", port=port, workers=workers, python=PY)
        cmd[cmd.index(APPLICATION)] = app  # the same server for every target
    started = time.perf_counter()
    # Logs stay on as in production (JSON lines), written to a file nobody reads
    # during the run (a pipe nobody reads would block the server once full).
    log_file = open(LOG_DIR / "server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        cmd,
        cwd=ROOT,
        env=environ,
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,
    )
    cold = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = (LOG_DIR / "server.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"{app} exited: {tail}")
            try:
                status, _, _ = http(port, "/api/v1/products/?page_size=1", timeout=5)
                if status == 200:
                    cold = time.perf_counter() - started
                    break
            except OSError:
                time.sleep(0.02)
        if cold is None:
            raise SystemExit(f"{app} did not answer within 60 s")
        yield port, cold
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log_file.close()


@contextmanager
def celery_worker(environ: dict):
    proc = subprocess.Popen(  # noqa: S603
        [
            *(PY, "-m", "celery", "-A", "storefront", "worker", "--concurrency", "1"),
            *("--loglevel", "WARNING", "--without-gossip", "--without-mingle"),
        ],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "storefront.settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(2)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def load(port: int, requests: list[dict], *, concurrency: int, duration: float, warmup: float):
    spec = {
        "host": "127.0.0.1",
        "port": port,
        "concurrency": concurrency,
        "duration": duration,
        "warmup": warmup,
        "timeout": LOAD_TIMEOUT,
        "requests": requests,
    }
    cmd = [PY, "-m", "bench.loadgen", "-"]
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1 and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpus[-1]), *cmd]
    out = subprocess.run(  # noqa: S603
        cmd, input=json.dumps(spec), cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


# --- endpoints -------------------------------------------------------------------------

BYPASS = {"X-Bench-Cache": "bypass"}


def endpoints(fx: dict, deep_page: int, deep_cursor: str) -> list[dict]:
    """name, path, cached variant?, which references implement it."""
    detail = f"/api/v1/products/{fx['detail_id']}/"
    category = f"/api/v1/categories/{fx['category']}/products/?{fx['category_filters']}"
    common = "/api/v1/products/?search=" + urllib.parse.quote(fx["common_word"])
    selective = "/api/v1/products/?search=" + urllib.parse.quote(fx["selective_word"] or "zzz")
    both = ("baseline", "limit")
    return [
        {"name": "list_page1", "path": "/api/v1/products/", "cached": True, "refs": both},
        {"name": "list_deep", "path": f"/api/v1/products/?page={deep_page}", "refs": both},
        {"name": "feed_deep", "path": deep_cursor, "refs": both},
        {"name": "detail", "path": detail, "cached": True, "refs": both},
        {"name": "search_common", "path": common, "refs": both},
        {"name": "search_selective", "path": selective, "refs": both},
        {"name": "category_subtree", "path": category, "refs": both},
        {"name": "v2_list", "path": "/api/v2/products/", "refs": both},
    ]


def order_requests(fx: dict) -> list[dict]:
    address = {
        "name": "Bench Buyer",
        "line1": "1 Load Street",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    }
    return [
        {
            "method": "POST",
            "path": "/api/v1/orders/",
            "headers": {"Authorization": f"Bearer {buyer['token']}"},
            "body": json.dumps(
                {
                    "items": [
                        {"product": fx["hot_product"], "quantity": 1},
                        {"product": buyer["product"], "quantity": 1},
                    ],
                    "shipping_address": address,
                    "payment_token": "tok_success",
                }
            ),
        }
        for buyer in fx["buyers"]
    ]


def sell_out(port: int, fx: dict) -> dict:
    """16 buyers race for the scarce product until it is gone: exactly its stock sells."""

    def buy(buyer):
        body = order_requests(fx)[0]["body"]
        payload = json.loads(body)
        payload["items"] = [{"product": fx["scarce_product"], "quantity": 1}]
        statuses = []
        for _ in range(fx["scarce_stock"] // len(fx["buyers"]) + 2):  # more tries than stock
            status, _, _ = http(
                port,
                "/api/v1/orders/",
                method="POST",
                body=json.dumps(payload),
                headers={"Authorization": f"Bearer {buyer['token']}"},
            )
            statuses.append(status)
        return statuses

    with concurrent.futures.ThreadPoolExecutor(len(fx["buyers"])) as pool:
        statuses = [s for batch in pool.map(buy, fx["buyers"]) for s in batch]
    return {str(s): statuses.count(s) for s in sorted(set(statuses))}


def walk_feed(port: int, pages: int) -> str:
    """The feed URL `pages` pages deep, by following links.next (as a client does)."""
    path = "/api/v1/products/feed/"
    for _ in range(pages - 1):
        status, _, body = http(port, path, headers=BYPASS)
        if status != 200:
            raise SystemExit(f"feed walk: {status} on {path}")
        following = json.loads(body)["links"]["next"]
        if following is None:
            break
        parts = urllib.parse.urlsplit(following)
        path = f"{parts.path}?{parts.query}"
    return path


def count_queries(port: int, eps: list[dict], fx: dict, bodies: dict) -> dict:
    counts = {}
    # The order first: it changes stock, and the bodies kept below are compared
    # with the references' later.
    request = order_requests(fx)[0]
    status, headers, _ = http(
        port, request["path"], method="POST", body=request["body"], headers=request["headers"]
    )
    counts["order_create"] = int(headers.get("x-sql-queries", -1)) if status == 201 else -status
    for ep in eps:
        http(port, ep["path"])  # warm the cache entry
        status, headers, body = http(port, ep["path"], headers=BYPASS)
        counts[ep["name"]] = int(headers.get("x-sql-queries", -1)) if status == 200 else -status
        bodies[ep["name"]] = json.loads(body) if status == 200 else None
        if ep.get("cached"):
            status, headers, _ = http(port, ep["path"])
            counts[ep["name"] + "_cached"] = int(headers.get("x-sql-queries", -1))
    return counts


# --- the run ---------------------------------------------------------------------------


def prepare(args, name: str, catalog: Path | None, copy: str | None = None) -> None:
    """Create and migrate `name` (and `copy`, a migrated twin, by template), then import."""
    environ = base_env(args, name)
    recreate_database(args.database_url, name)
    manage(environ, "migrate", "--noinput", "-v", "0")
    if copy:
        recreate_database(args.database_url, copy, template=name)
    if catalog is not None:
        started = time.perf_counter()
        manage(environ, "import_catalog", "--no-progress", str(catalog))
        log(f"{name}: imported {catalog.name} in {time.perf_counter() - started:.1f}s")
        vacuum_analyze(args, name)


def vacuum_analyze(args, name: str) -> None:
    """What autovacuum does a while after a bulk load, done now: measured, the
    planner without statistics after an import picks a bitmap scan and a sort of
    every row for page 1 (0.43 s at 100k products instead of < 1 ms)."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(db_url(args.database_url, name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        # The import's WAL starts a checkpoint that writes for minutes (spread by
        # checkpoint_completion_target): done now, it no longer runs under the
        # first targets measured (the baseline and the limit), which it slowed.
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:  # needs pg_checkpoint (PG 15+)
            log(f"{name}: no CHECKPOINT (not allowed); the first targets may run under one")
    log(f"{name}: VACUUM ANALYZE and CHECKPOINT in {time.perf_counter() - started:.1f}s")


def generate(products: int, seed: int, path: Path) -> Path:
    if not path.exists():
        environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        subprocess.run(  # noqa: S603
            [
                *(PY, "manage.py", "generate_catalog", "--products", str(products)),
                *("--seed", str(seed), str(path)),
            ],
            cwd=ROOT,
            env={**environ, "SECRET_KEY": "bench", "STOREFRONT_VAR_DIR": str(path.parent)},
            check=True,
        )
    return path


def probe(
    args, database: str, eps_for, fx: dict, bodies: dict, port: int = 0
) -> tuple[dict, float, int, str]:
    environ = base_env(args, database)
    environ["BENCH_COUNT_QUERIES"] = "1"
    with server(environ, "storefront.asgi:application", 1, port=port) as (port, cold):
        _, _, body = http(port, "/api/v1/products/", headers=BYPASS)
        pages = json.loads(body)["pages"]
        deep_page = min(args.deep_page, pages)
        deep_cursor = walk_feed(port, deep_page)
        eps = eps_for(deep_page, deep_cursor)
        counts = count_queries(port, eps, fx, bodies)
    return counts, cold, deep_page, deep_cursor


def run(args) -> dict:
    global PORT, LOG_DIR
    PORT = args.port or free_port()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "work"
    work.mkdir(exist_ok=True)
    LOG_DIR = work
    (work / "server.log").unlink(missing_ok=True)
    results: dict = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {k: v for k, v in vars(args).items() if k != "database_url"},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "loadgen": "bench/loadgen.py, one process pinned (taskset) to the last core",
    }
    if args.catalog:
        catalog = Path(args.catalog)
    else:
        catalog = generate(args.products, args.seed, work / f"catalog-{args.products}.jsonl")
    small = generate(args.small_products, args.seed, work / f"catalog-{args.small_products}.jsonl")
    large_db, small_db = args.db_name, args.db_name + "_small"
    flush_redis(args.redis_url)
    if not (args.reuse_db and database_exists(args.database_url, large_db)):
        prepare(args, large_db, catalog, small_db)
    else:
        prepare(args, small_db, None)
        vacuum_analyze(args, large_db)
    started = time.perf_counter()
    manage(base_env(args, small_db), "import_catalog", "--no-progress", str(small))
    log(f"{small_db}: imported {small.name} in {time.perf_counter() - started:.1f}s")
    vacuum_analyze(args, small_db)

    fx_path, fx_small_path = work / "fixtures.json", work / "fixtures-small.json"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        fx_future = pool.submit(pymodule, base_env(args, large_db), "bench.fixtures", str(fx_path))
        fx_small = pymodule(base_env(args, small_db), "bench.fixtures", str(fx_small_path))
        fx = fx_future.result()
    results["fixtures"] = {k: v for k, v in fx.items() if k not in ("buyers", "stock_before")}
    log(f"fixtures: {results['fixtures']}")

    # SQL statements per request, counted by the server, at both sizes.
    app_bodies: dict = {}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        large_future = pool.submit(
            probe, args, large_db, lambda page, cursor: endpoints(fx, page, cursor), fx, app_bodies
        )
        # The small catalog's deep page is its last one (it has fewer pages).
        counts_small, cold_small, _, _ = probe(
            args,
            small_db,
            lambda page, cursor: endpoints(fx_small, page, cursor),
            fx_small,
            {},
            port=free_port(),
        )
        counts_large, cold, deep_page, deep_cursor = large_future.result()
    drop_database(args.database_url, small_db)
    results["cold_start_s"] = round(cold, 3)
    results["cold_start_small_s"] = round(cold_small, 3)
    results["deep_page"] = deep_page
    results["sql_queries"] = {
        "large": counts_large,
        "small": counts_small,
        "identical": counts_large == counts_small,
        "small_products": args.small_products,
    }
    log(f"sql per request: {counts_large} (small: {counts_small}); cold start {cold:.2f}s")

    eps = endpoints(fx, deep_page, deep_cursor)
    measures: dict = {"app": {}, "baseline": {}, "limit": {}}
    kw = {"concurrency": args.concurrency, "duration": args.duration, "warmup": args.warmup}
    environ = base_env(args, large_db)

    def measure(target: str, port: int, name: str, requests: list[dict], **extra) -> None:
        result = load(port, requests, **{**kw, **extra})
        measures[target][name] = result
        log(
            f"{target:8} {name:24} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f}"
            f"  p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}  {result['statuses']}"
        )

    for target, app, settings in (
        ("baseline", "storefront.asgi:application", "bench.baseline.settings"),
        ("limit", "bench.limit.app:app", "bench.settings"),
    ):
        target_env = base_env(args, large_db, settings)
        with server(target_env, app, args.workers) as (port, target_cold):
            results[f"cold_start_{target}_s"] = round(target_cold, 3)
            for ep in eps:
                if target in ep["refs"]:
                    measure(target, port, ep["name"], [{"path": ep["path"]}])
            results.setdefault("same_json", {})[target] = compare_json(port, eps, app_bodies)

    for name, variant in args.variants:
        measures.setdefault(name, {})
        variant_env = {**environ, **variant.get("env", {})}
        with server(
            variant_env,
            variant.get("app", "storefront.asgi:application"),
            variant.get("workers", args.workers),
            server_kind=variant.get("server", "deployed"),
        ) as (port, _):
            for ep in eps:
                if ep["name"] in variant.get("endpoints", ("list_page1", "detail")):
                    measure(name, port, ep["name"], [{"path": ep["path"], "headers": BYPASS}])
                if ep["name"] in variant.get("cached_endpoints", ()):
                    measure(name, port, ep["name"] + "_cached", [{"path": ep["path"]}])

    # The app last, the write path at its end: orders change stock, which the
    # references' bodies were compared on (with the app's, kept by the probe).
    with (
        server(environ, "storefront.asgi:application", args.workers) as (port, cold_app),
        celery_worker(environ),
    ):
        # Cold start as deployed (2 workers, nothing else starting): the probes
        # above start two servers at once, which inflates theirs.
        results["cold_start_probe_s"] = results["cold_start_s"]
        results["cold_start_s"] = round(cold_app, 3)
        for ep in eps:
            get = {"path": ep["path"]}
            if ep.get("cached"):
                measure("app", port, ep["name"] + "_cached", [get])
            measure("app", port, ep["name"], [{**get, "headers": BYPASS}])
        # An order takes longer than a read: never fewer than 2 s, or nothing completes.
        measure(
            "app",
            port,
            "order_create",
            order_requests(fx),
            concurrency=16,
            duration=max(args.duration, 2.0),
            warmup=max(args.warmup, 0.5),
        )
        # The same two latency targets without queueing: one client at a time.
        # Under a closed loop of N clients, p50 is about N / throughput (Little's
        # law), so the figures above measure throughput as much as latency.
        measure(
            "app",
            port,
            "search_selective_1client",
            [{"path": next(ep["path"] for ep in eps if ep["name"] == "search_selective"),
              "headers": BYPASS}],
            concurrency=1,
        )  # fmt: skip
        measure(
            "app",
            port,
            "order_create_1client",
            order_requests(fx)[:1],
            concurrency=1,
            duration=max(args.duration, 2.0),
            warmup=max(args.warmup, 0.5),
        )
        results["sell_out"] = sell_out(port, fx)
        time.sleep(1)
    results["orders_check"] = pymodule(environ, "bench.fixtures", str(fx_path), "--check-orders")

    results["explain"] = pymodule(environ, "bench.fixtures", str(fx_path), "--explain")
    pages = str(args.serialization_pages)
    results["serialization"] = pymodule(environ, "bench.serialization", "--pages", pages)
    results["measures"] = measures
    results["ratios"] = ratios(measures)
    results["targets"] = targets(results)
    if not args.keep_db:
        drop_database(args.database_url, large_db)
    flush_redis(args.redis_url)
    return results


def database_exists(base: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(db_url(base, "postgres"), autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def compare_json(port: int, eps: list[dict], app_bodies: dict) -> dict:
    """Does a reference answer with the app's JSON? True, or the keys that differ
    (of the body, or of its first result). bench/limit must be True everywhere;
    bench/baseline answers in the tutorial's own shape."""
    same: dict = {}
    for ep in eps:
        status, _, body = http(port, ep["path"])
        mine, theirs = app_bodies.get(ep["name"]), json.loads(body) if status == 200 else None
        if theirs is None or mine is None:
            same[ep["name"]] = f"status {status}"
        elif mine == theirs:
            same[ep["name"]] = True
        else:
            a, b = mine, theirs
            if "results" in a and "results" in b and a["results"] and b["results"]:
                if len(a["results"]) != len(b["results"]):
                    same[ep["name"]] = f"{len(b['results'])} results, not {len(a['results'])}"
                    continue
                diff = sorted(k for k in a if k != "results" and a.get(k) != b.get(k))
                pairs = zip(a["results"], b["results"], strict=True)
                a, b = next(
                    ((x, y) for x, y in pairs if x != y), (a["results"][0], b["results"][0])
                )
                diff += [f"results.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            else:
                diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            same[ep["name"]] = diff
    return same


def ratios(measures: dict) -> dict:
    out: dict = {}
    for name, result in measures["app"].items():
        base = name.removesuffix("_cached")
        row = {}
        for ref in ("limit", "baseline"):
            other = measures.get(ref, {}).get(base)
            if other and other["rps"]:
                row[f"vs_{ref}"] = round(result["rps"] / other["rps"], 3)
        out[name] = row
    return out


def targets(results: dict) -> dict:
    app = results["measures"]["app"]
    r = results["ratios"]

    def at_least(name: str, ref: str, floor: float):
        value = r.get(name, {}).get(f"vs_{ref}")
        return {"value": value, "target": floor, "met": value is not None and value >= floor}

    def p99(name: str) -> float:
        return app.get(name, {}).get("p99_ms", float("inf"))

    # The production setup and the references; variants (old settings) have their rows.
    every = [m for t in ("app", "baseline", "limit") for m in results["measures"][t].values()]
    sell_out_5xx = sum(n for status, n in results["sell_out"].items() if status.startswith("5"))
    errors = sum(m["errors"] for m in every) + sell_out_5xx
    server_errors = sum(m["server_errors"] for m in every) + sell_out_5xx
    return {
        "zero_errors": {"value": errors, "met": errors == 0},
        "zero_5xx": {"value": server_errors, "met": server_errors == 0},
        "sql_identical_at_two_sizes": {"met": results["sql_queries"]["identical"]},
        "list_deep_p99_within_2x_page1": {
            "value": round(p99("list_deep") / p99("list_page1"), 2),
            "met": p99("list_deep") <= 2 * p99("list_page1"),
        },
        "feed_deep_p99_within_2x_page1": {
            "value": round(p99("feed_deep") / p99("list_page1"), 2),
            "met": p99("feed_deep") <= 2 * p99("list_page1"),
        },
        "list_uncached_third_of_limit": at_least("list_page1", "limit", 1 / 3),
        "detail_uncached_third_of_limit": at_least("detail", "limit", 1 / 3),
        "category_third_of_limit": at_least("category_subtree", "limit", 1 / 3),
        "list_cached_two_thirds_of_limit": at_least("list_page1_cached", "limit", 2 / 3),
        "detail_cached_two_thirds_of_limit": at_least("detail_cached", "limit", 2 / 3),
        "search_common_half_of_limit": at_least("search_common", "limit", 1 / 2),
        "search_selective_p99_under_50ms": {
            "value": p99("search_selective"),
            "met": p99("search_selective") < 50,
        },
        "order_create_p99_under_100ms": {
            "value": p99("order_create"),
            "met": p99("order_create") < 100,
        },
        "zero_oversell": {"met": not results["orders_check"]["oversold"]},
        "cold_start_under_2s": {
            "value": results["cold_start_s"],
            "met": results["cold_start_s"] < 2,
        },
    }


def table(results: dict) -> str:
    m = results["measures"]
    sql = results["sql_queries"]["large"]
    lines = [
        "| endpoint | req/s | p50 ms | p90 ms | p99 ms | errors | SQL/req | vs limit "
        "| vs baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in m:
        for name, r in m[target].items():
            ratio = results["ratios"].get(name, {}) if target == "app" else {}
            lines.append(
                f"| {target} {name} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {r['errors']} "
                f"| {sql.get(name, '') if target == 'app' else ''} "
                f"| {ratio.get('vs_limit', '')} | {ratio.get('vs_baseline', '')} |"
            )
    serialization = results.get("serialization")
    if serialization:
        lines.append("")
        lines.append("| page of 20 products, query to JSON (in-process) | ms | vs drf_generic |")
        lines.append("| --- | ---: | ---: |")
        for name, ms in serialization["ms_per_page"].items():
            lines.append(f"| {name} | {ms} | {serialization['vs_drf_generic'][name]} |")
    lines.append("")
    lines.append("| target | value | met |")
    lines.append("| --- | --- | --- |")
    for name, t in results["targets"].items():
        value = t.get("value", "")
        lines.append(
            f"| {name} | {value if value is not None else ''} | {'yes' if t['met'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


VARIANTS = {
    "workers1": {"workers": 1},
    # The settings before the psycopg pool (DB_POOL, the default since 7dac98b).
    "persistent": {"env": {"DB_POOL": "false", "DB_CONN_MAX_AGE": "60"}},
    # The ASGI server measured against the deployed one (granian).
    "uvicorn": {"server": "uvicorn", "endpoints": ("list_page1", "detail", "search_selective")},
    # Cache layout: cached reads answered by Django's cache only, as before the
    # replay layer (core/replay.py); its cached rows against the app's.
    "noreplay": {
        "env": {"CACHE_REPLAY": "false"},
        "endpoints": (),
        "cached_endpoints": ("list_page1", "detail"),
    },
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Reproduce every figure of docs/performance.md.")
    p.add_argument("--products", type=int, default=int(env("BENCH_PRODUCTS", "100000")))
    p.add_argument("--small-products", type=int, default=int(env("BENCH_SMALL_PRODUCTS", "1000")))
    p.add_argument("--seed", type=int, default=int(env("BENCH_SEED", "1")))
    p.add_argument("--catalog", default=env("BENCH_CATALOG", ""), help="An interchange file.")
    p.add_argument("--duration", type=float, default=float(env("BENCH_DURATION", "10")))
    p.add_argument("--warmup", type=float, default=float(env("BENCH_WARMUP", "2")))
    p.add_argument("--concurrency", type=int, default=int(env("BENCH_CONCURRENCY", "32")))
    p.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", "2")))
    p.add_argument("--deep-page", type=int, default=500)
    p.add_argument(
        "--serialization-pages", type=int, default=100, help="bench.serialization, per round."
    )
    p.add_argument("--port", type=int, default=int(env("BENCH_PORT", "0")))
    p.add_argument(
        "--database-url", default=env("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/")
    )
    p.add_argument("--redis-url", default=env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    p.add_argument("--out", default=env("BENCH_OUT", str(ROOT / "bench" / "results")))
    p.add_argument("--db-name", default=env("BENCH_DB_NAME", DB_PREFIX), help="storefront_bench*")
    p.add_argument("--reuse-db", action="store_true", help="Keep an existing storefront_bench.")
    p.add_argument("--keep-db", action="store_true", help="Do not drop storefront_bench after.")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        choices=sorted(VARIANTS),
        help="Measured choices: extra runs of list/detail under another setup.",
    )
    p.add_argument("--plots", default="", help="Directory for the PNG plots (matplotlib).")
    args = p.parse_args(argv)
    args.variants = [(name, VARIANTS[name]) for name in args.variant]
    if not args.db_name.startswith(DB_PREFIX):
        p.error(f"--db-name must start with {DB_PREFIX}")
    return args


def _terminate(signum, frame):  # SIGTERM: stop the servers we started, then exit
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        results = run(args)
    finally:  # a failed or interrupted run leaves no database behind either
        drop_database(args.database_url, args.db_name + "_small")
        if not args.keep_db:
            drop_database(args.database_url, args.db_name)
    out = Path(args.out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"results-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    report = table(results)
    (out / "latest.md").write_text(report)
    if args.plots:
        from bench.plots import plot

        plot(results, Path(args.plots))
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
