"""Orders API: place, list, read, cancel, fulfil; each role; errors as problems."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from storefront.catalog.models import Product
from storefront.orders import tasks
from storefront.orders.models import FakeCharge, Order, OrderStatus
from storefront.orders.tests.factories import ADDRESS, make_order, product
from storefront.orders.tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

S = OrderStatus
ORDERS = "/api/v1/orders/"


def body(*items, token="tok_success", **address):  # noqa: S107 - a fake gateway token
    return {
        "items": [{"product": str(p.id), "quantity": q} for p, q in items],
        "shipping_address": {**ADDRESS, **address},
        "payment_token": token,
    }


def stock_of(p: Product) -> int:
    return Product.all_objects.get(pk=p.pk).stock


# --- Placing an order -------------------------------------------------------


def test_place_order_answers_201_with_the_order_location_and_links(
    client_for, customer, django_capture_on_commit_callbacks
):
    # given a product with stock
    p = product(stock=5, price="19.99", sku="BOOK-1", name="Book")

    # when the customer orders two (payment patched to see what is scheduled)
    with (
        mock.patch.object(tasks.process_order, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(customer).post(ORDERS, body((p, 2)), format="json")

    # then the pending order comes back with server-computed totals and links
    assert response.status_code == 201, response.content
    data = response.json()
    order = Order.objects.get()
    assert data["id"] == str(order.id)
    assert data["status"] == "pending"
    assert data["total"] == "39.98"
    assert data["currency"] == "EUR"
    assert data["user"] == str(customer.id)
    assert data["lines"] == [
        {
            "id": str(order.lines.get().id),
            "product": str(p.id),
            "sku": "BOOK-1",
            "name": "Book",
            "unit_price": "19.99",
            "quantity": 2,
            "line_total": "39.98",
        }
    ]
    assert data["shipping_address"] == ADDRESS
    assert response["Location"] == data["url"] == f"http://testserver{ORDERS}{order.id}/"
    assert data["links"] == {
        "self": data["url"],
        "cancel": f"http://testserver{ORDERS}{order.id}/cancel/",
    }
    assert stock_of(p) == 3
    # and payment is scheduled with the order id after commit
    delay.assert_called_once_with(str(order.id))


@pytest.mark.django_db(transaction=True)
def test_place_order_answers_the_order_as_placed_even_if_payment_already_ran(client_for, customer):
    # given a product (real commits, Celery eager: payment runs right after the
    # commit, before the response is rendered)
    p = product(stock=5, price="19.99")

    # when the customer orders it
    response = client_for(customer).post(ORDERS, body((p, 1)), format="json")

    # then the order is paid by now, but the 201 shows it as this request
    # placed it (pending, as documented), with its lines, and equal to a read
    # of the order as it was placed
    order = Order.objects.get()
    assert order.status == S.PAID
    data = response.json()
    assert data["status"] == "pending"
    assert data["links"]["cancel"] == f"http://testserver{ORDERS}{order.id}/cancel/"
    assert [line["line_total"] for line in data["lines"]] == ["19.99"]
    Order.objects.filter(pk=order.pk).update(status=S.PENDING, paid_at=None)
    read = client_for(customer).get(f"{ORDERS}{order.id}/").json()
    assert read.pop("updated_at") >= data.pop("updated_at")  # the payment saved it since
    assert read == data


def test_place_order_takes_one_read_three_inserts_and_one_update_per_product(
    client_for, customer, django_capture_on_commit_callbacks
):
    # given two products
    items = [(product(stock=5), 1), (product(stock=5), 2)]

    # when an order is placed (payment publish patched: its broker is not SQL)
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(tasks.process_order, "delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(customer).post(ORDERS, body(*items), format="json")

    # then: the products, the order, its lines, its event, one stock UPDATE per
    # product, and after commit the dispatch mark; the 201 reads nothing back
    assert response.status_code == 201, response.content
    statements = [
        q["sql"].split()[0].upper() + " " + q["sql"].split('"')[1]
        for q in queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    assert statements == [
        "SELECT catalog_product",
        "INSERT orders_order",
        "INSERT orders_orderline",
        "INSERT orders_orderevent",
        "UPDATE catalog_product",
        "UPDATE catalog_product",
        "UPDATE orders_order",
    ], statements


def test_place_order_then_payment_runs_after_commit_and_confirms_by_email(
    client_for, customer, django_capture_on_commit_callbacks
):
    # given a product (Celery eager: tasks run in-process once the data is committed)
    p = product(stock=5)

    # when the customer orders it with a card that works
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(customer).post(ORDERS, body((p, 1)), format="json")

    # then the order is paid and the customer gets one confirmation e-mail
    order = Order.objects.get(pk=response.json()["id"])
    assert order.status == S.PAID
    assert FakeCharge.objects.get().idempotency_key == str(order.id)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [customer.email]


def test_declined_payment_fails_the_order_without_email(
    client_for, customer, django_capture_on_commit_callbacks
):
    p = product(stock=5)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(customer).post(
            ORDERS, body((p, 2), token="tok_decline"), format="json"
        )

    order = Order.objects.get(pk=response.json()["id"])
    assert order.status == S.FAILED
    assert stock_of(p) == 5
    assert mail.outbox == []


def test_transient_payment_errors_are_retried_in_process_too(
    client_for, customer, django_capture_on_commit_callbacks
):
    # given tasks running in-process, as in embedded mode
    p = product(stock=5)

    # when an order meets a gateway that fails twice
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(customer).post(
            ORDERS, body((p, 1), token="tok_transient"), format="json"
        )

    # then the request still succeeds, and the retried payment went through once
    assert response.status_code == 201
    assert Order.objects.get().status == S.PAID
    assert FakeCharge.objects.get().attempts == 3


def test_client_prices_are_ignored(client_for, customer):
    # given a product at 10.00
    p = product(price="10.00")
    payload = body((p, 1))
    payload["items"][0]["unit_price"] = "0.01"
    payload["total"] = "0.01"

    # when a client sends its own prices, then the catalog's are used
    response = client_for(customer).post(ORDERS, payload, format="json")
    assert response.json()["total"] == "10.00"


def test_place_order_needs_authentication(client_for):
    p = product()
    response = client_for(None).post(ORDERS, body((p, 1)), format="json")
    assert_problem(response, 401, "not_authenticated")
    assert Order.objects.count() == 0


def test_place_order_out_of_stock_is_409_naming_the_product(client_for, customer):
    # given a product with one unit
    p = product(stock=1, sku="LAST-1")

    # when two are ordered
    response = client_for(customer).post(ORDERS, body((p, 2)), format="json")

    # then 409 out_of_stock names the product, and nothing is kept
    problem = assert_problem(response, 409, "out_of_stock")
    assert str(p.id) in problem["detail"]
    assert "LAST-1" in problem["detail"]
    assert stock_of(p) == 1
    assert Order.objects.count() == 0


def test_place_order_with_an_inactive_product_is_422(client_for, customer):
    p = product(is_active=False)
    response = client_for(customer).post(ORDERS, body((p, 1)), format="json")
    assert_problem(response, 422, "product_unavailable")


def test_place_order_with_an_unknown_product_is_422(client_for, customer):
    p = product()
    payload = body((p, 1))
    payload["items"][0]["product"] = "00000000-0000-0000-0000-000000000000"
    response = client_for(customer).post(ORDERS, payload, format="json")
    assert_problem(response, 422, "product_unavailable")


def test_place_order_in_two_currencies_is_422(client_for, customer):
    eur, usd = product(currency="EUR"), product(currency="USD")
    response = client_for(customer).post(ORDERS, body((eur, 1), (usd, 1)), format="json")
    assert_problem(response, 422, "currency_mismatch")
    assert (stock_of(eur), stock_of(usd)) == (10, 10)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(items=[]), "items"),
        (lambda b: b["items"].append(dict(b["items"][0])), "items"),
        (lambda b: b["items"][0].update(quantity=0), "items.0.quantity"),
        (lambda b: b["items"][0].update(quantity=101), "items.0.quantity"),
        (lambda b: b["items"][0].update(product="nope"), "items.0.product"),
        (lambda b: b["shipping_address"].update(country="XX"), "shipping_address.country"),
        (lambda b: b["shipping_address"].update(country="DEU"), "shipping_address.country"),
        (lambda b: b["shipping_address"].pop("city"), "shipping_address.city"),
        (lambda b: b.pop("payment_token"), "payment_token"),
    ],
    ids=[
        "no-items",
        "duplicate-product",
        "quantity-0",
        "quantity-101",
        "bad-product-id",
        "unknown-country",
        "alpha-3-country",
        "no-city",
        "no-payment-token",
    ],
)
def test_place_order_validates_its_input(client_for, customer, mutate, field):
    # given a valid body, broken in one place
    payload = body((product(), 1))
    mutate(payload)

    # when it is posted, then a 400 names the field
    response = client_for(customer).post(ORDERS, payload, format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert field in problem["errors"], problem["errors"]


def test_place_order_accepts_at_most_50_items(client_for, customer):
    products = [product() for _ in range(51)]
    payload = body(*[(p, 1) for p in products])
    response = client_for(customer).post(ORDERS, payload, format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert "items" in problem["errors"]


def test_country_codes_are_case_insensitive_and_stored_upper_case(client_for, customer):
    response = client_for(customer).post(ORDERS, body((product(), 1), country="fr"), format="json")
    assert response.json()["shipping_address"]["country"] == "FR"


# --- Reading ----------------------------------------------------------------


def test_customer_lists_only_their_own_orders(client_for, customer, other_customer):
    # given orders of two customers
    mine = make_order(user=customer)
    make_order(user=other_customer)

    # when the customer lists orders, then only theirs appear, with lines
    response = client_for(customer).get(ORDERS)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    assert [o["id"] for o in data["results"]] == [str(mine.id)]
    assert len(data["results"][0]["lines"]) == 1


def test_staff_list_every_order_and_filter_them(client_for, staff, customer, other_customer):
    # given orders of two customers in several statuses and dates
    a = make_order(user=customer)
    b = make_order(user=customer, status=S.PAID)
    c = make_order(user=other_customer, status=S.PAID)
    Order.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=10))
    client = client_for(staff)

    def ids(**query) -> set[str]:
        response = client.get(ORDERS, query)
        assert response.status_code == 200, response.content
        return {o["id"] for o in response.json()["results"]}

    # then staff see everything and can narrow it down
    assert ids() == {str(a.id), str(b.id), str(c.id)}
    assert ids(status="paid") == {str(b.id), str(c.id)}
    assert ids(user=str(customer.id)) == {str(a.id), str(b.id)}
    assert ids(user=other_customer.email.upper()) == {str(c.id)}
    cutoff = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(created_after=cutoff) == {str(b.id), str(c.id)}
    assert ids(created_before=cutoff) == {str(a.id)}
    assert ids(status="paid", user=str(customer.id)) == {str(b.id)}


def test_list_filter_errors_are_400(client_for, staff):
    response = client_for(staff).get(ORDERS + "?status=shipped")
    assert_problem(response, 400, "validation_error")


def test_list_needs_authentication(client_for):
    assert_problem(client_for(None).get(ORDERS), 401, "not_authenticated")


def test_owner_reads_their_order_with_lines(client_for, customer):
    order = make_order(user=customer, items=[(product(), 2), (product(), 1)])
    response = client_for(customer).get(f"{ORDERS}{order.id}/")
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == str(order.id)
    assert [line["quantity"] for line in data["lines"]] == [2, 1]


def test_another_customers_order_is_404_not_403(client_for, customer, other_customer):
    order = make_order(user=customer)
    client = client_for(other_customer)
    assert_problem(client.get(f"{ORDERS}{order.id}/"), 404, "not_found")
    assert_problem(client.post(f"{ORDERS}{order.id}/cancel/"), 404, "not_found")
    order.refresh_from_db()
    assert order.status == S.PENDING


def test_staff_read_any_order_and_see_the_fulfil_link_when_paid(client_for, staff):
    order = make_order(status=S.PAID)
    data = client_for(staff).get(f"{ORDERS}{order.id}/").json()
    assert data["links"]["fulfil"] == f"http://testserver{ORDERS}{order.id}/fulfil/"
    assert "cancel" in data["links"]


def test_settled_orders_offer_no_action_links(client_for, customer):
    order = make_order(user=customer, status=S.FULFILLED)
    data = client_for(customer).get(f"{ORDERS}{order.id}/").json()
    assert data["links"] == {"self": data["url"]}


def test_detail_needs_authentication(client_for):
    order = make_order()
    assert_problem(client_for(None).get(f"{ORDERS}{order.id}/"), 401, "not_authenticated")


@pytest.mark.parametrize("size", [1, 5])
def test_list_query_count_does_not_grow_with_the_page(client_for, customer, size):
    # given `size` orders of two lines each
    for _ in range(size):
        make_order(user=customer, items=[(product(), 1), (product(), 1)])
    client = client_for(customer)

    # when the list is read, then: count, orders, lines; whatever the size
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ORDERS)
    assert response.status_code == 200
    assert len(response.json()["results"]) == size
    assert len(queries) == 3, [q["sql"] for q in queries]


@pytest.mark.parametrize("lines", [1, 6])
def test_detail_query_count_does_not_grow_with_the_lines(client_for, customer, lines):
    order = make_order(user=customer, items=[(product(), 1) for _ in range(lines)])
    client = client_for(customer)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{ORDERS}{order.id}/")
    assert len(response.json()["lines"]) == lines
    assert len(queries) == 2, [q["sql"] for q in queries]


# --- Cancel -----------------------------------------------------------------


def test_owner_cancels_a_pending_order_and_stock_is_released(client_for, customer):
    # given a pending order of 3 units
    p = product(stock=5)
    order = make_order(user=customer, items=[(p, 3)])

    # when the owner cancels it
    response = client_for(customer).post(f"{ORDERS}{order.id}/cancel/")

    # then it is cancelled, without action links, and the stock is back
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "cancelled"
    assert data["cancelled_at"] is not None
    assert data["links"] == {"self": data["url"]}
    assert stock_of(p) == 5
    event = Order.objects.get(pk=order.pk).events.last()
    assert (event.actor, event.note) == (customer, "by customer")


def test_staff_cancel_a_paid_order_which_is_refunded(client_for, staff):
    p = product(stock=5)
    order = make_order(items=[(p, 2)], status=S.PAID)

    response = client_for(staff).post(f"{ORDERS}{order.id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert FakeCharge.objects.get().refunded_at is not None
    assert stock_of(p) == 5
    assert Order.objects.get(pk=order.pk).events.last().note.startswith("by staff refunded re_")


def test_cancel_twice_is_409_invalid_transition(client_for, customer):
    order = make_order(user=customer)
    client = client_for(customer)
    assert client.post(f"{ORDERS}{order.id}/cancel/").status_code == 200
    assert_problem(client.post(f"{ORDERS}{order.id}/cancel/"), 409, "invalid_transition")


def test_cancel_needs_authentication(client_for):
    order = make_order()
    assert_problem(client_for(None).post(f"{ORDERS}{order.id}/cancel/"), 401, "not_authenticated")


def test_cancel_when_the_refund_is_impossible_now_is_503(client_for, customer):
    from storefront.orders.payments import FakePaymentGateway, TransientPaymentError

    order = make_order(user=customer, status=S.PAID)
    with mock.patch.object(FakePaymentGateway, "refund", side_effect=TransientPaymentError):
        response = client_for(customer).post(f"{ORDERS}{order.id}/cancel/")
    assert_problem(response, 503, "payment_unavailable")
    assert Order.objects.get(pk=order.pk).status == S.PAID


# --- Fulfil -----------------------------------------------------------------


def test_staff_fulfil_a_paid_order(client_for, staff):
    order = make_order(status=S.PAID)
    response = client_for(staff).post(f"{ORDERS}{order.id}/fulfil/")
    assert response.status_code == 200
    assert response.json()["status"] == "fulfilled"
    assert Order.objects.get(pk=order.pk).events.last().actor == staff


def test_fulfil_a_pending_order_is_409(client_for, staff):
    order = make_order()
    assert_problem(client_for(staff).post(f"{ORDERS}{order.id}/fulfil/"), 409, "invalid_transition")


def test_customers_cannot_fulfil_even_their_own_orders(client_for, customer):
    order = make_order(user=customer, status=S.PAID)
    response = client_for(customer).post(f"{ORDERS}{order.id}/fulfil/")
    assert_problem(response, 403, "permission_denied")
    assert Order.objects.get(pk=order.pk).status == S.PAID


def test_fulfil_needs_authentication(client_for):
    order = make_order(status=S.PAID)
    assert_problem(client_for(None).post(f"{ORDERS}{order.id}/fulfil/"), 401, "not_authenticated")


def test_fulfil_unknown_order_is_404(client_for, staff):
    response = client_for(staff).post(f"{ORDERS}00000000-0000-0000-0000-000000000000/fulfil/")
    assert_problem(response, 404, "not_found")


# --- Root and versions ------------------------------------------------------


def test_api_root_links_to_orders(client_for):
    links = client_for(None).get("/api/v1/").json()["links"]
    assert links["orders"] == "http://testserver/api/v1/orders/"


def test_v2_serves_orders_with_v2_links(client_for, customer):
    order = make_order(user=customer)
    data = client_for(customer).get(f"/api/v2/orders/{order.id}/").json()
    assert data["url"] == f"http://testserver/api/v2/orders/{order.id}/"
    assert Decimal(data["total"]) == order.total
