"""The notification admin renders for a superuser, read-only, with bounded queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.accounts.models import User
from storefront.accounts.tests.factories import UserFactory
from storefront.notifications.models import Notification

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/notification/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root@example.com", "x"))
    return client


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_changelist_and_detail_render_and_are_read_only(admin_client):
    notification = Notification.objects.create(
        user=UserFactory(email="ann@example.com"), kind="order.status", payload={"n": 1}
    )

    changelist = admin_client.get(f"{CHANGELIST}?q=ann")
    assert changelist.status_code == 200
    assert "ann@example.com" in changelist.content.decode()
    detail = admin_client.get(f"{CHANGELIST}{notification.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


def test_changelist_query_count_does_not_grow_with_rows(admin_client):
    Notification.objects.create(user=UserFactory(), kind="a")
    few = _queries(admin_client, CHANGELIST)

    for _ in range(10):
        Notification.objects.create(user=UserFactory(), kind="a")

    assert _queries(admin_client, CHANGELIST) == few
