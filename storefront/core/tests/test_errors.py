"""One error format for every error, DRF's and Django's: RFC 9457 problem details."""

import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import UserFactory
from storefront.core.exceptions import _flatten_errors, problem
from storefront.core.testing import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.urls("storefront.core.tests.urls_errors")]


def test_problem_body_has_the_rfc_9457_members_and_a_stable_code(api_client):
    # when an API view raises a domain conflict
    response = api_client.get("/t/conflict")

    # then the body is a problem with its own code, type derived from it
    body = assert_problem(response, 409, "paid")
    assert body["type"] == "urn:storefront:problem:paid"
    assert body["title"] == "Conflict"
    assert body["detail"] == "The order is already paid."
    assert body["instance"] == "/t/conflict"


def test_domain_exceptions_have_default_codes(api_client):
    body = assert_problem(api_client.get("/t/unprocessable"), 422, "unprocessable")
    assert body["detail"] == "The request is well-formed but cannot be processed."


def test_unexpected_error_is_a_500_problem_without_traceback(api_client, caplog):
    # given an API view raising an unexpected exception
    with caplog.at_level(logging.ERROR, logger="storefront.errors"):
        response = api_client.get("/t/runtime")

    # then the client sees a generic 500, never the exception's text
    body = assert_problem(response, 500, "server_error")
    assert b"secret detail" not in response.content
    assert b"Traceback" not in response.content
    # and the traceback is logged, with the request id quoted in the body
    record = next(r for r in caplog.records if r.name == "storefront.errors")
    assert record.exc_info is not None
    assert body["request_id"]


def test_an_unexpected_error_is_logged_once(api_client, caplog):
    with caplog.at_level(logging.WARNING):
        assert api_client.get("/t/runtime").status_code == 500

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["storefront.errors"]  # not django.request again


def test_django_http404_in_an_api_view_is_not_found(api_client):
    assert_problem(api_client.get("/t/http404"), 404, "not_found")


def test_django_permission_denied_in_an_api_view_is_forbidden(api_client):
    assert_problem(api_client.get("/t/forbidden"), 403, "permission_denied")


def test_django_validation_error_in_an_api_view_is_a_400_with_field_errors(api_client):
    body = assert_problem(api_client.get("/t/django-validation"), 400, "validation_error")
    assert body["errors"] == {"name": [{"code": "invalid", "message": "Too short."}]}
    assert body["detail"] == "name: Too short."


def test_django_validation_error_without_fields_is_a_non_field_error(api_client):
    body = assert_problem(api_client.get("/t/django-validation-list"), 400, "validation_error")
    assert body["errors"] == {"non_field_errors": [{"code": "invalid", "message": "Not allowed."}]}


def test_validation_errors_are_flattened_to_dotted_paths(api_client):
    # given an order with a nested object, a list of objects and a list of values
    payload = {
        "address": {},
        "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 0}],
        "tags": ["ok", "not ok"],
    }

    # when it is validated
    response = api_client.post("/t/validate", payload, format="json")

    # then each error is under its dotted path, with DRF's stable code
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"] == {
        "address.city": [{"code": "required", "message": "This field is required."}],
        "lines.1.quantity": [
            {"code": "min_value", "message": "Ensure this value is greater than or equal to 1."}
        ],
        "tags.1": [
            {
                "code": "invalid",
                "message": 'Enter a valid "slug" consisting of letters, numbers, '
                "underscores or hyphens.",
            }
        ],
    }


def test_a_valid_payload_passes_the_validation_view(api_client):
    payload = {"address": {"city": "Lyon"}, "lines": [{"sku": "A", "quantity": 2}], "tags": []}
    assert api_client.post("/t/validate", payload, format="json").status_code == 204


def test_405_and_415_are_problems(api_client):
    assert_problem(api_client.delete("/t/validate"), 405, "method_not_allowed")
    response = api_client.post("/t/validate", "city=Lyon", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")


def test_401_carries_www_authenticate(api_client):
    response = api_client.get("/api/v1/auth/me/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_djangos_404_for_an_unknown_url_is_a_problem():
    response = Client().get("/nope")
    body = assert_problem(response, 404, "not_found")
    assert body["instance"] == "/nope"


def test_djangos_500_is_a_problem_without_traceback():
    # given a plain Django view (outside DRF) that crashes
    client = Client(raise_request_exception=False)

    response = client.get("/t/plain-runtime")

    body = assert_problem(response, 500, "server_error")
    assert "secret detail" not in body["detail"]
    assert b"Traceback" not in response.content


def test_djangos_403_is_a_problem():
    assert_problem(Client().get("/t/plain-forbidden"), 403, "permission_denied")


def test_djangos_400_for_a_disallowed_host_is_a_problem():
    assert_problem(Client().get("/t/plain-ok", HTTP_HOST="evil.example"), 400, "invalid")


def test_csrf_failure_outside_drf_is_a_problem():
    # given a browser session posting to Django's admin without a CSRF token
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": "a@b.io", "password": "x"})

    body = assert_problem(response, 403, "csrf_failed")
    assert "CSRF" in body["detail"]


def test_csrf_failure_on_a_session_authenticated_api_write_is_a_problem():
    # given a user logged in with a session (the browsable API, the admin)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory())

    # when an unsafe request comes without the CSRF token
    response = client.patch("/api/v1/auth/me/", {"first_name": "Eve"}, format="json")

    # then it is refused with the same code as Django's CSRF failure
    body = assert_problem(response, 403, "csrf_failed")
    assert "CSRF" in body["detail"]


def test_flatten_keeps_empty_list_items_out():
    assert _flatten_errors([{}, {"a": ["x"]}], "items") == {
        "items.1.a": [{"code": "invalid", "message": "x"}]
    }


def test_problem_for_an_unknown_status_has_a_generic_title():
    body = problem(status_code=499)
    assert body["title"] == "Error"
    assert body["code"] == "error"
