"""bench/limit: the practical ceiling of Python for the catalog reads.

A bare ASGI application (no framework): one psycopg 3 async connection pool
per worker, hand-written SQL (the same statements the ORM should produce, no
more), orjson. It answers the benchmarked GET endpoints with the same JSON as
the app (bench/run.py compares the bodies), reading the same tables:

    python -m uvicorn bench.limit.app:app --workers N

No authentication, throttling, caching or logging: it is the floor of the
cost of a request, not a server to deploy.
"""

from __future__ import annotations

import base64
import os
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlencode

import orjson
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

PAGE_SIZE = 20
THRESHOLD = os.environ.get("CATALOG_SEARCH_TYPO_THRESHOLD", "0.5")
_pool: AsyncConnectionPool | None = None

COLUMNS = """p.id, p.sku, p.slug, p.name, p.description, c.slug, p.price, p.currency,
p.stock, p.is_active, p.is_featured, p.rating_avg, p.review_count, p.created_at,
p.updated_at, p.attributes, c.path"""
FROM = "catalog_product p JOIN catalog_category c ON c.id = p.category_id"
VISIBLE = "p.is_active AND p.deleted_at IS NULL"
ORDER = "p.created_at DESC, p.id DESC"
# A constant prefix (read first, like the app does) lets the planner use the
# varchar_pattern_ops index; a prefix from a subquery measured 4 s per request.
SUBTREE = " AND c.path LIKE %(prefix)s"
SEARCH_MATCH = (
    "(p.search_vector @@ websearch_to_tsquery('english'::regconfig, %(q)s) OR p.name %%> %(q)s)"
)
SEARCH_ORDER = (
    "ts_rank(p.search_vector, websearch_to_tsquery('english'::regconfig, %(q)s)) DESC, "
    "word_similarity(%(q)s, p.name) DESC, p.created_at DESC, p.id DESC"
)


async def pool() -> AsyncConnectionPool:
    global _pool
    if _pool is None:
        url = os.environ["DATABASE_URL"]
        _pool = AsyncConnectionPool(
            url,
            min_size=2,
            max_size=8,
            open=False,
            kwargs={
                "options": f"-c timezone=UTC -c pg_trgm.word_similarity_threshold={THRESHOLD}",
                "row_factory": tuple_row,
                # No server-side prepared statements, like Django: after five runs
                # PostgreSQL would switch to a generic plan, which cannot use the
                # path prefix index (measured: category subtree p99 4.6 s).
                "prepare_threshold": None,
            },
        )
        await _pool.open()
    return _pool


def _dt(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _replace(url: str, key: str, value) -> str:
    base, _, query = url.partition("?")
    params = parse_qs(query, keep_blank_values=True)
    if value is None:
        params.pop(key, None)
    else:
        params[key] = [str(value)]
    query = urlencode(sorted(params.items()), doseq=True)
    return f"{base}?{query}" if query else base


def product(row, origin: str, version: str, images: dict, nodes: dict | None) -> dict:
    pid = str(row[0])
    data = {
        "id": pid,
        "url": f"{origin}/api/{version}/products/{pid}/",
        "sku": row[1],
        "slug": row[2],
        "name": row[3],
        "description": row[4],
        "category": row[5],
        "category_url": f"{origin}/api/{version}/categories/{row[5]}/",
        "price": str(row[6]),
        "currency": row[7],
        "stock": row[8],
        "in_stock": row[8] > 0,
        "is_active": row[9],
        "is_featured": row[10],
        "rating_avg": None if row[11] is None else str(row[11]),
        "review_count": row[12],
        "images": images.get(row[0], []),
        "reviews_url": f"{origin}/api/{version}/products/{pid}/reviews/",
        "created_at": _dt(row[13]),
        "updated_at": _dt(row[14]),
    }
    if nodes is not None:
        data["category_path"] = [
            {"slug": nodes[part][0], "name": nodes[part][1]}
            for part in row[16].split("/")
            if part and part in nodes
        ]
        data["attributes"] = row[15]
    return data


async def load_images(cur, ids: list) -> dict:
    if not ids:
        return {}
    await cur.execute(
        "SELECT product_id, id, url, alt_text, position FROM catalog_productimage "
        "WHERE product_id = ANY(%s) ORDER BY position, created_at",
        [ids],
    )
    images: dict = {}
    for product_id, image_id, url, alt, position in await cur.fetchall():
        images.setdefault(product_id, []).append(
            {"id": str(image_id), "url": url, "alt_text": alt, "position": position}
        )
    return images


async def load_nodes(cur, rows) -> dict:
    ids = {part for row in rows for part in row[16].split("/") if part}
    if not ids:
        return {}
    await cur.execute(
        "SELECT id, slug, name FROM catalog_category WHERE id = ANY(%s)",
        [[uuid.UUID(i) for i in ids]],
    )
    return {row[0].hex: (row[1], row[2]) for row in await cur.fetchall()}


async def render_rows(cur, rows, origin, version) -> list[dict]:
    images = await load_images(cur, [row[0] for row in rows])
    nodes = await load_nodes(cur, rows) if version == "v2" else None
    return [product(row, origin, version, images, nodes) for row in rows]


async def page_list(cur, where: str, params: dict, order: str, page: int, url: str, ctx) -> dict:
    await cur.execute(f"SELECT COUNT(*) FROM {FROM} WHERE {where}", params)  # noqa: S608
    count = (await cur.fetchone())[0]
    pages = max(1, -(-count // PAGE_SIZE))
    await cur.execute(
        f"SELECT {COLUMNS} FROM {FROM} WHERE {where} ORDER BY {order} "  # noqa: S608
        "LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE},
    )
    rows = await cur.fetchall()
    previous = None
    if page > 1:
        previous = _replace(url, "page", None if page == 2 else page - 1)
    return {
        "count": count,
        "page": page,
        "pages": pages,
        "links": {
            "self": url,
            "next": _replace(url, "page", page + 1) if page < pages else None,
            "previous": previous,
        },
        "results": await render_rows(cur, rows, *ctx),
    }


async def feed(cur, query: dict, url: str, ctx) -> dict:
    """Keyset pagination on (created_at, id), DRF's cursor format (p=position, o=offset)."""
    where, params, offset = VISIBLE, {}, 0
    cursor = query.get("cursor")
    if cursor:
        tokens = parse_qs(base64.b64decode(cursor.encode()).decode())
        offset = int(tokens.get("o", ["0"])[0])
        if "p" in tokens:
            where += " AND p.created_at < %(position)s"
            params["position"] = datetime.fromisoformat(tokens["p"][0])
    await cur.execute(
        f"SELECT {COLUMNS} FROM {FROM} WHERE {where} ORDER BY {ORDER} "  # noqa: S608
        "LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": PAGE_SIZE + 1, "offset": offset},
    )
    rows = await cur.fetchall()
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    following = None
    if more:
        last = rows[-1][13]
        ties = sum(1 for row in rows if row[13] == last)
        tokens = {"p": str(last)}
        if ties > 1 or last == params.get("position"):
            tokens["o"] = str(ties + (offset if last == params.get("position") else 0))
        encoded = base64.b64encode(urlencode(tokens, doseq=True).encode()).decode()
        following = _replace(url, "cursor", encoded)
    return {
        "links": {"self": url, "next": following, "previous": None},
        "results": await render_rows(cur, rows, *ctx),
    }


async def detail(cur, product_id: str, ctx) -> dict | None:
    await cur.execute(
        f"SELECT {COLUMNS} FROM {FROM} WHERE {VISIBLE} AND p.id = %s",  # noqa: S608
        [product_id],
    )
    rows = await cur.fetchall()
    return (await render_rows(cur, rows, *ctx))[0] if rows else None


async def route(path: str, query: dict, url: str, origin: str):
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3 or parts[0] != "api" or parts[1] not in ("v1", "v2"):
        return 404, {"detail": "Not found."}
    version, rest = parts[1], parts[2:]
    ctx = (origin, version)
    page = int(query.get("page", "1"))
    async with (await pool()).connection() as conn, conn.cursor() as cur:
        if rest == ["products"]:
            if query.get("search"):
                where = f"{VISIBLE} AND {SEARCH_MATCH}"
                params = {"q": query["search"]}
                return 200, await page_list(cur, where, params, SEARCH_ORDER, page, url, ctx)
            return 200, await page_list(cur, VISIBLE, {}, ORDER, page, url, ctx)
        if rest == ["products", "feed"]:
            return 200, await feed(cur, query, url, ctx)
        if len(rest) == 2 and rest[0] == "products":
            body = await detail(cur, rest[1], ctx)
            return (200, body) if body else (404, {"detail": "Not found."})
        if len(rest) == 3 and rest[0] == "categories" and rest[2] == "products":
            await cur.execute("SELECT path FROM catalog_category WHERE slug = %s", [rest[1]])
            found = await cur.fetchone()
            if found is None:
                return 404, {"detail": "Not found."}
            where = VISIBLE + SUBTREE
            params: dict = {"prefix": found[0].replace("%", r"\%").replace("_", r"\_") + "%"}
            if "min_price" in query:
                where += " AND p.price >= %(min_price)s"
                params["min_price"] = query["min_price"]
            if "max_price" in query:
                where += " AND p.price <= %(max_price)s"
                params["max_price"] = query["max_price"]
            if query.get("in_stock") == "true":
                where += " AND p.stock > 0"
            return 200, await page_list(cur, where, params, ORDER, page, url, ctx)
    return 404, {"detail": "Not found."}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":  # pragma: no cover - uvicorn --lifespan off
        return
    headers = dict(scope["headers"])
    host = headers.get(b"host", b"localhost").decode()
    origin = f"{scope['scheme']}://{host}"
    raw_query = scope["query_string"].decode()
    url = origin + scope["path"] + (f"?{raw_query}" if raw_query else "")
    query = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    try:
        status, body = await route(scope["path"], query, url, origin)
    except ValueError:
        status, body = 400, {"detail": "Bad request."}
    payload = orjson.dumps(body, option=orjson.OPT_UTC_Z)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
