"""Serialisation strategies for a page of products, timed in-process.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=.../storefront_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 SECRET_KEY=x python -m bench.serialization

For page 1 of the product list (20 products, v1), from the query to the JSON
bytes, each strategy producing the same bytes (checked before timing):

* `drf_generic`: model instances (category joined, images prefetched) through
  DRF's generic field loop: `HyperlinkedIdentityField`s, a nested image
  serializer, one `reverse()` per link (what the app did before);
* `written_out`: the same instances through `ProductSerializer.to_representation`
  as written out by hand (what the app does);
* `values`: no model instances: `values()` rows for the products and their
  images, rendered by the same `represent_row` the written-out path ends in.

The rounds alternate the strategies, and the median of the rounds is printed
(docs/performance.md, "Serialisation"). `make bench` runs it on its database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict

PAGE = 20


def strategies():
    """The three strategies, each a function returning the page's JSON bytes."""
    from django.db.models import F
    from rest_framework import serializers
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework.versioning import URLPathVersioning

    from storefront.catalog.api.serializers import ProductSerializer
    from storefront.catalog.models import Product, ProductImage
    from storefront.core.renderers import dumps

    def request() -> Request:
        wrapped = Request(APIRequestFactory().get("/api/v1/products/", HTTP_HOST="127.0.0.1"))
        wrapped.version = "v1"
        wrapped.versioning_scheme = URLPathVersioning()
        return wrapped

    def page():
        return Product.objects.active().for_listing()[:PAGE]

    class Generic(ProductSerializer):
        def to_representation(self, product):
            return serializers.Serializer.to_representation(self, product)

    def drf_generic() -> bytes:
        return dumps(Generic(page(), many=True, context={"request": request()}).data)

    def written_out() -> bytes:
        return dumps(ProductSerializer(page(), many=True, context={"request": request()}).data)

    columns = (
        *("id", "sku", "slug", "name", "description", "price", "currency", "stock"),
        *("is_active", "is_featured", "rating_avg", "review_count", "created_at", "updated_at"),
    )
    image_columns = ("product_id", "id", "url", "file", "alt_text", "position")

    def values() -> bytes:
        serializer = ProductSerializer(context={"request": request()})
        rows = list(
            Product.objects.active().values(*columns, category_slug=F("category__slug"))[:PAGE]
        )
        images = defaultdict(list)
        for image in ProductImage.objects.filter(product_id__in=[row["id"] for row in rows]).values(
            *image_columns
        ):
            images[image.pop("product_id")].append(image)
        # The rows `Product.as_row()` gives, through the builder the app uses.
        return dumps(
            [serializer.represent_row({**row, "images": images[row["id"]]}) for row in rows]
        )

    return {"drf_generic": drf_generic, "written_out": written_out, "values": values}


def measure(pages: int, rounds: int) -> dict:
    import django

    django.setup()
    from django.db import connection

    candidates = strategies()
    outputs = {name: make() for name, make in candidates.items()}
    reference = outputs["drf_generic"]
    if len(json.loads(reference)) != PAGE:
        raise SystemExit(f"the catalog has fewer than {PAGE} active products")
    for name, output in outputs.items():
        if output != reference:
            raise SystemExit(f"{name} does not produce drf_generic's bytes")
    timings: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, make in candidates.items():
            started = time.perf_counter()
            for _ in range(pages):
                make()
            timings[name].append((time.perf_counter() - started) / pages * 1000)
    connection.close()
    medians = {name: round(statistics.median(ms), 3) for name, ms in timings.items()}
    return {
        "ms_per_page": medians,
        "vs_drf_generic": {
            name: round(medians["drf_generic"] / ms, 2) for name, ms in medians.items()
        },
        "pages": pages,
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="pages per strategy per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.stdout.write(json.dumps(measure(args.pages, args.rounds)) + "\n")


if __name__ == "__main__":
    main()
