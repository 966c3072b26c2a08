"""Object-level isolation: what belongs to one user is invisible or read-only to another.

Orders and notifications of someone else answer 404 (their existence is not
revealed) and never appear in lists; reviews are public but only their author
changes them (staff may delete them); the profile endpoint only ever shows and
changes the caller's own account, and privilege fields cannot be written.
The authorisation matrix (test_authz_matrix.py) covers every route by role;
these tests pin the data each role gets back.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from storefront.accounts.models import User
from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.models import Review
from storefront.catalog.tests.factories import ProductFactory, ReviewFactory
from storefront.core.testing import assert_problem
from storefront.notifications.models import Notification
from storefront.orders.models import OrderStatus
from storefront.orders.tests.factories import ADDRESS, make_order

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.fixture
def alice():
    return UserFactory()


@pytest.fixture
def mallory():
    return UserFactory()


# --- orders -----------------------------------------------------------------------


@pytest.fixture
def alices_order(alice):
    return make_order(user=alice, items=[(ProductFactory(stock=5), 1)], status=OrderStatus.PAID)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_another_customers_order_is_a_404_everywhere(version, alices_order, mallory):
    client = client_for(mallory)
    base = f"/api/{version}/orders/{alices_order.pk}/"

    assert_problem(client.get(base), 404, "not_found")
    assert_problem(client.post(f"{base}cancel/"), 404, "not_found")
    alices_order.refresh_from_db()
    assert alices_order.status == OrderStatus.PAID


def test_another_customers_orders_never_appear_in_the_list(alices_order, alice, mallory):
    client = client_for(mallory)
    # not even when asking for them by user id or e-mail
    for query in ("", f"?user={alice.pk}", f"?user={alice.email}", "?status=paid"):
        response = client.get(f"/api/v1/orders/{query}")
        assert response.status_code == 200, (query, response.content)
        assert response.json()["results"] == [], query


def test_a_404_for_someone_elses_order_equals_one_for_no_order(alices_order, mallory):
    client = client_for(mallory)
    theirs = client.get(f"/api/v1/orders/{alices_order.pk}/").json()
    nobody = client.get("/api/v1/orders/00000000-0000-0000-0000-000000000000/").json()
    for key in ("type", "title", "status", "detail", "code"):
        assert theirs[key] == nobody[key], key


def test_staff_see_any_order(alices_order):
    response = client_for(StaffFactory()).get(f"/api/v1/orders/{alices_order.pk}/")
    assert response.status_code == 200


def test_an_order_cannot_be_placed_for_someone_else_nor_at_a_chosen_price(alice, mallory):
    product = ProductFactory(stock=5)
    payload = {
        "items": [{"product": str(product.pk), "quantity": 1, "unit_price": "0.01"}],
        "shipping_address": ADDRESS,
        "payment_token": "tok_success",
        "user": str(alice.pk),
        "total": "0.01",
        "status": "paid",
    }
    response = client_for(mallory).post("/api/v1/orders/", payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["total"] == str(product.price)
    assert not alice.orders.exists()


# --- notifications -----------------------------------------------------------------


@pytest.fixture
def alices_notification(alice):
    return Notification.objects.create(user=alice, kind="order.status", payload={"x": 1})


@pytest.mark.parametrize("who", ["customer", "staff"])
def test_another_users_notification_is_a_404(who, alices_notification):
    user = UserFactory() if who == "customer" else StaffFactory()
    client = client_for(user)
    base = f"/api/v1/notifications/{alices_notification.pk}/"

    assert_problem(client.get(base), 404, "not_found")
    assert_problem(client.post(f"{base}read/"), 404, "not_found")
    alices_notification.refresh_from_db()
    assert alices_notification.read_at is None


def test_read_all_and_the_list_touch_only_ones_own(alices_notification, mallory):
    client = client_for(mallory)

    assert client.get("/api/v1/notifications/").json()["results"] == []
    assert client.post("/api/v1/notifications/read-all/").json() == {"count": 0}
    alices_notification.refresh_from_db()
    assert alices_notification.read_at is None


# --- reviews ----------------------------------------------------------------------


@pytest.fixture
def alices_review(alice):
    return ReviewFactory(author=alice, rating=5, title="Mine")


@pytest.mark.parametrize("who", ["customer", "staff"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_only_the_author_edits_a_review(who, method, alices_review):
    user = UserFactory() if who == "customer" else StaffFactory()
    url = f"/api/v1/products/{alices_review.product_id}/reviews/{alices_review.pk}/"
    payload = {"rating": 1, "title": "Hijacked", "body": "x"}

    response = getattr(client_for(user), method)(url, payload, format="json")

    assert_problem(response, 403, "permission_denied")
    alices_review.refresh_from_db()
    assert (alices_review.rating, alices_review.title) == (5, "Mine")


def test_another_customer_cannot_delete_a_review_but_staff_can(alices_review):
    url = f"/api/v1/products/{alices_review.product_id}/reviews/{alices_review.pk}/"

    assert_problem(client_for(UserFactory()).delete(url), 403, "permission_denied")
    assert Review.objects.filter(pk=alices_review.pk).exists()
    assert client_for(StaffFactory()).delete(url).status_code == 204


def test_the_author_cannot_move_a_review_to_another_author_or_product(alices_review, mallory):
    url = f"/api/v1/products/{alices_review.product_id}/reviews/{alices_review.pk}/"
    other = ProductFactory()
    payload = {"author": str(mallory.pk), "product": str(other.pk), "title": "Still mine"}

    response = client_for(alices_review.author).patch(url, payload, format="json")

    assert response.status_code == 200, response.content
    alices_review.refresh_from_db()
    assert alices_review.author_id != mallory.pk
    assert alices_review.product_id != other.pk


def test_a_review_of_another_product_is_not_reachable_through_this_one(alices_review):
    other = ProductFactory()
    url = f"/api/v1/products/{other.pk}/reviews/{alices_review.pk}/"
    assert_problem(client_for(alices_review.author).patch(url, {"title": "x"}), 404)


# --- profile ----------------------------------------------------------------------


def test_me_is_always_the_caller(alice, mallory):
    body = client_for(mallory).get("/api/v1/auth/me/").json()
    assert body["id"] == str(mallory.pk)
    assert body["email"] == mallory.email


def test_me_ignores_privilege_and_identity_fields(mallory, alice):
    payload = {
        "first_name": "Mal",
        "email": alice.email,
        "id": str(alice.pk),
        "is_staff": True,
        "is_superuser": True,
        "roles": ["staff"],
        "is_active": True,
    }
    response = client_for(mallory).patch("/api/v1/auth/me/", payload, format="json")

    assert response.status_code == 200, response.content
    mallory.refresh_from_db()
    alice.refresh_from_db()
    assert mallory.first_name == "Mal"
    assert not mallory.is_staff
    assert not mallory.is_superuser
    assert mallory.email != alice.email
    assert list(mallory.groups.values_list("name", flat=True)) == ["customer"]
    assert alice.first_name != "Mal"
    assert User.objects.filter(is_staff=True).count() == 0
