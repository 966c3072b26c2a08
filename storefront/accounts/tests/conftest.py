"""Fixtures of the accounts tests.

Celery runs eagerly: a registration e-mail is sent in-process once the
transaction commits (with django_capture_on_commit_callbacks(execute=True) in a
test), and lands in Django's locmem outbox (mail.outbox).
"""

from __future__ import annotations

import pytest

from storefront.celery import app as celery_app


@pytest.fixture(autouse=True)
def _celery_eager(monkeypatch) -> None:
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
