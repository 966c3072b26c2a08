"""The notification model: its read state and the QuerySet methods views use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from storefront.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_new_notification_is_unread_and_newest_first(user):
    older = Notification.objects.create(
        user=user, kind="a", created_at=timezone.now() - timedelta(minutes=1)
    )
    newer = Notification.objects.create(user=user, kind="b")

    assert not newer.is_read
    assert list(Notification.objects.all()) == [newer, older]
    assert str(newer) == f"b for {user.pk}"


def test_created_after_is_strictly_after(user):
    moment = timezone.now()
    at = Notification.objects.create(user=user, kind="at", created_at=moment)
    after = Notification.objects.create(
        user=user, kind="after", created_at=moment + timedelta(microseconds=1)
    )

    assert list(Notification.objects.created_after(moment)) == [after]
    assert at not in Notification.objects.created_after(moment)


def test_unread_excludes_read(user):
    unread = Notification.objects.create(user=user, kind="a")
    Notification.objects.create(user=user, kind="b", read_at=timezone.now())

    assert list(Notification.objects.unread()) == [unread]
