"""Bench fixtures, chosen from the imported catalog (run with Django set up).

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.fixtures OUT.json

Picks the product with the most reviews (detail), a common search word and a
selective one (under 100 matches), a root category and a price band for the
subtree endpoint, creates the buyers (JWT access tokens) and the products they
order, and records the stock before the order run (oversell check).
`python -m bench.fixtures --check-orders FIXTURES.json` checks afterwards that
no stock was oversold. `--explain` prints the EXPLAIN checks of the hot queries.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal

COMMON_WORDS = ["wireless", "compact", "portable", "classic", "smart"]
SCARCE_STOCK = 40
BUYERS = 16


def choose(out: str) -> dict:
    from django.db.models import Count
    from rest_framework_simplejwt.tokens import AccessToken

    from storefront.accounts.models import User
    from storefront.catalog.models import Category, Product

    active = Product.objects.active()
    detail = active.order_by("-review_count", "id").values_list("id", flat=True).first()
    common = max(COMMON_WORDS, key=lambda w: active.search(w).count())
    selective, selective_count = None, 0
    for name in active.order_by("id").values_list("name", flat=True)[:50]:
        candidate = name.split()[-1]
        count = active.search(candidate).count()
        if 0 < count < 100:
            selective, selective_count = candidate, count
            break
    root = (
        Category.objects.filter(depth=0)
        .annotate(n=Count("children"))
        .order_by("-n", "slug")
        .values_list("slug", flat=True)
        .first()
    )
    # Buyers: one hot product in every order (row-lock contention on purpose),
    # plus one product of their own; plenty of stock so the run never sells out.
    hot, *own = (
        active.filter(currency="USD").order_by("id").values_list("id", flat=True)[: BUYERS + 2]
    )
    scarce = own.pop()
    Product.objects.filter(id__in=[hot, *own]).update(stock=1_000_000)
    Product.objects.filter(id=scarce).update(stock=SCARCE_STOCK)
    buyers = []
    for i in range(BUYERS):
        user, _ = User.objects.get_or_create(
            email=f"bench-buyer-{i}@example.com", defaults={"first_name": f"Buyer {i}"}
        )
        buyers.append({"token": str(AccessToken.for_user(user)), "product": str(own[i % len(own)])})
    stock = dict(Product.objects.filter(id__in=[hot, scarce, *own]).values_list("id", "stock"))
    held = _held({hot, scarce, *own})
    fixtures = {
        "products": active.count(),
        "detail_id": str(detail),
        "common_word": common,
        "common_matches": active.search(common).count(),
        "selective_word": selective,
        "selective_matches": selective_count,
        "category": root,
        "category_filters": "min_price=10&max_price=500&in_stock=true",
        "hot_product": str(hot),
        "scarce_product": str(scarce),
        "scarce_stock": SCARCE_STOCK,
        "buyers": buyers,
        "stock_before": {str(k): v for k, v in stock.items()},
        "held_before": {str(k): held.get(k, 0) for k in stock},
    }
    with open(out, "w") as fh:
        json.dump(fixtures, fh, indent=2)
    return fixtures


def _held(product_ids) -> dict:
    """Quantities held by orders that keep their stock (not failed or cancelled)."""
    from django.db.models import Sum

    from storefront.orders.models import Order, OrderLine

    return dict(
        OrderLine.objects.exclude(order__status__in=Order.RELEASES_STOCK)
        .filter(product_id__in=product_ids)
        .values_list("product_id")
        .annotate(q=Sum("quantity"))
    )


def check_orders(path: str) -> dict:
    """Stock sold (before - after) must equal the quantities of the orders that
    hold stock, for every product the buyers ordered, and never go negative."""
    from django.db.models import Sum

    from storefront.catalog.models import Product
    from storefront.orders.models import Order, OrderLine

    with open(path) as fh:
        fixtures = json.load(fh)
    holding = OrderLine.objects.exclude(order__status__in=Order.RELEASES_STOCK)
    report = {"products": {}, "oversold": False}
    for product_id, before in fixtures["stock_before"].items():
        after = Product.all_objects.get(pk=product_id).stock
        held = holding.filter(product_id=product_id).aggregate(q=Sum("quantity"))["q"] or 0
        held -= fixtures["held_before"].get(product_id, 0)
        ok = after >= 0 and before - after == held
        report["products"][product_id] = {"before": before, "after": after, "held": held, "ok": ok}
        report["oversold"] |= not ok
    scarce = fixtures["scarce_product"]
    report["scarce_sold"] = report["products"][scarce]["held"]
    report["scarce_stock"] = fixtures["scarce_stock"]
    report["oversold"] |= report["scarce_sold"] > fixtures["scarce_stock"]
    report["orders"] = Order.objects.count()
    report["orders_by_status"] = dict(
        Order.objects.values_list("status").annotate(n=Sum(1)).values_list("status", "n")
    )
    return report


# --- EXPLAIN: the hot queries use the intended indexes --------------------------------


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _summary(queryset) -> dict:
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    nodes = list(_plan_nodes(plan["Plan"]))
    return {
        "indexes": sorted({n["Index Name"] for n in nodes if "Index Name" in n}),
        "index_only": sorted(
            {n["Index Name"] for n in nodes if n["Node Type"] == "Index Only Scan"}
        ),
        "seq_scans": sorted({n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"}),
        "ms": round(plan["Execution Time"], 2),
    }


def explain(fixtures_path: str) -> dict:
    from storefront.catalog.models import Category, Product

    with open(fixtures_path) as fh:
        fixtures = json.load(fh)
    listing = Product.objects.active()
    category = Category.objects.get(slug=fixtures["category"])
    checks = {
        "list_page1": (
            listing.order_by("-created_at", "-id")[:20],
            ("catalog_prod_visible_new", "catalog_product_created_at"),
        ),
        # As catalog/api/pagination.py selects deep pages: ids first, in the
        # visible products' own index (an index-only scan), then the rows.
        "list_page500": (
            listing.filter(
                pk__in=listing.order_by("-created_at", "-id").values("pk")[9980:10000]
            ).order_by("-created_at", "-id"),
            ("catalog_prod_visible_new",),
        ),
        "list_count": (listing.values("pk"), None),
        "detail": (listing.filter(pk=fixtures["detail_id"]), ("catalog_product_pkey",)),
        "search_common": (
            listing.search(fixtures["common_word"])[:20],
            ("catalog_prod_search",),
        ),
        "search_selective": (
            listing.search(fixtures["selective_word"] or "zzz")[:20],
            ("catalog_prod_search", "catalog_prod_name_trgm"),
        ),
        "category_subtree": (
            listing.filter(
                category__path__startswith=category.path,
                price__gte=Decimal(10),
                price__lte=Decimal(500),
                stock__gt=0,
            ).order_by("-created_at", "-id")[:20],
            (
                "catalog_prod_visible_new",
                "catalog_prod_cat_created",
                "catalog_category_path",
                "catalog_product_category",
            ),
        ),
    }
    report = {}
    for name, (queryset, intended) in checks.items():
        summary = _summary(queryset)
        summary["intended"] = intended
        summary["uses_intended"] = (
            None
            if intended is None
            else any(index.startswith(intended) for index in summary["indexes"])
        )
        report[name] = summary
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT COUNT(*) FROM catalog_product "
            "WHERE is_active AND deleted_at IS NULL"
        )
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    report["list_count"]["ms"] = round(plan["Execution Time"], 2)
    report["index_names"] = sorted(
        Product._meta.db_table + ":" + index.name for index in Product._meta.indexes
    )
    return report


def main(argv: list[str] | None = None) -> None:
    import django

    django.setup()
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--check-orders", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args(argv)
    if args.check_orders:
        result = check_orders(args.file)
    elif args.explain:
        result = explain(args.file)
    else:
        result = choose(args.file)
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
