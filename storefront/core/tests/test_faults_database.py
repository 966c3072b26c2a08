"""PostgreSQL unreachable: clean 503 problems while it is down, recovery after.

The in-process tests pin the mapping (django.db OperationalError/InterfaceError
become 503 service_unavailable, in DRF views and in plain Django views alike).
The slow test restarts a private PostgreSQL cluster under the running server.
"""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
import requests
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from storefront.core.testing import assert_problem
from storefront.core.tests.faults import PrivatePostgres, full_env, poll, server


class DatabaseDownAPIView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')


def database_down_django_view(request) -> HttpResponse:
    raise InterfaceError("connection already closed")


def runtime_error_django_view(request) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [
    path("t/db-down-api", DatabaseDownAPIView.as_view()),
    path("t/db-down-django", database_down_django_view),
    path("t/bug-django", runtime_error_django_view),
]
handler500 = "storefront.core.exceptions.server_error"


@pytest.mark.urls(__name__)
def test_api_view_losing_the_database_answers_503_service_unavailable(api_client):
    response = api_client.get("/t/db-down-api")

    body = assert_problem(response, 503, "service_unavailable")
    assert "5432" not in body["detail"]  # the driver's message stays in the logs
    assert response["Retry-After"] == "5"


@pytest.mark.urls(__name__)
def test_django_view_losing_the_database_answers_503_service_unavailable():
    response = Client(raise_request_exception=False).get("/t/db-down-django")

    assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"


@pytest.mark.urls(__name__)
def test_other_errors_in_django_views_stay_500():
    response = Client(raise_request_exception=False).get("/t/bug-django")

    assert_problem(response, 500, "server_error")


# --- A private PostgreSQL cluster restarted under the running server --------

# Run in a subprocess against the private cluster: schema, a customer, a token.
PREPARE = """
import django

django.setup()
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken

from storefront.accounts.models import User

call_command("migrate", verbosity=0)
user = User.objects.create_user(email="pg-restart@example.com", password="x" * 20)
print(AccessToken.for_user(user))
"""


@pytest.fixture
def private_postgres():
    cluster = PrivatePostgres()
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE storefront")
        yield cluster
    finally:
        cluster.destroy()


@pytest.mark.slow
def test_postgres_restart_gives_503s_then_recovers_without_restarting_the_server(
    private_postgres,
):
    # Given the server running on a private PostgreSQL cluster
    env = full_env(
        DATABASE_URL=private_postgres.url("storefront"), DB_CONNECT_TIMEOUT="2", DB_POOL_TIMEOUT="2"
    )
    prepared = subprocess.run(
        [sys.executable, "-c", PREPARE],
        env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    token = prepared.stdout.strip().splitlines()[-1]
    with server(env) as (base, web):
        orders = f"{base}/api/v1/orders/"
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(orders, headers=headers, timeout=15).status_code == 200

        # When PostgreSQL stops abruptly
        private_postgres.stop("immediate")

        # Then requests fail fast and cleanly: a 503 problem, never a 500
        for _ in range(3):
            response = requests.get(orders, headers=headers, timeout=15)
            assert response.status_code == 503, (response.text, web.output())
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.json()["code"] == "service_unavailable"
            assert response.headers["Retry-After"]
        ready = requests.get(f"{base}/readyz", timeout=15)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unavailable")

        # When it is back
        private_postgres.start()

        # Then the same server answers again on its own (the pool checks connections
        # before use and reconnects in the background, with backoff)
        poll(
            lambda: requests.get(orders, headers=headers, timeout=15).status_code == 200,
            timeout=45,
        )
        assert requests.get(f"{base}/readyz", timeout=15).status_code == 200
        assert "Traceback" not in web.output()
