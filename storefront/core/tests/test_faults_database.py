"""PostgreSQL unreachable: clean 503 problems while it is down, recovery after.

The in-process tests pin the mapping (django.db OperationalError/InterfaceError
become 503 service_unavailable, in DRF views and in plain Django views alike).
The slow test restarts a private PostgreSQL cluster under the running server.
"""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from storefront.core.testing import assert_problem


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
