"""Hostile input: every list endpoint and filter, bodies and uploads, never a 500.

A value an endpoint cannot use is a 400 problem; one it can use gives correct
results (200). SQL fragments, NUL bytes (PostgreSQL refuses NUL in text),
broken unicode, absurdly large or negative numbers and wrong types are tried
on every filter of every list; JSON bodies get NULs, deep nesting and sizes
past DATA_UPLOAD_MAX_MEMORY_SIZE; image uploads get fakes.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory, ReviewFactory
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db

HOSTILE_VALUES = {
    "sql_quote": "' OR '1'='1",
    "sql_comment": "1; DROP TABLE accounts_user; --",
    "sql_union": "x' UNION SELECT password FROM accounts_user --",
    "nul": "a\x00b",
    "nul_only": "\x00",
    "rtl_override": "\u202eevil",
    "emoji": "\U0001f4a9",
    "zero_width": "\u200b\ufeff",
    "combining": "e" + "\u0301" * 50,
    "huge_int": str(10**30),
    "negative": "-1",
    "zero": "0",
    "float_overflow": "1e309",
    "nan": "NaN",
    "infinity": "Infinity",
    "long": "x" * 10_000,
    "empty": "",
    "spaces": "   ",
    "json": '{"$gt": ""}',
    "array_syntax": "[]",
    "percent": "%",
    "backslash": "\\",
    "date_overflow": "9999-12-31T23:59:59-14:00",
    "date_underflow": "0001-01-01T00:00:00+14:00",
    "offset_beyond_postgres": "2026-03-23T10:00:44-16:13",
    "offset_max": "9999-12-31T23:59:59-23:59",
}
# Raw percent-encoded bytes that are not UTF-8 (a lone surrogate, a bare
# continuation byte): Django must still answer.
RAW_QUERY_VALUES = {"lone_surrogate": "%ED%A0%80", "bad_utf8": "%C3%28", "nul_encoded": "%00"}

PAGINATION = ["page", "page_size"]
PRODUCT_FILTERS = [
    "category",
    "min_price",
    "max_price",
    "in_stock",
    "is_featured",
    "rating_min",
    "sku",
    "slug",
    "search",
    "ordering",
]


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.fixture
def catalog():
    category = CategoryFactory(slug="audio")
    product = ProductFactory(category=category, name="Wireless headphones")
    ReviewFactory(product=product)
    return {"category": category, "product": product}


@pytest.fixture(autouse=True)
def _no_throttles(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "auth": None},
    }


def _lists(catalog) -> dict[str, tuple[str, list[str], bool]]:
    """list name -> (path, its query parameters, needs a signed-in user)."""
    product = catalog["product"].pk
    return {
        "products": ("/api/v1/products/", PAGINATION + PRODUCT_FILTERS, False),
        "products_v2": ("/api/v2/products/", PAGINATION + PRODUCT_FILTERS, False),
        "feed": ("/api/v1/products/feed/", ["cursor", "page_size", *PRODUCT_FILTERS], False),
        "featured": ("/api/v1/products/featured/", PAGINATION, False),
        "categories": ("/api/v1/categories/", [*PAGINATION, "tree"], False),
        "category_products": (
            "/api/v1/categories/audio/products/",
            PAGINATION + PRODUCT_FILTERS,
            False,
        ),
        "reviews": (f"/api/v1/products/{product}/reviews/", PAGINATION, False),
        "orders": (
            "/api/v1/orders/",
            [*PAGINATION, "status", "user", "created_after", "created_before"],
            True,
        ),
        "notifications": (
            "/api/v1/notifications/",
            ["cursor", "page_size", "unread", "since"],
            True,
        ),
    }


LIST_NAMES = [
    "products",
    "products_v2",
    "feed",
    "featured",
    "categories",
    "category_products",
    "reviews",
    "orders",
    "notifications",
]


def _assert_handled(response, context) -> None:
    assert response.status_code in {200, 400}, (
        context,
        response.status_code,
        response.content[:300],
    )
    if response.status_code == 400:
        assert_problem(response, 400)
    else:
        body = response.json()
        assert "results" in body, (context, body)


@pytest.mark.parametrize("list_name", LIST_NAMES)
@pytest.mark.parametrize("role", ["anonymous", "staff"])
def test_every_filter_of_every_list_survives_hostile_values(list_name, role, catalog):
    path, params, needs_user = _lists(catalog)[list_name]
    user = StaffFactory() if role == "staff" or needs_user else None
    client = client_for(user)
    for param in params:
        for label, value in HOSTILE_VALUES.items():
            response = client.get(f"{path}?{param}={quote(value)}")
            _assert_handled(response, (param, label))
        for label, raw in RAW_QUERY_VALUES.items():
            response = client.get(f"{path}?{param}={raw}")
            _assert_handled(response, (param, label))
        # the parameter twice, and as an array
        _assert_handled(client.get(f"{path}?{param}=1&{param}=2"), (param, "repeated"))
        _assert_handled(client.get(f"{path}?{param}[]=1"), (param, "brackets"))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=" + str(10**30), "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("min_price=1e309", "min_price"),
        ("max_price=-5", "max_price"),
        ("rating_min=NaN", "rating_min"),
        ("in_stock=maybe", "in_stock"),
        ("ordering=price;DROP TABLE x", "ordering"),
        ("ordering=password", "ordering"),
        ("search=" + "x" * 10_000, "search"),
        ("search=a%00b", "search"),
        ("category=a%00b", "category"),
    ],
)
def test_bad_values_are_a_400_on_the_field(query, field, catalog):
    body = assert_problem(APIClient().get(f"/api/v1/products/?{query}"), 400, "validation_error")
    assert field in body["errors"], body


def test_page_size_out_of_range_falls_back_within_bounds(catalog, settings):
    settings.API_MAX_PAGE_SIZE = 5
    for size in ("-1", "0", str(10**30), "abc"):
        response = APIClient().get(f"/api/v1/products/?page_size={size}")
        assert response.status_code == 200, (size, response.content)


def test_sql_in_search_is_data_not_code(catalog):
    response = APIClient().get("/api/v1/products/", {"search": "' OR '1'='1"})
    assert response.status_code == 200
    assert response.json()["count"] == 0  # matched nothing, returned nothing extra


@pytest.mark.parametrize("ordering", ["name", "-price", "created_at"])
@pytest.mark.parametrize(
    "position",
    ["a\x00b", "\x00", "' OR 1=1 --", "9999999999999999999999", "not-a-date", "\ud7ff"],
)
def test_forged_cursors_are_a_400(ordering, position, catalog):
    raw = f"o=0&r=0&p={position}".encode("utf-8", "surrogatepass")
    cursor = base64.b64encode(raw).decode()
    response = APIClient().get("/api/v1/products/feed/", {"ordering": ordering, "cursor": cursor})
    assert response.status_code in {200, 400}, (position, response.content[:300])
    if response.status_code == 400:
        assert_problem(response, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/' OR 1=1 --/",
        "/api/v1/products/%00/",
        "/api/v1/products/00000000-0000-0000-0000-00000000000%00/",
        "/api/v1/categories/%00/",
        "/api/v1/categories/a%27%20OR%201=1/",
        "/api/v1/orders/..%2F..%2Fetc%2Fpasswd/",
        "/api/v9/products/",
        "/api/v1/products/" + "a" * 5000 + "/",
    ],
)
def test_hostile_path_parameters_are_a_404(path):
    response = APIClient().get(path)
    assert_problem(response, 404, "not_found")


# --- JSON bodies -------------------------------------------------------------------


@pytest.fixture
def staff_client():
    return client_for(StaffFactory())


def _nul_bodies(catalog) -> list[tuple[str, str, str, dict]]:
    """(role, method, path, body) with a NUL somewhere PostgreSQL would refuse it."""
    product = catalog["product"]
    return [
        (
            "anonymous",
            "post",
            "/api/v1/auth/register/",
            {"email": "a\x00@x.com", "password": "p" * 12},
        ),
        (
            "anonymous",
            "post",
            "/api/v1/auth/register/",
            {
                "email": "nul@example.com",
                "password": "correct horse\x00battery",
                "first_name": "\x00",
            },
        ),
        ("anonymous", "post", "/api/v1/auth/verify/", {"token": "a\x00b"}),
        ("anonymous", "post", "/api/v1/auth/token/", {"email": "a\x00@x.com", "password": "x\x00"}),
        ("anonymous", "post", "/api/v1/auth/token/refresh/", {"refresh": "a\x00b"}),
        ("anonymous", "post", "/api/v1/auth/logout/", {"refresh": "a\x00b"}),
        ("customer", "patch", "/api/v1/auth/me/", {"first_name": "a\x00b"}),
        (
            "customer",
            "post",
            f"/api/v1/products/{product.pk}/reviews/",
            {"rating": 5, "title": "t\x00", "body": "b"},
        ),
        ("staff", "post", "/api/v1/categories/", {"name": "n\x00", "slug": "nul-category"}),
        (
            "staff",
            "patch",
            f"/api/v1/products/{product.pk}/",
            {"attributes": {"colour": "red\x00"}},
        ),
        ("staff", "patch", f"/api/v1/products/{product.pk}/", {"attributes": {"a\x00": 1}}),
        ("staff", "patch", f"/api/v1/products/{product.pk}/", {"description": "x\x00y"}),
        (
            "customer",
            "post",
            "/api/v1/orders/",
            {
                "items": [{"product": str(product.pk), "quantity": 1}],
                "shipping_address": {
                    "name": "N\x00",
                    "line1": "1",
                    "city": "c",
                    "postal_code": "1",
                    "country": "DE",
                },
                "payment_token": "tok_success",
            },
        ),
        (
            "customer",
            "post",
            "/api/v1/orders/",
            {
                "items": [{"product": str(product.pk), "quantity": 1}],
                "shipping_address": {
                    "name": "N",
                    "line1": "1",
                    "city": "c",
                    "postal_code": "1",
                    "country": "DE",
                },
                "payment_token": "tok\x00",
            },
        ),
    ]


def test_nul_bytes_in_json_bodies_are_a_400(catalog):
    clients = {
        "anonymous": APIClient(),
        "customer": client_for(UserFactory()),
        "staff": client_for(StaffFactory()),
    }
    for role, method, path, body in _nul_bodies(catalog):
        response = getattr(clients[role], method)(path, body, format="json")
        assert response.status_code == 400, (
            path,
            body,
            response.status_code,
            response.content[:300],
        )
        assert_problem(response, 400)


def test_a_nul_in_the_idempotency_key_is_refused(catalog):
    response = client_for(UserFactory()).post(
        "/api/v1/orders/", {}, format="json", HTTP_IDEMPOTENCY_KEY="key\x00"
    )
    assert response.status_code in {400, 422}, response.content
    assert_problem(response, response.status_code)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than any parser's stack
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b'{"email": "x@example.com", "password": ' + b'"' + b"x" * 100 + b"}",  # truncated
        b"\xff\xfe\x00\x00",  # not UTF-8
        b'{"email": "\\ud800@example.com", "password": "a long passphrase 42"}',  # lone surrogate
        b"null",
        b"[]",
        b'"just a string"',
        b"1e999999",
        b'{"email": 1e309, "password": NaN}',
    ],
    ids=[
        "deep_array",
        "deep_object",
        "truncated",
        "not_utf8",
        "lone_surrogate",
        "null",
        "array",
        "string",
        "huge_number",
        "non_finite",
    ],
)
def test_malformed_or_deep_json_is_a_400(raw):
    response = APIClient().generic(
        "POST", "/api/v1/auth/register/", raw, content_type="application/json"
    )
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert_problem(response, 400)


def test_a_json_body_over_the_upload_limit_is_refused(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"email": "x@example.com", "password": "' + b"x" * 4096 + b'"}'
    response = APIClient().generic(
        "POST", "/api/v1/auth/register/", body, content_type="application/json"
    )
    body = assert_problem(response, 413, "payload_too_large")
    assert "1024 bytes" in body["detail"]


def test_a_form_body_over_the_upload_limit_is_refused(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = APIClient().post(
        "/api/v1/auth/register/",
        {"email": "x@example.com", "password": "x" * 4096},
        format="multipart",
    )
    assert_problem(response, 413, "payload_too_large")


def test_too_many_form_fields_are_refused(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    data = {f"f{i}": "x" for i in range(50)}
    response = APIClient().post("/api/v1/auth/register/", data, format="multipart")
    assert_problem(response, 400, "parse_error")


def test_an_unsupported_content_type_is_a_415():
    response = APIClient().generic(
        "POST", "/api/v1/auth/register/", b"<xml/>", content_type="application/xml"
    )
    assert_problem(response, 415, "unsupported_media_type")


# --- image uploads ------------------------------------------------------------------


def _png(size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def images_url(catalog):
    return f"/api/v1/products/{catalog['product'].pk}/images/"


def test_a_real_png_is_accepted(images_url, staff_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("ok.png", _png(), content_type="image/png")
    response = staff_client.post(images_url, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "image/png"),
        ("script.png", b"<script>alert(1)</script>", "image/png"),
        ("shell.php.png", b"<?php system($_GET['c']); ?>", "image/png"),
        ("doc.png", b"%PDF-1.4 not an image", "application/pdf"),
        ("empty.png", b"", "image/png"),
    ],
    ids=["fake_png", "html", "php", "pdf", "empty"],
)
def test_a_file_that_is_not_an_image_is_a_400(
    name, content, content_type, images_url, staff_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    response = staff_client.post(images_url, {"file": upload}, format="multipart")
    body = assert_problem(response, 400, "validation_error")
    assert "file" in body["errors"], body
    assert not any(tmp_path.rglob("*")), "a refused upload was stored"


def test_an_image_over_the_size_limit_is_a_400(images_url, staff_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CATALOG_IMAGE_MAX_BYTES = 1000
    content = _png((400, 400))
    assert len(content) > 1000
    upload = SimpleUploadedFile("big.png", content, content_type="image/png")
    response = staff_client.post(images_url, {"file": upload}, format="multipart")
    body = assert_problem(response, 400, "validation_error")
    assert "file" in body["errors"], body
