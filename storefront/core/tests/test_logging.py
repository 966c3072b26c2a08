"""Request ids: accepted when sane, generated otherwise, returned and logged;
JSON log lines with the fields operators search by."""

import json
import logging
import sys

import pytest

from storefront.core.logging import JSONFormatter, RequestIdFilter, install_record_factory
from storefront.core.middleware import current_request_id
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db


def test_a_valid_incoming_request_id_is_echoed(api_client):
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID="gw-1234.abc:5_6")

    assert response["X-Request-ID"] == "gw-1234.abc:5_6"


def test_a_request_id_is_generated_when_absent(api_client):
    first = api_client.get("/healthz")["X-Request-ID"]
    second = api_client.get("/healthz")["X-Request-ID"]

    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize(
    "bad",
    ["x" * 129, "has space", "new\nline", "semi;colon", "<script>", ""],
    ids=["too-long", "space", "newline", "semicolon", "markup", "empty"],
)
def test_an_invalid_incoming_request_id_is_replaced(api_client, bad):
    # log injection and header abuse stop here
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID=bad)

    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


def test_error_bodies_carry_the_request_id(api_client):
    response = api_client.get("/api/v1/auth/me/", HTTP_X_REQUEST_ID="trace-42")

    body = assert_problem(response, 401, "not_authenticated")
    assert body["request_id"] == "trace-42"


def test_every_log_record_of_the_request_carries_its_id(api_client, caplog):
    # when a request is served
    with caplog.at_level(logging.INFO):
        api_client.get("/api/v1/", HTTP_X_REQUEST_ID="trace-7")

    # then its access log line carries the id and the request's facts
    access = [r for r in caplog.records if r.name == "storefront.access"]
    assert len(access) == 1
    record = access[0]
    assert record.request_id == "trace-7"
    assert record.method == "GET"
    assert record.path == "/api/v1/"
    assert record.status == 200
    assert record.duration_ms >= 0
    assert record.user_id is None
    # and the id does not outlive the request
    assert current_request_id() is None


def test_the_access_log_names_the_authenticated_user(api_client, caplog):
    from storefront.accounts.tests.factories import UserFactory

    user = UserFactory()
    api_client.force_authenticate(user)
    with caplog.at_level(logging.INFO, logger="storefront.access"):
        api_client.get("/api/v1/auth/me/")

    assert caplog.records[-1].user_id == str(user.pk)


def test_records_outside_a_request_have_a_placeholder_id(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("storefront.test").info("no request here")

    assert caplog.records[-1].request_id == "-"


def test_installing_the_record_factory_twice_wraps_once():
    before = logging.getLogRecordFactory()
    install_record_factory()
    assert logging.getLogRecordFactory() is before


def test_the_filter_fills_the_id_of_records_made_without_the_factory():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)

    assert RequestIdFilter().filter(record) is True
    assert record.request_id == "-"


def test_json_formatter_writes_one_parseable_line_with_extras():
    # given a record with extras, as our code logs them
    record = logging.getLogger("storefront.orders").makeRecord(
        "storefront.orders",
        logging.WARNING,
        __file__,
        10,
        "order %s cancelled",
        ("A1",),
        None,
        extra={"order_id": "A1", "amount": 3},
    )
    record.request_id = "trace-9"

    line = JSONFormatter().format(record)

    # then it is one JSON object with the standard fields and the extras
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "storefront.orders"
    assert entry["message"] == "order A1 cancelled"
    assert entry["request_id"] == "trace-9"
    assert entry["order_id"] == "A1"
    assert entry["amount"] == 3
    assert entry["ts"].endswith("+00:00")


def test_json_formatter_includes_the_traceback_of_exceptions():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.makeLogRecord(
            {"msg": "failed", "levelname": "ERROR", "exc_info": sys.exc_info()}
        )

    entry = json.loads(JSONFormatter().format(record))

    assert "ValueError: boom" in entry["exc_info"]


def test_json_formatter_stringifies_what_json_cannot_hold():
    record = logging.makeLogRecord({"msg": "x", "thing": object()})

    entry = json.loads(JSONFormatter().format(record))

    assert entry["thing"].startswith("<object object")


def test_the_request_id_works_under_asgi_as_uvicorn_serves_it():
    # (the chain has sync-only middleware, so Django runs ours in sync mode
    # even under ASGI: the request id must survive that thread hop)
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()

    response = async_to_sync(client.get)("/healthz", headers={"X-Request-ID": "async-1"})

    assert response.status_code == 200
    assert response["X-Request-ID"] == "async-1"
