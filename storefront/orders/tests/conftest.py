"""Fixtures of the orders tests.

Celery runs eagerly (in-process, still after commit) unless a test asks for
`celery_worker`, an in-thread worker consuming from the configured broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection
from rest_framework.test import APIClient

from storefront.celery import app as celery_app
from storefront.orders.tests.factories import StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _celery_mode(request, monkeypatch, settings) -> None:
    eager = "celery_worker" not in request.fixturenames
    monkeypatch.setitem(celery_app.conf, "task_always_eager", eager)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    # Retries wait 0 s in tests (the backoff is exercised, its waits are not).
    settings.ORDER_PAYMENT_RETRY_BACKOFF_MAX = 0


def _close_db_connection(**kwargs) -> None:
    # The worker thread's connection must not outlive the test database.
    connection.close()


@pytest.fixture
def celery_worker() -> Iterator[object]:
    """A real worker (solo pool, in a thread) on the broker in settings (Redis).

    Stale messages left in the queue by an aborted run are purged first.
    """
    celery_app.control.purge()
    task_postrun.connect(_close_db_connection, weak=False)
    try:
        with start_worker(
            celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(_close_db_connection)


@pytest.fixture
def customer():
    return UserFactory()


@pytest.fixture
def other_customer():
    return UserFactory()


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def client_for() -> Callable[[object], APIClient]:
    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
