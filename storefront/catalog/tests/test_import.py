"""Specification of `manage.py import_catalog` and `catalog_import`.

The interchange format is JSON Lines: categories (parents first), then
products, then reviews. An import is an idempotent upsert in one transaction:
an invalid line stops it with its number and reason and leaves the database
as it was, unless --skip-invalid, which imports the rest and writes the
rejected lines to a rejects file.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER
from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.cache import catalog_generation
from storefront.catalog.importer import ImportLineError, catalog_import
from storefront.catalog.models import (
    CATEGORY_MAX_DEPTH,
    Category,
    Product,
    Review,
    category_path_for,
)

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
VALID = DATA / "valid.jsonl"


# --- helpers -------------------------------------------------------------------


def category(**fields) -> dict:
    return {
        "type": "category",
        "slug": "home",
        "name": "Home",
        "parent": None,
        "description": "",
        **fields,
    }


def product(**fields) -> dict:
    return {
        "type": "product",
        "sku": "P-1",
        "slug": "p-1",
        "name": "Product one",
        "description": "",
        "category": "home",
        "price": "10.00",
        "currency": "USD",
        "stock": 1,
        "is_active": True,
        "is_featured": False,
        "attributes": {},
        "created_at": "2024-01-01T00:00:00+00:00",
        **fields,
    }


def review(**fields) -> dict:
    return {
        "type": "review",
        "product": "P-1",
        "author": "reviewer@example.com",
        "rating": 4,
        "title": "Good",
        "body": "",
        "created_at": "2024-02-01T00:00:00+00:00",
        **fields,
    }


def jsonl(lines: list[dict | str | bytes]) -> bytes:
    out = b""
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line, ensure_ascii=False)
        out += (line if isinstance(line, bytes) else line.encode("utf-8")) + b"\n"
    return out


def write(tmp_path: Path, lines: list[dict | str | bytes], name: str = "catalog.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(jsonl(lines))
    return path


def run_import(path: Path | str, *args: str) -> str:
    out = io.StringIO()
    call_command(
        "import_catalog", str(path), "--no-progress", *args, stdout=out, stderr=io.StringIO()
    )
    return out.getvalue()


def snapshot() -> dict[str, list]:
    """Every row the importer may touch, as plain values."""
    return {
        "categories": list(Category.objects.order_by("slug").values()),
        "products": list(Product.all_objects.order_by("sku").values()),
        "reviews": list(Review.objects.order_by("id").values()),
        "users": list(User.objects.order_by("email").values()),
        "memberships": list(User.groups.through.objects.order_by("id").values()),
    }


# --- happy path ------------------------------------------------------------------


def test_import_valid_file_creates_every_row_and_reports_counts():
    # Given an empty catalog and a valid file
    # When it is imported
    output = run_import(VALID)

    # Then every category, product, review and reviewer exists, and the summary says so
    assert Category.objects.count() == 4
    assert Product.objects.count() == 3
    assert Review.objects.count() == 4
    assert User.objects.count() == 3
    assert "categories 4 created, 0 updated" in output
    assert "products 3 created, 0 updated" in output
    assert "reviews 4 created, 0 updated" in output
    assert "users 3 created" in output
    assert "0 rejected" in output


def test_import_refreshes_the_planner_statistics_of_what_it_wrote():
    # Given a valid file
    # When it is imported
    with CaptureQueriesContext(connection) as queries:
        run_import(VALID)

    # Then the tables it wrote were analysed once the import committed, so the
    # planner knows their sizes at once (ANALYZE updates pg_class in place)
    analyze = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert len(analyze) == 1
    for table in ("catalog_category", "catalog_product", "catalog_review", "accounts_user"):
        assert f'"{table}"' in analyze[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)",
            [["catalog_product", "catalog_review", "catalog_category"]],
        )
        assert dict(cursor.fetchall()) == {
            "catalog_category": 4,
            "catalog_product": 3,
            "catalog_review": 4,
        }


def test_import_stores_values_exactly():
    # When the valid file is imported
    run_import(VALID)

    # Then the product's fields are the file's, created_at as the same instant
    pan = Product.objects.get(sku="HOM-0001")
    assert pan.slug == "cast-iron-pan"
    assert pan.price == Decimal("39.90")
    assert pan.category.slug == "cookware"
    assert pan.is_featured is True
    assert pan.attributes == {
        "diameter_cm": 26,
        "material": "cast iron",
        "oven_safe": True,
        "weight_kg": 2.35,
    }
    assert pan.created_at.isoformat() == "2024-03-01T08:00:00+00:00"
    assert Product.objects.get(sku="OUT-0001").price == Decimal("99999999.99")
    assert Product.objects.get(sku="HOM-0002").price == Decimal("0.01")
    # And reviews keep their timestamps too
    review_ = Review.objects.get(product=pan, author__email="ben@example.com")
    assert review_.created_at.isoformat() == "2024-04-02T06:30:00+00:00"


def test_import_builds_materialised_paths_like_the_category_services():
    # When a three-level tree is imported
    run_import(VALID)

    # Then each category's path and depth follow its parent (category_path_for)
    home = Category.objects.get(slug="home")
    kitchen = Category.objects.get(slug="kitchen")
    cookware = Category.objects.get(slug="cookware")
    assert home.path == category_path_for(None, home.id)
    assert kitchen.parent == home
    assert kitchen.path == category_path_for(home, kitchen.id)
    assert cookware.path == category_path_for(kitchen, cookware.id)
    assert (home.depth, kitchen.depth, cookware.depth) == (0, 1, 2)
    assert list(Category.objects.subtree_of(home).order_by("depth")) == [home, kitchen, cookware]


def test_portable_write_path_gives_the_same_rows(monkeypatch):
    # Given the importer told not to use PostgreSQL's COPY (as on SQLite)
    monkeypatch.setattr("storefront.catalog.importer.upsert.USE_COPY", False)

    # When the valid file is imported twice
    run_import(VALID)
    output = run_import(VALID)

    # Then the rows are the same as with COPY, and updates are upserts
    assert Product.objects.get(sku="HOM-0001").price == Decimal("39.90")
    assert Review.objects.count() == 4
    assert "products 0 created, 3 updated" in output


def test_import_reads_standard_input(monkeypatch):
    # Given the file on standard input
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(VALID.read_bytes())))

    # When the file argument is "-"
    run_import("-")

    # Then it is imported
    assert Product.objects.count() == 3


def test_import_of_a_missing_file_fails_cleanly(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run_import(tmp_path / "nope.jsonl")


def test_import_of_an_empty_file_does_nothing(tmp_path):
    output = run_import(write(tmp_path, []))
    assert "Imported 0 lines" in output
    assert not Category.objects.exists()


def test_verbosity_0_prints_nothing(tmp_path):
    out = io.StringIO()
    call_command("import_catalog", str(VALID), verbosity=0, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    assert Product.objects.count() == 3


def test_progress_bar_goes_to_stderr(capsys):
    # When the import runs with its progress bar
    call_command("import_catalog", str(VALID), stdout=io.StringIO())

    # Then the bar is on standard error, not mixed into the output
    assert "import" in capsys.readouterr().err


# --- idempotency and updates ---------------------------------------------------------


def test_importing_twice_changes_nothing_but_counts_updates():
    # Given the valid file imported once
    run_import(VALID)
    before = snapshot()

    # When it is imported again
    output = run_import(VALID)

    # Then the same rows exist with the same ids and values; only updated_at moved
    after = snapshot()
    for rows in (*before.values(), *after.values()):
        for row in rows:
            row.pop("updated_at", None)
    assert after == before
    assert "categories 0 created, 4 updated" in output
    assert "products 0 created, 3 updated" in output
    assert "reviews 0 created, 4 updated" in output
    assert "users 0 created" in output


def test_reimport_applies_changes(tmp_path):
    # Given a product with a review
    run_import(write(tmp_path, [category(), product(), review(rating=5)]))
    product_id = Product.objects.get().id

    # When the file comes again with a new price, name, category and rating
    changed = [
        category(),
        category(slug="garden", name="Garden"),
        product(price="12.50", name="Renamed", category="garden", attributes={"k": "v"}),
        review(rating=1, title="Broke"),
    ]
    run_import(write(tmp_path, changed))

    # Then the same rows carry the new values
    item = Product.objects.get()
    assert item.id == product_id
    assert (item.price, item.name, item.category.slug) == (Decimal("12.50"), "Renamed", "garden")
    assert item.attributes == {"k": "v"}
    assert Review.objects.get().rating == 1
    assert (item.rating_avg, item.review_count) == (Decimal("1.00"), 1)


def test_import_restores_a_soft_deleted_product(tmp_path):
    # Given a product that was soft-deleted
    path = write(tmp_path, [category(), product()])
    run_import(path)
    Product.objects.get(sku="P-1").delete()
    assert not Product.objects.filter(sku="P-1").exists()

    # When the file that contains it is imported again
    output = run_import(path)

    # Then the product is live again (the file says it exists), updated not duplicated
    assert Product.objects.filter(sku="P-1").exists()
    assert "products 0 created, 1 updated" in output


# --- reviewers, ratings, cache -------------------------------------------------------


def test_reviewers_become_customers_without_usable_passwords():
    # When a file with reviews by unknown people is imported
    run_import(VALID)

    # Then each reviewer is a customer who cannot log in with a password
    customers = Group.objects.get(name=CUSTOMER)
    for email in ("ana@example.com", "ben@example.com", "carla@example.org"):
        user = User.objects.get(email=email)
        assert not user.has_usable_password()
        assert list(user.groups.all()) == [customers]
        assert not user.is_staff


def test_existing_accounts_are_matched_by_email_whatever_the_case(tmp_path):
    # Given a staff member whose address the file spells in another case
    staff = UserFactory(email="Ana@Example.com", roles=[])
    path = write(
        tmp_path,
        [category(), product(), review(author="ANA@EXAMPLE.COM"), review(author="new@Example.COM")],
    )
    # (the two lines are different authors: not a duplicate)

    # When the file is imported
    output = run_import(path)

    # Then the review is the existing account's, untouched; only the new reviewer is created
    assert Review.objects.filter(author=staff).count() == 1
    staff.refresh_from_db()
    assert staff.has_usable_password()
    assert not staff.groups.exists()
    assert "users 1 created" in output
    assert User.objects.get(email__iexact="new@example.com").email == "new@example.com"


def test_rating_columns_are_recomputed():
    # When products with reviews are imported
    run_import(VALID)

    # Then each product's denormalised rating matches its reviews
    pan = Product.objects.get(sku="HOM-0001")
    assert (pan.rating_avg, pan.review_count) == (Decimal("3.50"), 2)
    knife = Product.objects.get(sku="HOM-0002")
    assert (knife.rating_avg, knife.review_count) == (Decimal("4.00"), 1)


def test_many_reviewed_products_recompute_every_rating(tmp_path, monkeypatch):
    # Given the threshold above which one UPDATE over all products is used
    monkeypatch.setattr("storefront.catalog.importer.service.RECOMPUTE_ALL_ABOVE", 1)

    # When more products than that get reviews
    run_import(VALID)

    # Then the ratings are right all the same
    assert Product.objects.get(sku="OUT-0001").rating_avg == Decimal("3.00")


def test_import_invalidates_the_catalog_cache(django_capture_on_commit_callbacks):
    # Given the current cache generation
    before = catalog_generation()

    # When an import commits
    with django_capture_on_commit_callbacks(execute=True):
        run_import(VALID)

    # Then the generation moved on
    assert catalog_generation() > before


def test_failed_import_leaves_the_cache_alone(tmp_path, django_capture_on_commit_callbacks):
    before = catalog_generation()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError):
        run_import(write(tmp_path, [category(), "{oops"]))
    assert catalog_generation() == before


# --- invalid lines: all or nothing ------------------------------------------------------

DEPTH_CHAIN = [
    category(slug=f"level-{n}", parent=None if n == 0 else f"level-{n - 1}")
    for n in range(CATEGORY_MAX_DEPTH + 1)
]

INVALID = {
    # name: (lines after the base category "home", reason in the message)
    "json_syntax": (['{"type": "category",'], "invalid JSON"),
    "not_an_object": (["[1, 2]"], "expected a JSON object, got an array"),
    "blank_line": ([""], "blank line"),
    "invalid_utf8": ([b'{"type":"category","slug":"x","name":"\xff"}'], "not valid UTF-8"),
    "missing_type": ([{"slug": "x"}], "missing field: type"),
    "unknown_type": ([{"type": "brand", "slug": "x"}], "unknown type 'brand'"),
    "missing_field": (
        [{"type": "category", "slug": "x", "parent": None}],
        "missing fields: name, description",
    ),
    "unknown_field": ([category(slug="x", colour="red")], "unknown field: colour"),
    "wrong_type": ([category(slug="x", name=5)], "name: expected a string, got a number"),
    "empty_name": ([category(slug="x", name="")], "name: must not be empty"),
    "category_slug_pattern": ([category(slug="Bad Slug")], "is not a category slug"),
    "category_slug_too_long": ([category(slug="a" * 101)], "is not a category slug"),
    "nul_character": ([category(slug="x", name="a\x00b")], "NUL character"),
    "lone_surrogate": (
        ['{"type":"category","slug":"x","name":"\\ud800","parent":null,"description":""}'],
        "lone surrogate",
    ),
    "unknown_parent": ([category(slug="x", parent="nowhere")], "unknown parent category 'nowhere'"),
    "own_parent": ([category(slug="x", parent="x")], "cannot be its own parent"),
    "depth_bound": (DEPTH_CHAIN, f"at most {CATEGORY_MAX_DEPTH} levels deep"),
    "duplicate_category_slug": ([category(name="Again")], "duplicate category slug 'home'"),
    "duplicate_sku": ([product(), product(slug="p-2")], "duplicate sku 'P-1'"),
    "duplicate_product_slug": ([product(), product(sku="P-2")], "duplicate product slug 'p-1'"),
    "product_slug_pattern": ([product(slug="no spaces")], "is not a slug"),
    "sku_too_long": ([product(sku="X" * 65)], "sku: longer than 64"),
    "unknown_category": ([product(category="nowhere")], "unknown category 'nowhere'"),
    "price_negative": ([product(price="-1.00")], "price: must be greater than 0"),
    "price_zero": ([product(price="0.00")], "price: must be greater than 0"),
    "price_malformed": ([product(price="12,50")], "is not a decimal number"),
    "price_exponent": ([product(price="1e3")], "is not a decimal number"),
    "price_number": ([product(price=12.5)], "expected a decimal string"),
    "price_places": ([product(price="12.5")], "exactly two decimal places"),
    "price_too_large": ([product(price="10000000000.00")], "more than the maximum 9999999999.99"),
    "currency": ([product(currency="usd")], "not an ISO 4217 code"),
    "stock_negative": ([product(stock=-1)], "stock: must be 0 or more"),
    "stock_fraction": ([product(stock=1.5)], "stock: expected an integer, got a number"),
    "stock_float_integral": ([product(stock=2.0)], "stock: expected an integer, got 2.0"),
    "stock_string": ([product(stock="3")], "stock: expected an integer, got a string"),
    "stock_too_large": ([product(stock=2**31)], "stock: must be at most"),
    "boolean_string": ([product(is_active="true")], "is_active: expected true or false"),
    "boolean_number": ([product(is_featured=1)], "is_featured: expected true or false"),
    "attributes_not_object": ([product(attributes=[1])], "attributes: expected an object"),
    "attribute_nested": (
        [product(attributes={"size": {"w": 1}})],
        "attributes.size: expected a string, number or boolean, got an object",
    ),
    "attribute_null": ([product(attributes={"size": None})], "got null"),
    "attribute_nan": (
        [json.dumps(product()).replace('"attributes": {}', '"attributes": {"x": NaN}')],
        "NaN is not a JSON number",
    ),
    "attribute_infinite": (
        [json.dumps(product()).replace('"attributes": {}', '"attributes": {"x": 1e999}')],
        "attributes.x: number out of range",
    ),
    "date_not_iso": ([product(created_at="yesterday")], "not an ISO 8601 date-time"),
    "date_without_offset": ([product(created_at="2024-01-01T00:00:00")], "needs a UTC offset"),
    "date_not_string": ([product(created_at=1700000000)], "created_at: expected a string"),
    "review_unknown_product": ([product(), review(product="NOPE")], "unknown product sku 'NOPE'"),
    "rating_too_high": ([product(), review(rating=6)], "rating: must be from 1 to 5, got 6"),
    "rating_too_low": ([product(), review(rating=0)], "rating: must be from 1 to 5, got 0"),
    "rating_boolean": ([product(), review(rating=True)], "rating: expected an integer"),
    "author_not_email": ([product(), review(author="not-an-email")], "not a valid e-mail"),
    "empty_title": ([product(), review(title="")], "title: must not be empty"),
    "duplicate_review": (
        [product(), review(author="a@example.com"), review(author="A@Example.COM")],
        "duplicate review of 'P-1' by 'A@Example.COM'",
    ),
    "category_after_product": (
        [product(), category(slug="late")],
        "category line after product lines",
    ),
    "product_after_review": (
        [product(), review(), product(sku="P-2", slug="p-2")],
        "product line after review lines",
    ),
}


@pytest.mark.parametrize("case", INVALID.keys())
def test_an_invalid_line_stops_the_import_and_changes_nothing(tmp_path, case):
    # Given a catalog already in the database
    run_import(VALID)
    before = snapshot()
    lines, reason = INVALID[case]
    path = write(tmp_path, [category(), *lines])

    # When a file whose last line is invalid is imported
    with pytest.raises(CommandError) as error:
        run_import(path)

    # Then the error names that line and the reason, and nothing was written
    message = str(error.value)
    assert f"line {1 + len(lines)}: " in message
    assert reason in message
    assert snapshot() == before


def test_a_product_slug_owned_by_another_sku_in_the_database_is_an_error(tmp_path):
    # Given a product whose slug is "cast-iron-pan"
    run_import(VALID)
    before = snapshot()

    # When another sku claims that slug
    path = write(tmp_path, [category(), product(sku="NEW-1", slug="cast-iron-pan")])
    with pytest.raises(CommandError, match="line 2: product slug 'cast-iron-pan' already belongs"):
        run_import(path)

    # Then nothing changed
    assert snapshot() == before


def test_a_review_may_reference_a_product_only_in_the_database(tmp_path):
    # Given a product imported earlier
    run_import(VALID)

    # When a file of reviews only refers to it
    run_import(write(tmp_path, [review(product="OUT-0001", author="dan@example.com")]))

    # Then the review is attached to it
    assert Review.objects.filter(product__sku="OUT-0001").count() == 2


def test_a_review_of_a_soft_deleted_product_is_an_error(tmp_path):
    run_import(VALID)
    Product.objects.get(sku="OUT-0001").delete()
    path = write(tmp_path, [review(product="OUT-0001", author="dan@example.com")])
    with pytest.raises(CommandError, match="line 1: unknown product sku 'OUT-0001'"):
        run_import(path)


def test_the_service_raises_a_domain_error_with_line_and_reason():
    with pytest.raises(ImportLineError) as error:
        catalog_import(lines=[jsonl([category()]), b"{}"])
    assert (error.value.line, error.value.reason) == (2, "missing field: type")


# --- the category tree -------------------------------------------------------------------


def test_reparenting_moves_the_whole_subtree(tmp_path):
    # Given home > kitchen > cookware, and outdoors
    run_import(VALID)

    # When a file moves kitchen under outdoors (cookware is not in the file)
    run_import(write(tmp_path, [category(slug="kitchen", name="Kitchen", parent="outdoors")]))

    # Then kitchen and its whole subtree have consistent paths and depths
    outdoors = Category.objects.get(slug="outdoors")
    kitchen = Category.objects.get(slug="kitchen")
    cookware = Category.objects.get(slug="cookware")
    assert kitchen.parent == outdoors
    assert kitchen.path == category_path_for(outdoors, kitchen.id)
    assert cookware.path == category_path_for(kitchen, cookware.id)
    assert (kitchen.depth, cookware.depth) == (1, 2)
    assert set(Category.objects.subtree_of(outdoors).values_list("slug", flat=True)) == {
        "outdoors",
        "kitchen",
        "cookware",
    }


def test_reparenting_to_a_root_and_back_in_one_file(tmp_path):
    run_import(VALID)
    path = write(
        tmp_path,
        [
            category(slug="kitchen", name="Kitchen", parent=None),
            category(slug="home", name="Home", parent="cookware"),
        ],
    )
    run_import(path)
    home = Category.objects.get(slug="home")
    cookware = Category.objects.get(slug="cookware")
    assert (cookware.depth, home.depth) == (1, 2)
    assert home.path == category_path_for(cookware, home.id)


def test_reparenting_under_a_descendant_is_a_cycle(tmp_path):
    # Given home > kitchen > cookware
    run_import(VALID)
    before = snapshot()

    # When a file puts home under cookware
    path = write(tmp_path, [category(slug="home", parent="cookware")])
    with pytest.raises(CommandError, match="line 1: moving category 'home' under 'cookware'"):
        run_import(path)

    # Then nothing moved
    assert snapshot() == before


def test_reparenting_that_makes_the_subtree_too_deep_is_an_error(tmp_path):
    # Given a chain of CATEGORY_MAX_DEPTH - 1 levels and the 3-level home tree
    run_import(VALID)
    chain = DEPTH_CHAIN[: CATEGORY_MAX_DEPTH - 1]
    run_import(write(tmp_path, chain, name="chain.jsonl"))

    # When home (with two levels below it) moves under the end of the chain
    last = chain[-1]["slug"]
    path = write(tmp_path, [category(slug="home", parent=last)])
    with pytest.raises(CommandError, match="line 1: category 'home' would be at depth"):
        run_import(path)


# --- --skip-invalid -------------------------------------------------------------------


def test_skip_invalid_imports_the_rest_and_writes_rejects(tmp_path):
    # Given a file with good lines and bad ones, some bad only because of others
    lines = [
        category(),
        category(slug="orphan", parent="nowhere"),  # 2: invalid
        product(),
        product(sku="P-2", slug="p-2", price="-1.00"),  # 4: invalid
        product(sku="P-3", slug="p-3", category="orphan"),  # 5: its category was rejected
        review(),
        review(product="P-2"),  # 7: its product was rejected
        review(author="other@example.com", rating=9),  # 8: invalid
        "not json",  # 9
        "[1]",  # 10
    ]
    path = write(tmp_path, lines)

    # When it is imported with --skip-invalid
    output = run_import(path, "--skip-invalid")

    # Then the valid lines are in the database
    assert list(Product.objects.values_list("sku", flat=True)) == ["P-1"]
    assert Review.objects.count() == 1
    assert "7 rejected" in output
    # And every rejected line is in the rejects file next to the input, in order, with its reason
    rejects_path = tmp_path / "catalog.jsonl.rejects.jsonl"
    assert f"Rejected lines written to {rejects_path}" in output
    rejects = [json.loads(line) for line in rejects_path.read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 4, 5, 7, 8, 9, 10]
    assert "unknown parent category 'nowhere'" in rejects[0]["reason"]
    assert "price: must be greater than 0" in rejects[1]["reason"]
    assert "unknown category 'orphan'" in rejects[2]["reason"]
    assert "unknown product sku 'P-2' (its line was rejected)" in rejects[3]["reason"]
    assert "rating: must be from 1 to 5" in rejects[4]["reason"]
    assert "invalid JSON" in rejects[5]["reason"]
    assert rejects[5]["text"] == "not json"
    assert json.loads(rejects[1]["text"]) == lines[3]


def test_skip_invalid_reports_rejects_across_batches_in_line_order(tmp_path):
    # Given a product whose slug another sku claims, and bad lines in small batches
    run_import(VALID)
    lines = [
        category(),
        product(sku="A-1", slug="cast-iron-pan"),  # 2: slug owned in the database
        product(sku="A-2", slug="a-2", stock=-5),  # 3: invalid
        product(sku="A-3", slug="a-3"),
        product(sku="A-4", slug="a-4"),
        review(product="A-1"),  # 6: its product was rejected when written
        review(product="A-3"),
        review(product="GONE"),  # 8: unknown
    ]
    rejected: list[tuple[int, str]] = []

    # When the service imports it two lines per batch
    result = catalog_import(
        lines=jsonl(lines).splitlines(),
        skip_invalid=True,
        on_reject=lambda line, reason, raw: rejected.append((line, reason)),
        batch_size=2,
    )

    # Then the rejects come in line order, and the rest is imported
    assert [line for line, _ in rejected] == [2, 3, 6, 8]
    assert "already belongs to sku 'HOM-0001'" in rejected[0][1]
    assert "unknown product sku 'A-1' (its line was rejected)" in rejected[2][1]
    assert result.rejected == 4
    assert (result.products_created, result.reviews_created) == (2, 1)
    assert set(Product.objects.filter(sku__startswith="A-").values_list("sku", flat=True)) == {
        "A-3",
        "A-4",
    }


def test_skip_invalid_keeps_the_first_of_duplicate_lines(tmp_path):
    # Given a category and a product each repeated with other values
    lines = [
        category(),
        category(name="Second"),
        product(),
        product(name="Second"),
        review(),
    ]

    # When the file is imported with --skip-invalid
    run_import(write(tmp_path, lines), "--skip-invalid")

    # Then the first lines stand, and the review of the product is imported
    assert Category.objects.get().name == "Home"
    assert Product.objects.get().name == "Product one"
    assert Review.objects.count() == 1


def test_skip_invalid_with_rejects_to_stderr(tmp_path, capsys):
    path = write(tmp_path, [category(), "nope"])
    err = io.StringIO()
    call_command(
        "import_catalog",
        str(path),
        "--no-progress",
        "--skip-invalid",
        "--rejects",
        "-",
        stdout=io.StringIO(),
        stderr=err,
    )
    assert json.loads(capsys.readouterr().err)["line"] == 2
    assert Category.objects.count() == 1


def test_skip_invalid_with_a_chosen_rejects_file(tmp_path):
    path = write(tmp_path, [category(), "nope"])
    target = tmp_path / "bad.jsonl"
    run_import(path, "--skip-invalid", "--rejects", str(target))
    assert json.loads(target.read_text())["reason"].startswith("invalid JSON")


def test_skip_invalid_with_no_bad_lines_leaves_an_empty_rejects_file(tmp_path):
    path = write(tmp_path, [category()])
    output = run_import(path, "--skip-invalid")
    assert (tmp_path / "catalog.jsonl.rejects.jsonl").read_text() == ""
    assert "Rejected lines" not in output


# --- hostile strings -----------------------------------------------------------------------

HOSTILE = [
    "مرحبا بالعالم",
    "👩\u200d👩\u200d👧\u200d👦 🇯🇵",
    "e\u0301 vs \u00e9",
    "\"quoted\" 'single' \\backslash\\ \\u0041 \\n",
    "<script>alert(1)</script>",
    "'; DROP TABLE catalog_product; --",
    "  spaces  ",
    "tab\tline\nbreak\r\nsep\u2028para\u2029nel\u0085",
    "\ufeffBOM\x07bell\x7f",
]


def test_hostile_strings_are_stored_byte_for_byte(tmp_path):
    # Given names, descriptions and attributes full of hostile strings
    long_description = " ".join(HOSTILE) * 5000
    lines = [
        category(name=HOSTILE[0], description=" ".join(HOSTILE)),
        *[
            product(
                sku=f"H-{n}",
                slug=f"h-{n}",
                name=text,
                description=long_description if n == 0 else text,
                attributes={text: text, "n": 2**53 + 1, "f": -1.5},
            )
            for n, text in enumerate(HOSTILE)
        ],
        *[review(product=f"H-{n}", title=text, body=text) for n, text in enumerate(HOSTILE)],
    ]

    # When the file is imported
    run_import(write(tmp_path, lines))

    # Then every string comes back exactly as written
    assert len(long_description) > 100_000
    assert Category.objects.get().name == HOSTILE[0]
    for n, text in enumerate(HOSTILE):
        item = Product.objects.get(sku=f"H-{n}")
        assert item.name == text
        assert item.attributes == {text: text, "n": 2**53 + 1, "f": -1.5}
        assert item.description == (long_description if n == 0 else text)
        assert Review.objects.get(product=item).title == text
