"""Products API: reads by role and version, filters, ordering, pagination, writes, images."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from storefront.catalog.models import Product, ProductImage
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ReviewFactory,
)
from storefront.catalog.tests.utils import assert_problem, field_codes

pytestmark = pytest.mark.django_db

LIST = "/api/v1/products/"


def detail(product, version="v1"):
    return f"/api/{version}/products/{product.pk}/"


def ids(response):
    return [item["id"] for item in response.json()["results"]]


def png_bytes(size=(4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def product_payload(category, /, **overrides):
    payload = {
        "sku": "NEW-1",
        "slug": "new-product",
        "name": "New product",
        "description": "A new product.",
        "category": category.slug,
        "price": "12.50",
        "currency": "EUR",
        "stock": 3,
        "attributes": {"color": "red"},
    }
    payload.update(overrides)
    return payload


# --- reads: visibility and shape ---------------------------------------------------


def test_anonymous_sees_only_active_not_deleted_products(api_client):
    # given an active, an inactive and a soft-deleted product
    active = ProductFactory()
    ProductFactory(is_active=False)
    ProductFactory().delete()
    # when anyone lists products
    response = api_client.get(LIST)
    # then only the active one is there
    assert response.status_code == 200
    assert ids(response) == [str(active.pk)]
    assert response.json()["count"] == 1


def test_customer_does_not_see_inactive_products(customer_client):
    ProductFactory(is_active=False)
    assert customer_client.get(LIST).json()["count"] == 0


def test_staff_sees_inactive_products_but_not_deleted_ones(staff_client):
    inactive = ProductFactory(is_active=False)
    ProductFactory().delete()
    response = staff_client.get(LIST)
    assert ids(response) == [str(inactive.pk)]
    assert staff_client.get(detail(inactive)).status_code == 200


def test_inactive_product_detail_is_404_for_the_public(api_client, customer_client):
    product = ProductFactory(is_active=False)
    assert_problem(api_client.get(detail(product)), 404, "not_found")
    assert_problem(customer_client.get(detail(product)), 404, "not_found")


def test_deleted_product_detail_is_404_even_for_staff(staff_client):
    product = ProductFactory()
    product.delete()
    assert_problem(staff_client.get(detail(product)), 404, "not_found")


def test_malformed_product_id_is_a_404_problem(api_client):
    assert_problem(api_client.get("/api/v1/products/not-a-uuid/"), 404)


def test_v1_product_is_flat_with_category_slug_and_url(api_client):
    # given a product in a sub-category, with two images out of order
    root = CategoryFactory(slug="home", name="Home")
    child = CategoryFactory(slug="kitchen", name="Kitchen", parent=root)
    product = ProductFactory(category=child, attributes={"color": "red"}, price=Decimal("9.90"))
    ProductImageFactory(product=product, position=2, alt_text="second")
    ProductImageFactory(product=product, position=1, alt_text="first")
    # when read through v1
    body = api_client.get(detail(product)).json()
    # then the category is a slug plus its URL, and there is no attributes/category_path
    assert body["category"] == "kitchen"
    assert body["category_url"] == "http://testserver/api/v1/categories/kitchen/"
    assert body["url"] == f"http://testserver/api/v1/products/{product.pk}/"
    assert body["reviews_url"] == f"http://testserver/api/v1/products/{product.pk}/reviews/"
    assert body["price"] == "9.90"
    assert body["in_stock"] is True
    assert "attributes" not in body
    assert "category_path" not in body
    assert [image["alt_text"] for image in body["images"]] == ["first", "second"]


def test_v2_product_embeds_category_path_from_root_and_attributes(api_client):
    root = CategoryFactory(slug="home", name="Home")
    child = CategoryFactory(slug="kitchen", name="Kitchen", parent=root)
    leaf = CategoryFactory(slug="knives", name="Knives", parent=child)
    product = ProductFactory(category=leaf, attributes={"steel": "VG-10"})
    for body in (
        api_client.get(detail(product, "v2")).json(),
        api_client.get("/api/v2/products/").json()["results"][0],
    ):
        assert body["category_path"] == [
            {"slug": "home", "name": "Home"},
            {"slug": "kitchen", "name": "Kitchen"},
            {"slug": "knives", "name": "Knives"},
        ]
        assert body["attributes"] == {"steel": "VG-10"}
        assert body["url"] == f"http://testserver/api/v2/products/{product.pk}/"


def test_list_carries_pagination_links(api_client):
    ProductFactory.create_batch(3)
    body = api_client.get(LIST, {"page_size": 2}).json()
    assert body["count"] == 3
    assert body["pages"] == 2
    assert body["links"]["next"] == "http://testserver/api/v1/products/?page=2&page_size=2"
    assert body["links"]["previous"] is None


# --- filters -----------------------------------------------------------------------


def test_category_filter_includes_descendants(api_client):
    # given products in a category, its grandchild and an unrelated category
    root = CategoryFactory(slug="garden")
    grandchild = CategoryFactory(parent=CategoryFactory(parent=root))
    in_root = ProductFactory(category=root)
    in_grandchild = ProductFactory(category=grandchild)
    ProductFactory(category=CategoryFactory(slug="garden-other"))
    # when filtering by the root category's slug
    response = api_client.get(LIST, {"category": "garden"})
    # then both products of the subtree, and only those, come back
    assert set(ids(response)) == {str(in_root.pk), str(in_grandchild.pk)}


def test_unknown_category_filter_matches_nothing(api_client):
    ProductFactory()
    assert api_client.get(LIST, {"category": "nope"}).json()["count"] == 0


def test_price_range_filter(api_client):
    cheap = ProductFactory(price=Decimal("0.01"))
    mid = ProductFactory(price=Decimal("50.00"))
    dear = ProductFactory(price=Decimal("99999999.99"))
    assert ids(api_client.get(LIST, {"min_price": "1", "max_price": "100"})) == [str(mid.pk)]
    assert ids(api_client.get(LIST, {"max_price": "0.01"})) == [str(cheap.pk)]
    assert ids(api_client.get(LIST, {"min_price": "99999999.99"})) == [str(dear.pk)]


def test_in_stock_filter(api_client):
    stocked = ProductFactory(stock=5)
    empty = ProductFactory(stock=0)
    assert ids(api_client.get(LIST, {"in_stock": "true"})) == [str(stocked.pk)]
    assert ids(api_client.get(LIST, {"in_stock": "false"})) == [str(empty.pk)]


def test_is_featured_filter(api_client):
    featured = ProductFactory(is_featured=True)
    plain = ProductFactory()
    assert ids(api_client.get(LIST, {"is_featured": "true"})) == [str(featured.pk)]
    assert ids(api_client.get(LIST, {"is_featured": "0"})) == [str(plain.pk)]


def test_rating_min_filter_excludes_unrated(api_client):
    good = ProductFactory()
    ReviewFactory(product=good, rating=5)
    poor = ProductFactory()
    ReviewFactory(product=poor, rating=2)
    ProductFactory()  # unrated
    assert ids(api_client.get(LIST, {"rating_min": "4"})) == [str(good.pk)]
    assert len(ids(api_client.get(LIST, {"rating_min": "1"}))) == 2


def test_sku_and_slug_filters_are_exact(api_client):
    product = ProductFactory(sku="ABC-1", slug="abc-one")
    ProductFactory(sku="ABC-10", slug="abc-one-two")
    assert ids(api_client.get(LIST, {"sku": "ABC-1"})) == [str(product.pk)]
    assert ids(api_client.get(LIST, {"slug": "abc-one"})) == [str(product.pk)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "1e100000"}, "max_price"),
        ({"min_price": "-1"}, "min_price"),
        ({"min_price": "NaN"}, "min_price"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"is_featured": "2"}, "is_featured"),
        ({"rating_min": "6"}, "rating_min"),
        ({"rating_min": "x"}, "rating_min"),
        ({"sku": "x" * 65}, "sku"),
        ({"search": "y" * 201}, "search"),
        ({"search": "nul\x00byte"}, "search"),
        ({"ordering": "password"}, "ordering"),
        ({"ordering": "-price,name"}, "ordering"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "99999999999999999999"}, "page"),
    ],
)
def test_bad_query_parameters_are_400_problems(api_client, params, field):
    ProductFactory()
    body = assert_problem(api_client.get(LIST, params), 400, "validation_error")
    assert field in body["errors"]


@pytest.mark.parametrize(
    "value",
    [
        "'; DROP TABLE catalog_product; --",
        "1 OR 1=1",
        "<script>alert(1)</script>",
        "\u202eevil\u202c",
        "emoji 🛒🔥",
        "e\u0301\u0301\u0301",
        'quote " and \\ backslash',
        "%_%",
    ],
)
def test_hostile_filter_strings_are_harmless(api_client, value):
    # given one product whose SKU is not the hostile string
    ProductFactory()
    # when the hostile string is used as every string filter
    for param in ("sku", "slug", "category", "search"):
        response = api_client.get(LIST, {param: value})
        # then it is just a value that matches nothing (the LIKE wildcards are escaped too)
        assert response.status_code == 200, (param, response.content)
        assert response.json()["count"] == 0


def test_page_size_is_capped(api_client, settings):
    settings.API_MAX_PAGE_SIZE = 2
    ProductFactory.create_batch(3)
    assert len(ids(api_client.get(LIST, {"page_size": "1000"}))) == 2


# --- ordering ----------------------------------------------------------------------


def test_default_order_is_newest_first(api_client):
    first, second = ProductFactory(), ProductFactory()
    assert ids(api_client.get(LIST)) == [str(second.pk), str(first.pk)]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["b", "c", "a"]),
        ("-price", ["a", "c", "b"]),
        ("name", ["a", "b", "c"]),
        ("-name", ["c", "b", "a"]),
        ("created_at", ["a", "b", "c"]),
        ("-created_at", ["c", "b", "a"]),
    ],
)
def test_whitelisted_orderings(api_client, ordering, expected):
    made = {
        "a": ProductFactory(name="a", price=Decimal("30")),
        "b": ProductFactory(name="b", price=Decimal("10")),
        "c": ProductFactory(name="c", price=Decimal("20")),
    }
    response = api_client.get(LIST, {"ordering": ordering})
    assert ids(response) == [str(made[key].pk) for key in expected]


def test_rating_orderings_put_unrated_products_last(api_client):
    unrated = ProductFactory()
    low = ProductFactory()
    ReviewFactory(product=low, rating=2)
    high = ProductFactory()
    ReviewFactory(product=high, rating=5)
    assert ids(api_client.get(LIST, {"ordering": "-rating"})) == [
        str(high.pk),
        str(low.pk),
        str(unrated.pk),
    ]
    assert ids(api_client.get(LIST, {"ordering": "rating"})) == [
        str(low.pk),
        str(high.pk),
        str(unrated.pk),
    ]


# --- cursor pagination and featured ------------------------------------------------------


def test_feed_walks_all_products_with_cursor_links(api_client):
    # given five products
    made = [ProductFactory() for _ in range(5)]
    # when following links.next two at a time
    seen, url = [], "/api/v1/products/feed/?page_size=2"
    while url:
        body = api_client.get(url).json()
        assert "count" not in body
        seen += [item["id"] for item in body["results"]]
        url = body["links"]["next"]
    # then every product came once, newest first
    assert seen == [str(p.pk) for p in reversed(made)]


def test_feed_orders_by_price_and_filters(api_client):
    a = ProductFactory(price=Decimal("3"))
    b = ProductFactory(price=Decimal("1"))
    ProductFactory(price=Decimal("2"), stock=0)
    response = api_client.get("/api/v1/products/feed/", {"ordering": "price", "in_stock": "true"})
    assert ids(response) == [str(b.pk), str(a.pk)]


def test_feed_rejects_rating_ordering_and_bad_cursors(api_client):
    body = assert_problem(api_client.get("/api/v1/products/feed/", {"ordering": "rating"}), 400)
    assert "ordering" in body["errors"]
    body = assert_problem(api_client.get("/api/v1/products/feed/", {"cursor": "garbage"}), 400)
    assert "cursor" in body["errors"]


def test_featured_lists_only_featured_visible_products(api_client):
    featured = ProductFactory(is_featured=True)
    ProductFactory(is_featured=True, is_active=False)
    ProductFactory()
    response = api_client.get("/api/v1/products/featured/")
    assert ids(response) == [str(featured.pk)]


# --- query counts --------------------------------------------------------------------


def _with_images(products):
    for product in products:
        ProductImageFactory.create_batch(2, product=product)


@pytest.mark.parametrize(
    ("size", "version", "queries"), [(2, "v1", 3), (12, "v1", 3), (2, "v2", 4), (12, "v2", 4)]
)
def test_list_query_count_is_fixed(api_client, django_assert_num_queries, size, version, queries):
    # given `size` products, each with images, in nested categories
    parent = CategoryFactory()
    products = [ProductFactory(category=CategoryFactory(parent=parent)) for _ in range(size)]
    _with_images(products)
    # then a full page costs count + products + images (+ category paths in v2)
    with django_assert_num_queries(queries):
        response = api_client.get(f"/api/{version}/products/", {"page_size": size})
    assert len(response.json()["results"]) == size


@pytest.mark.parametrize(("size", "queries"), [(2, 2), (12, 2)])
def test_feed_query_count_is_fixed(api_client, django_assert_num_queries, size, queries):
    _with_images(ProductFactory.create_batch(size))
    with django_assert_num_queries(queries):  # products + images, no count
        response = api_client.get("/api/v1/products/feed/", {"page_size": size})
    assert len(response.json()["results"]) == size


@pytest.mark.parametrize("size", [2, 12])
def test_featured_query_count_is_fixed(api_client, django_assert_num_queries, size):
    _with_images(ProductFactory.create_batch(size, is_featured=True))
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/products/featured/", {"page_size": size})
    assert len(response.json()["results"]) == size


@pytest.mark.parametrize(
    ("images", "version", "queries"), [(1, "v1", 1), (10, "v1", 1), (1, "v2", 1), (10, "v2", 1)]
)
def test_detail_query_count_is_fixed(
    api_client, django_assert_num_queries, images, version, queries
):
    # one statement: the product, its category, its images and (v2) its category path
    product = ProductFactory(category=CategoryFactory(parent=CategoryFactory()))
    ProductImageFactory.create_batch(images, product=product)
    with django_assert_num_queries(queries):
        assert api_client.get(detail(product, version)).status_code == 200


# --- writes ----------------------------------------------------------------------------


def test_staff_can_create_product(staff_client):
    # given a category
    category = CategoryFactory(slug="tools")
    # when staff create a product
    response = staff_client.post(LIST, product_payload(category), format="json")
    # then it exists and the response is its representation with its Location
    assert response.status_code == 201, response.content
    body = response.json()
    product = Product.objects.get(sku="NEW-1")
    assert body["id"] == str(product.pk)
    assert response["Location"] == body["url"]
    assert product.price == Decimal("12.50")
    assert product.attributes == {"color": "red"}


def test_create_product_v2_answers_in_v2_shape(staff_client):
    category = CategoryFactory(slug="tools", name="Tools")
    response = staff_client.post("/api/v2/products/", product_payload(category), format="json")
    assert response.status_code == 201
    assert response.json()["category_path"] == [{"slug": "tools", "name": "Tools"}]


def test_customer_cannot_create_product(customer_client):
    category = CategoryFactory()
    response = customer_client.post(LIST, product_payload(category), format="json")
    assert_problem(response, 403, "permission_denied")
    assert not Product.objects.exists()


def test_anonymous_cannot_create_product(api_client):
    category = CategoryFactory()
    response = api_client.post(LIST, product_payload(category), format="json")
    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"price": "0"}, "price", "min_value"),
        ({"price": "-5"}, "price", "min_value"),
        ({"price": "0.001"}, "price", "max_decimal_places"),
        ({"price": "100000000000.00"}, "price", "max_digits"),
        ({"price": "NaN"}, "price", "invalid"),
        ({"price": "abc"}, "price", "invalid"),
        ({"stock": -1}, "stock", "min_value"),
        ({"stock": "many"}, "stock", "invalid"),
        ({"currency": "usd"}, "currency", "invalid"),
        ({"currency": "EURO"}, "currency", "max_length"),
        ({"category": "nope"}, "category", "does_not_exist"),
        ({"slug": "bad slug!"}, "slug", "invalid"),
        ({"slug": "🛒"}, "slug", "invalid"),
        ({"name": ""}, "name", "blank"),
        ({"name": "n" * 256}, "name", "max_length"),
        ({"sku": "s" * 65}, "sku", "max_length"),
        ({"attributes": ["not", "an", "object"]}, "attributes", "not_an_object"),
        ({"is_active": "perhaps"}, "is_active", "invalid"),
    ],
)
def test_product_validators(staff_client, overrides, field, code):
    category = CategoryFactory()
    response = staff_client.post(LIST, product_payload(category, **overrides), format="json")
    body = assert_problem(response, 400, "validation_error")
    assert code in field_codes(body, field)


def test_edge_prices_are_accepted(staff_client):
    category = CategoryFactory()
    for n, price in enumerate(["0.01", "99999999.99"]):
        response = staff_client.post(
            LIST,
            product_payload(category, sku=f"EDGE-{n}", slug=f"edge-{n}", price=price),
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["price"] == price


def test_sku_and_slug_of_a_deleted_product_stay_taken(staff_client):
    category = CategoryFactory()
    old = ProductFactory(sku="NEW-1", slug="new-product")
    old.delete()
    response = staff_client.post(LIST, product_payload(category), format="json")
    body = assert_problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"sku", "slug"}


@pytest.mark.parametrize(
    "name",
    [
        "مرحبا بالعالم",  # RTL
        "Cart 🛒🔥 deluxe",
        "Zalgo z\u0351\u0315a\u0300\u0301",
        "Quote \" and back\\slash 'single'",
        "<b>bold</b><script>alert(1)</script>",
        "Robert'); DROP TABLE catalog_product;--",
    ],
)
def test_hostile_names_round_trip_verbatim(staff_client, name):
    category = CategoryFactory()
    response = staff_client.post(LIST, product_payload(category, name=name), format="json")
    assert response.status_code == 201, response.content
    product_id = response.json()["id"]
    assert staff_client.get(f"{LIST}{product_id}/").json()["name"] == name


def test_very_long_description_is_stored_and_searchable(staff_client):
    category = CategoryFactory()
    description = "needle " + "lorem ipsum dolor " * 10_000  # ~180k characters
    response = staff_client.post(
        LIST, product_payload(category, description=description), format="json"
    )
    assert response.status_code == 201
    assert staff_client.get(LIST, {"search": "needle"}).json()["count"] == 1


def test_malformed_json_is_a_400_problem(staff_client):
    response = staff_client.post(LIST, b"{not json", content_type="application/json")
    assert_problem(response, 400)


def test_staff_can_replace_product(staff_client):
    product = ProductFactory()
    other = CategoryFactory(slug="other")
    response = staff_client.put(
        detail(product), product_payload(other, sku=product.sku), format="json"
    )
    assert response.status_code == 200, response.content
    product.refresh_from_db()
    assert product.category == other
    assert product.name == "New product"


def test_put_requires_every_required_field(staff_client):
    product = ProductFactory()
    body = assert_problem(staff_client.put(detail(product), {"name": "x"}, format="json"), 400)
    assert {"sku", "slug", "category", "price"} <= set(body["errors"])


def test_staff_can_partially_update_product(staff_client):
    product = ProductFactory(stock=1)
    response = staff_client.patch(detail(product), {"stock": 0}, format="json")
    assert response.status_code == 200
    assert response.json()["in_stock"] is False
    product.refresh_from_db()
    assert product.stock == 0


def test_staff_can_update_inactive_product(staff_client):
    product = ProductFactory(is_active=False)
    response = staff_client.patch(detail(product), {"is_active": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is True


def test_customer_cannot_update_or_delete_product(customer_client):
    product = ProductFactory()
    assert_problem(customer_client.patch(detail(product), {"stock": 0}, format="json"), 403)
    assert_problem(customer_client.put(detail(product), {}, format="json"), 403)
    assert_problem(customer_client.delete(detail(product)), 403)


def test_anonymous_cannot_update_or_delete_product(api_client):
    product = ProductFactory()
    assert_problem(api_client.patch(detail(product), {"stock": 0}, format="json"), 401)
    assert_problem(api_client.delete(detail(product)), 401)


def test_staff_can_soft_delete_product(staff_client, api_client):
    # given a product
    product = ProductFactory()
    # when staff delete it
    response = staff_client.delete(detail(product))
    # then it is gone from every read but the row stays, marked deleted
    assert response.status_code == 204
    assert_problem(api_client.get(detail(product)), 404)
    assert api_client.get(LIST).json()["count"] == 0
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None


def test_update_of_a_deleted_product_is_404(staff_client):
    product = ProductFactory()
    product.delete()
    assert_problem(staff_client.patch(detail(product), {"stock": 1}, format="json"), 404)


# --- feature / unfeature -------------------------------------------------------------------


def test_staff_can_feature_and_unfeature_product(
    staff_client, api_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):  # the cache follows the commit
        response = staff_client.post(f"{detail(product)}feature/")
    assert response.status_code == 200
    assert response.json()["is_featured"] is True
    assert ids(api_client.get("/api/v1/products/featured/")) == [str(product.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"{detail(product)}unfeature/")
    assert response.json()["is_featured"] is False
    assert ids(api_client.get("/api/v1/products/featured/")) == []


def test_feature_is_idempotent(staff_client):
    product = ProductFactory(is_featured=True)
    assert staff_client.post(f"{detail(product)}feature/").json()["is_featured"] is True


def test_customer_and_anonymous_cannot_feature(customer_client, api_client):
    product = ProductFactory()
    assert_problem(customer_client.post(f"{detail(product)}feature/"), 403)
    assert_problem(api_client.post(f"{detail(product)}unfeature/"), 401)


def test_feature_unknown_product_is_404(staff_client):
    product = ProductFactory()
    product.delete()
    assert_problem(staff_client.post(f"{detail(product)}feature/"), 404)


# --- images --------------------------------------------------------------------------------


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_staff_can_add_image_by_url(staff_client, api_client):
    product = ProductFactory()
    ProductImageFactory(product=product, position=0)
    response = staff_client.post(
        f"{detail(product)}images/",
        {"url": "https://cdn.example.com/a.jpg", "alt_text": "Front"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["url"] == "https://cdn.example.com/a.jpg"
    assert response.json()["position"] == 1  # appended
    images = api_client.get(detail(product)).json()["images"]
    assert [image["alt_text"] for image in images][-1] == "Front"


def test_staff_can_upload_image_file(staff_client, media_root):
    # given a product and a real PNG
    product = ProductFactory()
    upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")
    # when uploaded as multipart
    response = staff_client.post(
        f"{detail(product)}images/", {"file": upload, "alt_text": "Photo"}, format="multipart"
    )
    # then the image is stored and its URL is the storage URL, absolute
    assert response.status_code == 201, response.content
    url = response.json()["url"]
    assert url.startswith("http://testserver/media/products/")
    image = ProductImage.objects.get(product=product)
    assert (media_root / image.file.name).exists()


def test_image_upload_rejects_non_images(staff_client, media_root):
    product = ProductFactory()
    upload = SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")
    response = staff_client.post(f"{detail(product)}images/", {"file": upload}, format="multipart")
    body = assert_problem(response, 400)
    assert "file" in body["errors"]


def test_image_upload_rejects_too_large_files(staff_client, media_root, settings):
    settings.CATALOG_IMAGE_MAX_BYTES = 100
    product = ProductFactory()
    upload = SimpleUploadedFile("big.png", png_bytes((200, 200)), content_type="image/png")
    response = staff_client.post(f"{detail(product)}images/", {"file": upload}, format="multipart")
    body = assert_problem(response, 400)
    assert field_codes(body, "file") == ["file_too_large"]


def test_image_upload_rejects_unsupported_formats(staff_client, media_root):
    product = ProductFactory()
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="BMP")
    upload = SimpleUploadedFile("a.bmp", buffer.getvalue(), content_type="image/bmp")
    response = staff_client.post(f"{detail(product)}images/", {"file": upload}, format="multipart")
    assert field_codes(assert_problem(response, 400), "file") == ["invalid_image"]


@pytest.mark.parametrize("payload", [{}, {"alt_text": "nothing"}])
def test_image_needs_url_or_file(staff_client, payload):
    product = ProductFactory()
    response = staff_client.post(f"{detail(product)}images/", payload, format="json")
    assert field_codes(assert_problem(response, 400), "non_field_errors") == ["url_xor_file"]


def test_image_cannot_have_both_url_and_file(staff_client, media_root):
    product = ProductFactory()
    upload = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    response = staff_client.post(
        f"{detail(product)}images/",
        {"file": upload, "url": "https://cdn.example.com/a.jpg"},
        format="multipart",
    )
    assert_problem(response, 400)


def test_customer_and_anonymous_cannot_add_or_delete_images(customer_client, api_client):
    image = ProductImageFactory()
    url = f"{detail(image.product)}images/"
    payload = {"url": "https://cdn.example.com/a.jpg"}
    assert_problem(customer_client.post(url, payload, format="json"), 403)
    assert_problem(api_client.post(url, payload, format="json"), 401)
    assert_problem(customer_client.delete(f"{url}{image.pk}/"), 403)
    assert_problem(api_client.delete(f"{url}{image.pk}/"), 401)


def test_staff_can_delete_image_and_its_file(
    staff_client, media_root, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")
    staff_client.post(f"{detail(product)}images/", {"file": upload}, format="multipart")
    image = ProductImage.objects.get(product=product)
    path = media_root / image.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(f"{detail(product)}images/{image.pk}/")
    assert response.status_code == 204
    assert not ProductImage.objects.filter(pk=image.pk).exists()
    assert not path.exists()


def test_deleting_an_image_of_another_product_is_404(staff_client):
    image = ProductImageFactory()
    other = ProductFactory()
    assert_problem(staff_client.delete(f"{detail(other)}images/{image.pk}/"), 404)


def test_adding_image_to_deleted_product_is_404(staff_client):
    product = ProductFactory()
    product.delete()
    response = staff_client.post(
        f"{detail(product)}images/", {"url": "https://cdn.example.com/a.jpg"}, format="json"
    )
    assert_problem(response, 404)


# --- schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_schema_documents_the_catalog_per_version(version, tmp_path):
    # given the OpenAPI document of one version, generated like `make schema` does
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--api-version", version, "--file", out
    )
    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    prefix = f"/api/{version}"
    # then every catalog endpoint is there, with a summary and a tag
    for path, methods in {
        "/categories/": {"get", "post"},
        "/categories/{slug}/": {"get", "put", "patch", "delete"},
        "/categories/{slug}/products/": {"get"},
        "/products/": {"get", "post"},
        "/products/feed/": {"get"},
        "/products/featured/": {"get"},
        "/products/{id}/": {"get", "put", "patch", "delete"},
        "/products/{id}/feature/": {"post"},
        "/products/{id}/unfeature/": {"post"},
        "/products/{id}/images/": {"post"},
        "/products/{id}/images/{image_pk}/": {"delete"},
        "/products/{id}/reviews/": {"get", "post"},
        "/products/{id}/reviews/{review_pk}/": {"get", "put", "patch", "delete"},
    }.items():
        operations = paths[prefix + path]
        assert methods <= set(operations), path
        for method in methods:
            assert operations[method]["summary"], (path, method)
            assert operations[method]["tags"], (path, method)
    # and the product shape is the version's
    product = schema["components"]["schemas"]["ProductV2" if version == "v2" else "Product"]
    assert ("category_path" in product["properties"]) is (version == "v2")
    ordering = next(
        p for p in paths[f"{prefix}/products/"]["get"]["parameters"] if p["name"] == "ordering"
    )
    assert "-rating" in ordering["schema"]["enum"]
    feed = {p["name"] for p in paths[f"{prefix}/products/feed/"]["get"]["parameters"]}
    assert {"cursor", "search", "category"} <= feed
