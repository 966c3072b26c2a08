"""Reviews API: public reads, one review per author, own edits, staff moderation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog.models import Review
from storefront.catalog.tests.factories import ProductFactory, ReviewFactory
from storefront.catalog.tests.utils import assert_problem, field_codes

pytestmark = pytest.mark.django_db


def reviews_url(product, version="v1"):
    return f"/api/{version}/products/{product.pk}/reviews/"


def review_url(review):
    return f"/api/v1/products/{review.product_id}/reviews/{review.pk}/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def review(db):
    """A review by its own author (a customer), rating 4."""
    return ReviewFactory(rating=4, author=UserFactory(first_name="Ada"))


@pytest.fixture
def author_client(review):
    return client_for(review.author)


# --- reads --------------------------------------------------------------------------------


def test_anyone_lists_reviews_newest_first(api_client):
    product = ProductFactory()
    first = ReviewFactory(product=product)
    second = ReviewFactory(product=product, author=UserFactory(first_name="Bob"))
    ReviewFactory()  # another product's
    body = api_client.get(reviews_url(product)).json()
    assert [item["id"] for item in body["results"]] == [str(second.pk), str(first.pk)]
    item = body["results"][0]
    assert item["author_name"] == "Bob"
    assert item["url"] == f"http://testserver{review_url(second)}"
    assert item["product_url"] == f"http://testserver/api/v1/products/{product.pk}/"
    assert "email" not in str(item)


def test_author_without_first_name_is_anonymous(api_client):
    review = ReviewFactory(author=UserFactory(first_name=""))
    assert api_client.get(review_url(review)).json()["author_name"] == "Anonymous"


def test_anyone_reads_one_review(api_client, review):
    body = api_client.get(review_url(review)).json()
    assert body["rating"] == 4
    assert body["id"] == str(review.pk)


def test_reviews_of_an_invisible_product_are_404(api_client, staff_client, review):
    review.product.is_active = False
    review.product.save()
    assert_problem(api_client.get(reviews_url(review.product)), 404)
    assert_problem(api_client.get(review_url(review)), 404)
    assert staff_client.get(reviews_url(review.product)).status_code == 200


def test_unknown_review_is_404(api_client, review):
    other = ReviewFactory()
    url = f"/api/v1/products/{review.product_id}/reviews/{other.pk}/"
    assert_problem(api_client.get(url), 404)


@pytest.mark.parametrize("size", [2, 12])
def test_review_list_query_count_is_fixed(api_client, django_assert_num_queries, size):
    product = ProductFactory()
    for _ in range(size):
        ReviewFactory(product=product)
    with django_assert_num_queries(3):  # product + count + page (authors joined)
        response = api_client.get(reviews_url(product), {"page_size": size})
    assert len(response.json()["results"]) == size


def test_review_detail_query_count(api_client, django_assert_num_queries, review):
    with django_assert_num_queries(2):  # product + review (author joined)
        assert api_client.get(review_url(review)).status_code == 200


# --- create -------------------------------------------------------------------------------


def test_customer_can_review_a_product_and_ratings_follow(customer_client):
    # given a product with one 2-star review
    product = ProductFactory()
    ReviewFactory(product=product, rating=2)
    # when a customer posts a 5-star review
    response = customer_client.post(
        reviews_url(product), {"rating": 5, "title": "Great", "body": "Love it"}, format="json"
    )
    # then it is created and the product's denormalised rating is updated
    assert response.status_code == 201, response.content
    assert response["Location"] == response.json()["url"]
    product.refresh_from_db()
    assert product.review_count == 2
    assert product.rating_avg == Decimal("3.50")


def test_second_review_by_the_same_author_is_409(author_client, review):
    response = author_client.post(
        reviews_url(review.product), {"rating": 1, "title": "Again"}, format="json"
    )
    assert_problem(response, 409, "already_reviewed")
    assert Review.objects.filter(product=review.product).count() == 1


def test_anonymous_cannot_review(api_client):
    product = ProductFactory()
    response = api_client.post(reviews_url(product), {"rating": 5, "title": "x"}, format="json")
    assert_problem(response, 401, "not_authenticated")


def test_inactive_product_cannot_be_reviewed(customer_client, staff_client):
    product = ProductFactory(is_active=False)
    payload = {"rating": 5, "title": "x"}
    # customers do not even see it; staff see it but cannot review it
    assert_problem(customer_client.post(reviews_url(product), payload, format="json"), 404)
    assert_problem(
        staff_client.post(reviews_url(product), payload, format="json"),
        409,
        "product_unavailable",
    )


def test_deleted_product_cannot_be_reviewed(customer_client):
    product = ProductFactory()
    product.delete()
    response = customer_client.post(
        reviews_url(product), {"rating": 5, "title": "x"}, format="json"
    )
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"rating": 0, "title": "x"}, "rating", "min_value"),
        ({"rating": 6, "title": "x"}, "rating", "max_value"),
        ({"rating": "five", "title": "x"}, "rating", "invalid"),
        ({"title": "x"}, "rating", "required"),
        ({"rating": 3}, "title", "required"),
        ({"rating": 3, "title": "t" * 201}, "title", "max_length"),
    ],
)
def test_review_validators(customer_client, payload, field, code):
    product = ProductFactory()
    body = assert_problem(customer_client.post(reviews_url(product), payload, format="json"), 400)
    assert code in field_codes(body, field)


def test_hostile_review_text_round_trips(customer_client, api_client):
    product = ProductFactory()
    title = "‏שלום 🙂 <img src=x onerror=alert(1)> '\"\\ e\u0301"
    body = "x" * 100_000
    response = customer_client.post(
        reviews_url(product), {"rating": 3, "title": title, "body": body}, format="json"
    )
    assert response.status_code == 201
    stored = api_client.get(response.json()["url"]).json()
    assert (stored["title"], stored["body"]) == (title, body)


# --- update and delete --------------------------------------------------------------------


def test_author_can_replace_own_review_and_ratings_follow(author_client, review):
    response = author_client.put(
        review_url(review), {"rating": 1, "title": "Changed my mind", "body": ""}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["rating"] == 1
    review.product.refresh_from_db()
    assert review.product.rating_avg == Decimal("1.00")


def test_author_can_patch_own_review(author_client, review):
    response = author_client.patch(review_url(review), {"title": "Better title"}, format="json")
    assert response.status_code == 200
    review.refresh_from_db()
    assert (review.title, review.rating) == ("Better title", 4)


def test_put_review_requires_rating_and_title(author_client, review):
    body = assert_problem(author_client.put(review_url(review), {}, format="json"), 400)
    assert {"rating", "title"} <= set(body["errors"])


def test_others_cannot_edit_a_review_not_even_staff(customer_client, staff_client, review):
    for client in (customer_client, staff_client):
        assert_problem(client.patch(review_url(review), {"rating": 1}, format="json"), 403)
        assert_problem(client.put(review_url(review), {"rating": 1, "title": "x"}), 403)
    assert_problem(APIClient().patch(review_url(review), {"rating": 1}, format="json"), 401)


def test_author_can_delete_own_review_and_ratings_follow(author_client, review):
    response = author_client.delete(review_url(review))
    assert response.status_code == 204
    review.product.refresh_from_db()
    assert (review.product.review_count, review.product.rating_avg) == (0, None)


def test_staff_can_delete_any_review(staff_client, review):
    assert staff_client.delete(review_url(review)).status_code == 204
    assert not Review.objects.filter(pk=review.pk).exists()


def test_other_customers_and_anonymous_cannot_delete_a_review(customer_client, api_client, review):
    assert_problem(customer_client.delete(review_url(review)), 403, "permission_denied")
    assert_problem(api_client.delete(review_url(review)), 401)
    assert Review.objects.filter(pk=review.pk).exists()
