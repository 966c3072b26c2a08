"""Orders admin: read-only money, status changes only through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from storefront.accounts.models import User
from storefront.accounts.roles import STAFF
from storefront.orders import services
from storefront.orders.models import FakeCharge, Order, OrderStatus
from storefront.orders.tests.factories import UserFactory, make_order, product

pytestmark = pytest.mark.django_db

S = OrderStatus
CHANGELIST = "/admin/orders/order/"


@pytest.fixture
def admin_client_staff():
    # A staff member with the staff role's permissions (not a superuser).
    user = User.objects.create_user("admin-staff@example.com", "pw", is_staff=True)
    user.groups.set([Group.objects.get(name=STAFF)])
    client = Client()
    client.force_login(user)
    return client, user


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_the_orders(admin_client_staff):
    # given one order, and the changelist read once (per-process caches warm)
    client, _ = admin_client_staff
    make_order()
    client.get(CHANGELIST)
    few = _queries(client, CHANGELIST)

    # when there are six orders, then the page costs the same
    for _ in range(5):
        make_order()
    assert _queries(client, CHANGELIST) == few


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _change_page_queries(client, order) -> int:
    return _queries(client, f"{CHANGELIST}{order.pk}/change/")


def test_change_page_shows_lines_and_events_without_n_plus_one(admin_client_staff):
    # given a small and a large order, both with a few events
    client, _ = admin_client_staff
    small = make_order(items=[(product(), 1)], status=S.CANCELLED)
    large = make_order(items=[(product(), 1) for _ in range(8)], status=S.CANCELLED)
    for _ in range(3):  # more events, each with its own actor
        Order.objects.filter(pk=large.pk).update(status=S.PENDING)
        services.order_cancel(order_id=large.pk, by=UserFactory())

    client.get(f"{CHANGELIST}{small.pk}/change/")  # warm the per-process caches

    # then the change page costs the same whatever the number of lines and events
    assert _change_page_queries(client, small) == _change_page_queries(client, large)
    response = client.get(f"{CHANGELIST}{large.pk}/change/")
    content = response.content.decode()
    assert large.lines.first().sku in content
    assert "cancelled" in content


def test_money_and_lines_are_read_only(admin_client_staff):
    client, _ = admin_client_staff
    order = make_order(items=[(product(price="10.00"), 2)])
    response = client.post(
        f"{CHANGELIST}{order.pk}/change/",
        {"total": "0.01", "status": "paid", "shipping_name": "Mallory"},
    )
    assert response.status_code in {200, 302}
    order.refresh_from_db()
    assert (order.total, order.status, order.shipping_name) == (
        order.lines.get().line_total,
        S.PENDING,
        "Ada Lovelace",
    )


def test_orders_cannot_be_added_or_deleted_in_the_admin(admin_client_staff):
    client, _ = admin_client_staff
    order = make_order()
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{order.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_cancel_action_goes_through_the_service(admin_client_staff):
    # given a pending and a paid order
    client, staff = admin_client_staff
    pending = make_order()
    paid = make_order(status=S.PAID)

    # when staff cancel both from the changelist
    response = client.post(
        CHANGELIST,
        {"action": "cancel_orders", "_selected_action": [str(pending.pk), str(paid.pk)]},
        follow=True,
    )

    # then both are cancelled, the paid one refunded, with staff as the actor
    assert response.status_code == 200
    assert messages_of(response) == ["2 order(s) cancelled."]
    assert set(Order.objects.values_list("status", flat=True)) == {S.CANCELLED}
    assert FakeCharge.objects.get().refunded_at is not None
    assert {o.events.last().actor for o in Order.objects.all()} == {staff}


def test_fulfil_action_reports_orders_it_cannot_fulfil(admin_client_staff):
    client, _ = admin_client_staff
    pending = make_order()
    paid = make_order(status=S.PAID)

    response = client.post(
        CHANGELIST,
        {"action": "fulfil_orders", "_selected_action": [str(pending.pk), str(paid.pk)]},
        follow=True,
    )

    assert messages_of(response) == [
        "1 order(s) fulfilled.",
        f"{pending.pk}: The order is pending; it cannot become fulfilled.",
    ]
    assert Order.objects.get(pk=paid.pk).status == S.FULFILLED
    assert Order.objects.get(pk=pending.pk).status == S.PENDING


def test_fake_charges_are_listed_read_only(admin_client_staff):
    client, _ = admin_client_staff
    make_order(status=S.PAID)
    assert client.get("/admin/orders/fakecharge/").status_code == 200
    assert client.get("/admin/orders/fakecharge/add/").status_code == 403
