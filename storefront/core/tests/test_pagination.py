"""Page-number and cursor pagination, both with self/next/previous links."""

import pytest

from storefront.accounts.tests.factories import UserFactory
from storefront.core.pagination import CursorPagination, PageNumberPagination
from storefront.core.testing import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.urls("storefront.core.tests.urls_pagination")]


@pytest.fixture
def five_users():
    return [UserFactory(email=f"u{i}@example.com") for i in range(5)]


def test_page_number_pagination_has_count_pages_and_links(api_client, five_users):
    response = api_client.get("/t/page?page_size=2&page=2")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert body["page"] == 2
    assert body["pages"] == 3
    assert [u["email"] for u in body["results"]] == ["u2@example.com", "u3@example.com"]
    assert body["links"] == {
        "self": "http://testserver/t/page?page_size=2&page=2",
        "next": "http://testserver/t/page?page=3&page_size=2",
        "previous": "http://testserver/t/page?page_size=2",
    }


def test_the_first_and_last_pages_have_no_previous_and_no_next(api_client, five_users):
    first = api_client.get("/t/page?page_size=5").json()

    assert first["links"]["previous"] is None
    assert first["links"]["next"] is None
    assert len(first["results"]) == 5


def test_the_default_page_size_comes_from_settings(api_client, five_users, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 3}

    body = api_client.get("/t/page").json()

    assert len(body["results"]) == 3
    assert body["pages"] == 2


def test_a_page_size_above_the_maximum_is_capped(api_client, five_users, settings):
    # given a maximum page size of 2
    settings.API_MAX_PAGE_SIZE = 2

    # when a client asks for 1000 per page
    body = api_client.get("/t/page?page_size=1000").json()

    # then it gets the maximum, not 1000
    assert len(body["results"]) == 2
    assert body["pages"] == 3


@pytest.mark.parametrize("page", ["abc", "0", "-1", "999999999999999999999", "4"])
def test_a_page_that_does_not_exist_is_a_400_on_the_page_field(api_client, five_users, page):
    # a page number that is not one, or lies past the last page, is bad input:
    # the list exists, the parameter is wrong
    body = assert_problem(
        api_client.get(f"/t/page?page_size=2&page={page}"), 400, "validation_error"
    )
    assert body["errors"] == {"page": [{"code": "invalid_page", "message": "Invalid page."}]}


@pytest.mark.parametrize("size", ["abc", "0", "-5"])
def test_a_nonsense_page_size_falls_back_to_the_default(api_client, five_users, size, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 4}

    body = api_client.get(f"/t/page?page_size={size}").json()

    assert len(body["results"]) == 4


def test_cursor_pagination_walks_newest_first_with_links(api_client, five_users):
    # when a client follows the next links two at a time
    seen = []
    url = "/t/cursor?page_size=2"
    pages = 0
    while url:
        response = api_client.get(url)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"links", "results"}
        assert body["links"]["self"].startswith("http://testserver/t/cursor")
        seen += [u["email"] for u in body["results"]]
        url = body["links"]["next"]
        pages += 1

    # then it sees every user once, newest first, in three pages
    assert pages == 3
    assert seen == [u.email for u in reversed(five_users)]


def test_cursor_pagination_links_back(api_client, five_users):
    second = api_client.get(api_client.get("/t/cursor?page_size=2").json()["links"]["next"])
    previous = second.json()["links"]["previous"]

    body = api_client.get(previous).json()

    assert [u["email"] for u in body["results"]] == ["u4@example.com", "u3@example.com"]
    assert body["links"]["previous"] is None


def test_a_tampered_cursor_is_a_400_on_the_cursor_field(api_client, five_users):
    body = assert_problem(api_client.get("/t/cursor?cursor=garbage"), 400, "validation_error")
    assert body["errors"]["cursor"][0]["code"] == "invalid_cursor"


def test_the_cursor_page_size_is_capped_too(api_client, five_users, settings):
    settings.API_MAX_PAGE_SIZE = 2

    body = api_client.get("/t/cursor?page_size=500").json()

    assert len(body["results"]) == 2


def test_both_paginators_document_links_in_the_schema():
    item = {"type": "object"}
    for paginator in (PageNumberPagination(), CursorPagination()):
        schema = paginator.get_paginated_response_schema(item)
        assert schema["properties"]["results"] is item
        assert set(schema["properties"]["links"]["required"]) == {"self", "next", "previous"}
