"""REST: /api/v1/notifications/ — the own notifications, catch-up and read state."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from storefront.core.testing import assert_problem
from storefront.notifications.models import Notification

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
READ_ALL = "/api/v1/notifications/read-all/"


def detail(notification) -> str:
    return f"/api/v1/notifications/{notification.pk}/"


def read(notification) -> str:
    return f"/api/v1/notifications/{notification.pk}/read/"


def notify(user, kind="order.status", *, minutes_ago=0, read=False, **payload):
    created = timezone.now() - timedelta(minutes=minutes_ago)
    return Notification.objects.create(
        user=user,
        kind=kind,
        payload=payload or {"order": "o-1", "status": "paid"},
        created_at=created,
        read_at=created if read else None,
    )


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["results"]]


# --- list -----------------------------------------------------------------------


def test_list_shows_own_notifications_newest_first(client_for, user, other_user):
    # Given notifications for the user and for someone else
    older = notify(user, minutes_ago=5)
    newer = notify(user, minutes_ago=1)
    notify(other_user)

    # When the user lists theirs
    response = client_for(user).get(LIST)

    # Then they see only their own, newest first, with links
    assert response.status_code == 200
    assert ids(response) == [str(newer.pk), str(older.pk)]
    item = response.json()["results"][0]
    assert item == {
        "id": str(newer.pk),
        "url": f"http://testserver{detail(newer)}",
        "read_url": f"http://testserver{read(newer)}",
        "kind": "order.status",
        "payload": {"order": "o-1", "status": "paid"},
        "created_at": newer.created_at.isoformat().replace("+00:00", "Z"),
        "read_at": None,
    }
    assert set(response.json()["links"]) == {"self", "next", "previous"}


def test_list_is_cursor_paginated(client_for, user):
    # Given five notifications
    made = [notify(user, minutes_ago=i) for i in range(5)]

    # When they are fetched two by two, following links.next
    client = client_for(user)
    seen, url = [], f"{LIST}?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [item["id"] for item in body["results"]]
        url = body["links"]["next"]

    # Then every notification comes exactly once, newest first
    assert seen == [str(n.pk) for n in made]


def test_unread_filter(client_for, user):
    unread = notify(user)
    read_one = notify(user, minutes_ago=1, read=True)
    client = client_for(user)

    assert ids(client.get(f"{LIST}?unread=true")) == [str(unread.pk)]
    assert ids(client.get(f"{LIST}?unread=false")) == [str(read_one.pk)]


def test_since_returns_what_was_created_strictly_after(client_for, user):
    # Given a notification the client received before its socket dropped, and two after
    seen = notify(user, minutes_ago=10)
    missed = [notify(user, minutes_ago=5), notify(user, minutes_ago=1)]

    # When the reconnecting client asks for what came after the last one it saw
    since = seen.created_at.isoformat().replace("+00:00", "Z")
    response = client_for(user).get(LIST, {"since": since})

    # Then it gets exactly the ones it missed (not the one it had)
    assert response.status_code == 200
    assert ids(response) == [str(n.pk) for n in reversed(missed)]


def test_since_accepts_an_explicit_offset(client_for, user):
    notify(user, minutes_ago=10)
    recent = notify(user)
    since = (timezone.now() - timedelta(minutes=1)).astimezone().isoformat()

    response = client_for(user).get(LIST, {"since": since})  # the client encodes "+"

    assert ids(response) == [str(recent.pk)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("since=2026-13-45T00:00:00Z", "since"),
        ("unread=maybe", "unread"),
    ],
)
def test_bad_filter_is_a_400_problem(client_for, user, query, field):
    response = client_for(user).get(f"{LIST}?{query}")

    body = assert_problem(response, 400, "validation_error")
    assert field in body["errors"]


def test_list_query_count_does_not_grow_with_the_page(client_for, user, django_assert_num_queries):
    client = client_for(user)
    notify(user)
    # user (JWT) + page
    with django_assert_num_queries(2):
        assert len(client.get(LIST).json()["results"]) == 1

    for i in range(15):
        notify(user, minutes_ago=i + 1)
    with django_assert_num_queries(2):
        assert len(client.get(LIST).json()["results"]) == 16


# --- detail ---------------------------------------------------------------------


def test_owner_gets_their_notification(client_for, user, django_assert_num_queries):
    notification = notify(user)
    client = client_for(user)

    with django_assert_num_queries(2):  # user (JWT) + notification
        response = client.get(detail(notification))

    assert response.status_code == 200
    assert response.json()["id"] == str(notification.pk)


def test_someone_elses_notification_is_404(client_for, user, other_user):
    # Given another user's notification
    notification = notify(other_user)

    # When the user asks for it, then it does not exist for them
    assert_problem(client_for(user).get(detail(notification)), 404, "not_found")
    assert_problem(client_for(user).post(read(notification)), 404, "not_found")
    assert Notification.objects.get(pk=notification.pk).read_at is None


def test_unknown_notification_is_404(client_for, user):
    response = client_for(user).get(f"/api/v1/notifications/{uuid4()}/")

    assert_problem(response, 404, "not_found")


# --- read -----------------------------------------------------------------------


def test_mark_read_returns_the_notification_read(client_for, user, django_assert_num_queries):
    notification = notify(user)
    client = client_for(user)

    with django_assert_num_queries(3):  # user + notification + update
        response = client.post(read(notification))

    assert response.status_code == 200
    assert response.json()["id"] == str(notification.pk)
    assert response.json()["read_at"] is not None
    assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_mark_read_is_idempotent(client_for, user):
    notification = notify(user)
    client = client_for(user)

    first = client.post(read(notification)).json()["read_at"]
    second = client.post(read(notification))

    assert second.status_code == 200
    assert second.json()["read_at"] == first


def test_read_all_marks_own_unread_and_returns_the_count(
    client_for, user, other_user, django_assert_num_queries
):
    notify(user)
    notify(user, minutes_ago=1)
    notify(user, minutes_ago=2, read=True)
    theirs = notify(other_user)
    client = client_for(user)

    with django_assert_num_queries(2):  # user + one UPDATE
        response = client.post(READ_ALL)

    assert response.status_code == 200
    assert response.json() == {"count": 2}
    assert client.post(READ_ALL).json() == {"count": 0}
    assert Notification.objects.get(pk=theirs.pk).read_at is None


# --- methods and roles ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("get", "detail"),
        ("post", "read"),
        ("post", READ_ALL),
    ],
)
def test_anonymous_is_401(api_client, user, method, url):
    notification = notify(user)
    url = {"detail": detail(notification), "read": read(notification)}.get(url, url)

    response = getattr(api_client, method)(url)

    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", LIST),
        ("put", LIST),
        ("delete", LIST),
        ("put", "detail"),
        ("patch", "detail"),
        ("delete", "detail"),
        ("post", "detail"),
        ("get", "read"),
        ("put", "read"),
        ("delete", "read"),
        ("get", READ_ALL),
        ("put", READ_ALL),
        ("delete", READ_ALL),
    ],
)
def test_unsupported_methods_are_405(client_for, user, method, url):
    notification = notify(user)
    url = {"detail": detail(notification), "read": read(notification)}.get(url, url)

    response = getattr(client_for(user), method)(url)

    assert_problem(response, 405, "method_not_allowed")
    assert Notification.objects.filter(pk=notification.pk).exists()


def test_api_root_links_to_notifications(api_client):
    links = api_client.get("/api/v1/").json()["links"]

    assert links["notifications"] == "http://testserver/api/v1/notifications/"


# --- OpenAPI ----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_every_operation_is_documented(version):
    schema = SchemaGenerator(api_version=version).get_schema(request=None, public=True)
    operations = {
        (path, method): operation
        for path, item in schema["paths"].items()
        if "/notifications/" in path
        for method, operation in item.items()
    }

    assert set(operations) == {
        (f"/api/{version}/notifications/", "get"),
        (f"/api/{version}/notifications/{{id}}/", "get"),
        (f"/api/{version}/notifications/{{id}}/read/", "post"),
        (f"/api/{version}/notifications/read-all/", "post"),
    }
    for operation in operations.values():
        assert operation["summary"]
        assert operation["description"]
        assert {"200", "401", "404"} <= set(operation["responses"])
    list_params = {
        p["name"] for p in operations[(f"/api/{version}/notifications/", "get")]["parameters"]
    }
    assert {"since", "unread", "cursor", "page_size"} <= list_params
