"""Product search: full-text ranking, websearch syntax, typo tolerance, long texts."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from storefront.catalog import search
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import ProductFactory, ProductImageFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/products/"


def found(client, text, **params):
    response = client.get(LIST, {"search": text, **params})
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


def test_name_match_ranks_above_description_match(api_client):
    # given one product mentioning "kettle" in its description (created last, so newest)
    # and one with "kettle" in its name
    ProductFactory(name="Kettle deluxe", description="Boils water.")
    ProductFactory(name="Teapot", description="Pairs well with any kettle.")
    # when searching for "kettle"
    # then the name match comes first, the description match after it
    assert found(api_client, "kettle") == ["Kettle deluxe", "Teapot"]


def test_search_stems_english_words(api_client):
    ProductFactory(name="Running shoes")
    assert found(api_client, "run") == ["Running shoes"]


def test_typos_still_find_the_product(api_client):
    ProductFactory(name="Wireless mouse")
    ProductFactory(name="Ergonomic keyboard")
    ProductFactory(name="Garden hose")
    assert found(api_client, "wirless") == ["Wireless mouse"]
    assert found(api_client, "keybord") == ["Ergonomic keyboard"]
    assert found(api_client, "WIRELES mouse") == ["Wireless mouse"]


def test_exact_matches_rank_above_typo_matches(api_client):
    ProductFactory(name="Lamp shade")
    ProductFactory(name="Lamb chops", description="Fresh lamb.")
    assert found(api_client, "lamb")[0] == "Lamb chops"


def test_websearch_syntax(api_client):
    ProductFactory(name="Red apple", description="sweet fruit")
    ProductFactory(name="Green apple", description="sour fruit")
    ProductFactory(name="Apple pie", description="red dessert")
    assert set(found(api_client, "apple -green")) == {"Red apple", "Apple pie"}
    assert found(api_client, '"sour fruit"') == ["Green apple"]
    assert set(found(api_client, "pie or sour")) == {"Apple pie", "Green apple"}


@pytest.mark.parametrize(
    "text",
    [
        "the",  # only a stop word
        "&|!():*<->",  # tsquery operators
        "'; DROP TABLE catalog_product; --",
        "\\",
        '"unbalanced',
        "🛒🔥",
        "مرحبا",
        "e\u0301\u0301",
        "<script>alert(1)</script>",
        "a" * 200,
    ],
)
def test_hostile_search_strings_never_fail(api_client, text):
    ProductFactory(name="Plain product")
    response = api_client.get(LIST, {"search": text})
    assert response.status_code == 200


def test_unicode_names_are_searchable(api_client):
    ProductFactory(name="Café crème 🛒")
    assert found(api_client, "cafe") == [] or found(api_client, "café") == ["Café crème 🛒"]
    assert found(api_client, "café") == ["Café crème 🛒"]


def test_blank_search_is_no_filter(api_client):
    ProductFactory.create_batch(2)
    assert len(found(api_client, "   ")) == 2
    assert Product.objects.search("  ").count() == 2


def test_explicit_ordering_overrides_rank(api_client):
    ProductFactory(name="Kettle", price="30")
    ProductFactory(name="Teapot", description="kettle", price="10")
    assert found(api_client, "kettle", ordering="price") == ["Teapot", "Kettle"]


def test_search_respects_visibility_and_other_filters(api_client, staff_client):
    ProductFactory(name="Hidden kettle", is_active=False)
    ProductFactory(name="Empty kettle", stock=0)
    assert found(api_client, "kettle") == ["Empty kettle"]
    assert found(api_client, "kettle", in_stock="true") == []
    assert set(found(staff_client, "kettle")) == {"Hidden kettle", "Empty kettle"}


def test_search_in_cursor_feed(api_client):
    ProductFactory(name="Kettle")
    ProductFactory(name="Toaster")
    response = api_client.get("/api/v1/products/feed/", {"search": "kettle"})
    assert [item["name"] for item in response.json()["results"]] == ["Kettle"]


@pytest.mark.parametrize("size", [2, 12])
def test_search_query_count_is_fixed(api_client, django_assert_num_queries, size):
    for n in range(size):
        ProductImageFactory(product=ProductFactory(name=f"Kettle {n}"))
    with django_assert_num_queries(3):
        response = api_client.get(LIST, {"search": "kettle", "page_size": size})
    assert len(response.json()["results"]) == size


def test_search_vector_column_is_generated_by_postgresql(db):
    # The column is outside Django's model state, kept by PostgreSQL on every write.
    product = ProductFactory(name="Sturdy ladder", description="Aluminium.")
    Product.objects.filter(pk=product.pk).update(name="Wobbly stool")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_vector::text FROM catalog_product WHERE id = %s", [product.pk]
        )
        (vector,) = cursor.fetchone()
    assert "'wobbl':1A" in vector
    assert "'aluminium':3B" in vector
    assert "ladder" not in vector


def _distinct_words(length: int) -> str:
    rng = random.Random(1)
    alphabet = [chr(c) for c in range(0x20000, 0x20000 + 2000)]  # 4-byte UTF-8 letters
    words, size = [], 0
    while size < length:
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 8)))
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length]


def test_huge_descriptions_of_distinct_words_still_save(db):
    # given a 1M-character description of distinct 4-byte-character words, whose
    # full tsvector would exceed PostgreSQL's 1 MB limit
    description = "needle " + _distinct_words(1_000_000)
    # when saved, then the row is written (the vector covers the first 100k characters)
    product = ProductFactory(name="Big", description=description)
    assert Product.objects.search("needle").get() == product
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_size(search_vector) FROM catalog_product WHERE id = %s",
            [product.pk],
        )
        assert cursor.fetchone()[0] < 1024 * 1024


def test_embedded_mode_falls_back_to_case_insensitive_matching(db, monkeypatch):
    # given the SQLite fallback (selected by the connection's vendor)
    class Sqlite:
        vendor = "sqlite"

    monkeypatch.setattr(search, "connection", Sqlite())
    ProductFactory(name="Teapot", description="Goes with a KETTLE.")
    ProductFactory(name="Electric Kettle")
    ProductFactory(name="Toaster")
    # then name matches come first, then description matches, case-insensitively
    names = [p.name for p in Product.objects.search("kettle")]
    assert names == ["Electric Kettle", "Teapot"]


def test_search_indexes_keep_their_pending_list_short(db):
    # Migration 0005 (docs/performance.md, finding 12): with GIN's default 4 MB
    # pending list, a few thousand stock updates tipped the common-word search to
    # a sequential scan (~6x slower).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s) ORDER BY relname",
            [["catalog_prod_name_trgm", "catalog_prod_search"]],
        )
        options = dict(cursor.fetchall())
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'catalog_product'::regclass AND attname = 'name'"
        )
        (name_target,) = cursor.fetchone()
    assert options == {
        "catalog_prod_name_trgm": ["gin_pending_list_limit=64"],
        "catalog_prod_search": ["gin_pending_list_limit=64"],
    }
    # The default statistics target: pg_trgm's estimator reads every histogram
    # entry at each planning, and 1000 of them cost 5 ms per search.
    assert name_target in (None, -1)
