"""Authorisation matrix: every route x method x role, in one table.

The routes come from the URL conf itself (every pattern outside the admin,
both API versions), so a new endpoint, or a new method on an existing one,
without a line in MATRIX fails `test_every_route_and_method_is_in_the_matrix`.

Roles:

* anonymous: no credentials;
* customer: a signed-in customer who owns nothing in the URL;
* owner: the customer who owns the object in the URL (the order, the
  notification, the review); on routes without an owned object, a customer;
* staff: is_staff and the staff role (catalog and order administration).

Each request is authenticated with a real JWT access token (the path clients
use) and sends an empty JSON object as body for writes: an authorised caller
then gets 2xx or 400 (validation), an unauthorised one 401/403/404. Every
request runs in a savepoint that is rolled back, so one role's DELETE does not
change what the next role sees. HEAD follows GET (Django) and is not listed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ReviewFactory,
)
from storefront.notifications.models import Notification
from storefront.orders.models import OrderStatus
from storefront.orders.tests.factories import make_order

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "customer", "owner", "staff")
VERSIONS = ("v1", "v2")

# (route name, method) -> expected status for (anonymous, customer, owner, staff).
# Route names are those of urls.py; API routes are in the "api" namespace.
MATRIX: dict[tuple[str, str], tuple[int, int, int, int]] = {
    # --- meta, health, docs: public ---------------------------------------------
    ("healthz", "GET"): (200, 200, 200, 200),
    ("healthz", "OPTIONS"): (200, 200, 200, 200),
    ("readyz", "GET"): (200, 200, 200, 200),
    ("readyz", "OPTIONS"): (200, 200, 200, 200),
    ("api-versions", "GET"): (200, 200, 200, 200),
    ("api-versions", "OPTIONS"): (200, 200, 200, 200),
    ("schema", "GET"): (200, 200, 200, 200),
    ("schema", "OPTIONS"): (200, 200, 200, 200),
    ("docs", "GET"): (200, 200, 200, 200),
    ("redoc", "GET"): (200, 200, 200, 200),
    ("api:root", "GET"): (200, 200, 200, 200),
    ("api:root", "OPTIONS"): (200, 200, 200, 200),
    # --- auth: public endpoints (no authentication classes), then the profile ---
    ("api:auth-register", "POST"): (400, 400, 400, 400),
    ("api:auth-register", "OPTIONS"): (200, 200, 200, 200),
    ("api:auth-verify", "POST"): (400, 400, 400, 400),
    ("api:auth-verify", "OPTIONS"): (200, 200, 200, 200),
    ("api:auth-token", "POST"): (400, 400, 400, 400),
    ("api:auth-token", "OPTIONS"): (200, 200, 200, 200),
    ("api:auth-token-refresh", "POST"): (400, 400, 400, 400),
    ("api:auth-token-refresh", "OPTIONS"): (200, 200, 200, 200),
    ("api:auth-logout", "POST"): (400, 400, 400, 400),
    ("api:auth-logout", "OPTIONS"): (200, 200, 200, 200),
    ("api:auth-me", "GET"): (401, 200, 200, 200),
    ("api:auth-me", "PATCH"): (401, 200, 200, 200),
    ("api:auth-me", "OPTIONS"): (401, 200, 200, 200),
    # --- catalog: public reads, staff writes --------------------------------------
    ("api:category-list", "GET"): (200, 200, 200, 200),
    ("api:category-list", "POST"): (401, 403, 403, 400),
    ("api:category-list", "OPTIONS"): (200, 200, 200, 200),
    ("api:category-detail", "GET"): (200, 200, 200, 200),
    ("api:category-detail", "PUT"): (401, 403, 403, 400),
    ("api:category-detail", "PATCH"): (401, 403, 403, 200),
    ("api:category-detail", "DELETE"): (401, 403, 403, 204),
    ("api:category-detail", "OPTIONS"): (200, 200, 200, 200),
    ("api:category-products", "GET"): (200, 200, 200, 200),
    ("api:category-products", "OPTIONS"): (200, 200, 200, 200),
    ("api:product-list", "GET"): (200, 200, 200, 200),
    ("api:product-list", "POST"): (401, 403, 403, 400),
    ("api:product-list", "OPTIONS"): (200, 200, 200, 200),
    ("api:product-feed", "GET"): (200, 200, 200, 200),
    ("api:product-feed", "OPTIONS"): (200, 200, 200, 200),
    ("api:product-featured", "GET"): (200, 200, 200, 200),
    ("api:product-featured", "OPTIONS"): (200, 200, 200, 200),
    ("api:product-detail", "GET"): (200, 200, 200, 200),
    ("api:product-detail", "PUT"): (401, 403, 403, 400),
    ("api:product-detail", "PATCH"): (401, 403, 403, 200),
    ("api:product-detail", "DELETE"): (401, 403, 403, 204),
    ("api:product-detail", "OPTIONS"): (200, 200, 200, 200),
    ("api:product-feature", "POST"): (401, 403, 403, 200),
    ("api:product-feature", "OPTIONS"): (401, 403, 403, 200),
    ("api:product-unfeature", "POST"): (401, 403, 403, 200),
    ("api:product-unfeature", "OPTIONS"): (401, 403, 403, 200),
    ("api:product-images", "POST"): (401, 403, 403, 400),
    ("api:product-images", "OPTIONS"): (401, 200, 200, 200),  # metadata, no data
    ("api:product-image-detail", "DELETE"): (401, 403, 403, 204),
    ("api:product-image-detail", "OPTIONS"): (401, 200, 200, 200),
    # --- reviews: public reads, signed-in writes, the author edits -----------------
    ("api:product-reviews", "GET"): (200, 200, 200, 200),
    ("api:product-reviews", "POST"): (401, 400, 400, 400),
    ("api:product-reviews", "OPTIONS"): (200, 200, 200, 200),
    ("api:review-detail", "GET"): (200, 200, 200, 200),
    ("api:review-detail", "PUT"): (401, 403, 400, 403),
    ("api:review-detail", "PATCH"): (401, 403, 200, 403),
    ("api:review-detail", "DELETE"): (401, 403, 204, 204),  # staff moderate
    ("api:review-detail", "OPTIONS"): (200, 200, 200, 200),
    # --- orders: own orders only (others' are 404), staff see all and fulfil -------
    ("api:order-list", "GET"): (401, 200, 200, 200),
    ("api:order-list", "POST"): (401, 400, 400, 400),
    ("api:order-list", "OPTIONS"): (401, 200, 200, 200),
    ("api:order-detail", "GET"): (401, 404, 200, 200),
    ("api:order-detail", "OPTIONS"): (401, 200, 200, 200),
    ("api:order-cancel", "POST"): (401, 404, 200, 200),
    ("api:order-cancel", "OPTIONS"): (401, 200, 200, 200),
    ("api:order-fulfil", "POST"): (401, 403, 403, 200),
    ("api:order-fulfil", "OPTIONS"): (401, 403, 403, 200),
    # --- notifications: own only, staff included ------------------------------------
    ("api:notification-list", "GET"): (401, 200, 200, 200),
    ("api:notification-list", "OPTIONS"): (401, 200, 200, 200),
    ("api:notification-read-all", "POST"): (401, 200, 200, 200),
    ("api:notification-read-all", "OPTIONS"): (401, 200, 200, 200),
    ("api:notification-detail", "GET"): (401, 404, 200, 404),
    ("api:notification-detail", "OPTIONS"): (401, 200, 200, 200),
    ("api:notification-read", "POST"): (401, 404, 200, 404),
    ("api:notification-read", "OPTIONS"): (401, 200, 200, 200),
}

# Whole URL-conf branches outside this matrix: the admin has its own login.
EXCLUDED_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Route:
    name: str  # "api:order-detail", "healthz"
    pattern: str
    methods: tuple[str, ...]


def _walk(resolver, namespace: str | None = None, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in EXCLUDED_NAMESPACES:
                continue
            ns = entry.namespace or namespace
            yield from _walk(entry, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "view_class", None)
            assert view_class is not None, f"{entry} is not a class-based view"
            methods = tuple(
                m.upper()
                for m in view_class.http_method_names
                if m != "head" and hasattr(view_class, m)
            )
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name, prefix + str(entry.pattern), methods)


def routes() -> list[Route]:
    found = list(_walk(get_resolver()))
    assert found, "the URL conf walk found nothing"
    return found


ROUTE_METHODS = sorted({(r.name, m) for r in routes() for m in r.methods})


def test_every_route_and_method_is_in_the_matrix():
    missing = [key for key in ROUTE_METHODS if key not in MATRIX]
    assert not missing, (
        f"routes without an authorisation decision: {missing}. Add a line to MATRIX "
        "(anonymous, customer, owner, staff) for each."
    )


def test_the_matrix_lists_no_route_that_does_not_exist():
    stale = sorted(set(MATRIX) - set(ROUTE_METHODS))
    assert not stale, f"MATRIX entries for routes or methods that no longer exist: {stale}"


# --- the world every request runs against ----------------------------------------


@dataclass
class World:
    users: dict[str, object]
    kwargs: dict[str, dict[str, str]]  # route name -> URL kwargs


@pytest.fixture
def world() -> World:
    owner = UserFactory()
    customer = UserFactory()
    staff = StaffFactory()
    category = CategoryFactory()
    empty_category = CategoryFactory()
    product = ProductFactory(category=category)
    image = ProductImageFactory(product=product)
    review = ReviewFactory(product=product, author=owner)
    order = make_order(user=owner, items=[(ProductFactory(stock=5), 1)], status=OrderStatus.PAID)
    notification = Notification.objects.create(
        user=owner, kind="order.status", payload={"order": str(order.pk), "status": "paid"}
    )
    product_kw = {"pk": str(product.pk)}
    return World(
        users={"anonymous": None, "customer": customer, "owner": owner, "staff": staff},
        kwargs={
            "api:category-detail": {"slug": empty_category.slug},
            "api:category-products": {"slug": category.slug},
            "api:product-detail": product_kw,
            "api:product-feature": product_kw,
            "api:product-unfeature": product_kw,
            "api:product-images": product_kw,
            "api:product-image-detail": {**product_kw, "image_pk": str(image.pk)},
            "api:product-reviews": product_kw,
            "api:review-detail": {**product_kw, "review_pk": str(review.pk)},
            "api:order-detail": {"pk": str(order.pk)},
            "api:order-cancel": {"pk": str(order.pk)},
            "api:order-fulfil": {"pk": str(order.pk)},
            "api:notification-detail": {"pk": str(notification.pk)},
            "api:notification-read": {"pk": str(notification.pk)},
        },
    )


def _url(name: str, version: str, world: World) -> str:
    from django.urls import reverse

    kwargs = dict(world.kwargs.get(name, {}))
    if name.startswith("api:"):
        kwargs["version"] = version
    return reverse(name, kwargs=kwargs)


class _Rollback(Exception):
    pass


def _request(client: APIClient, method: str, url: str):
    """One request whose database writes are rolled back afterwards."""
    response = None
    with contextlib.suppress(_Rollback), transaction.atomic():
        if method in {"POST", "PUT", "PATCH"}:
            response = client.generic(method, url, data=b"{}", content_type="application/json")
        else:
            response = client.generic(method, url)
        raise _Rollback
    return response


def _client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.mark.parametrize(("name", "method"), ROUTE_METHODS, ids=lambda v: str(v))
def test_authorisation(name, method, world, settings):
    # Throttles are not what this test is about; the auth scope would trip.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "auth": None},
    }
    expected = MATRIX.get((name, method))
    if expected is None:
        pytest.fail(f"{name} {method} has no line in MATRIX")
    versions = VERSIONS if name.startswith("api:") else (None,)
    mismatches = []
    for version in versions:
        url = _url(name, version, world)
        for role, status in zip(ROLES, expected, strict=True):
            response = _request(_client(world.users[role]), method, url)
            if response.status_code != status:
                mismatches.append((version, role, status, response.status_code))
            if response.status_code >= 400:
                assert response["Content-Type"] == "application/problem+json", (
                    version,
                    role,
                    response["Content-Type"],
                )
    assert not mismatches, f"{method} {name}: (version, role, expected, got) {mismatches}"


ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@pytest.mark.parametrize("route", routes(), ids=lambda r: r.name)
def test_methods_a_route_does_not_have_are_refused(route, world, settings):
    """A method a view does not implement is never served: 405 (or 401/403
    first, when the caller could not have used the route anyway)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "auth": None},
    }
    version = "v1" if route.name.startswith("api:") else None
    url = _url(route.name, version, world)
    others = [m for m in ALL_METHODS if m not in route.methods]
    for method in others:
        for role in ("anonymous", "staff"):
            response = _request(_client(world.users[role]), method, url)
            assert response.status_code in {401, 403, 405}, (method, role, response.status_code)
            assert response["Content-Type"] == "application/problem+json", (method, role)
