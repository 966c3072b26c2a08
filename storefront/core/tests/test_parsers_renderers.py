"""orjson in and out; broken bodies are 400 problems; the browsable API still works."""

import io
import uuid
from decimal import Decimal

import orjson
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ParseError

from storefront.accounts.tests.factories import UserFactory
from storefront.core.parsers import ORJSONParser
from storefront.core.renderers import ORJSONRenderer, dumps
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"


def test_malformed_json_is_a_400_parse_error(api_client):
    response = api_client.post(REGISTER, '{"email": ', content_type="application/json")

    body = assert_problem(response, 400, "parse_error")
    assert body["detail"].startswith("Malformed JSON")


def test_too_deeply_nested_json_is_a_400_parse_error(api_client):
    # orjson refuses documents nested deeper than 1024 levels (no stack overflow)
    deep = "[" * 2000 + "]" * 2000

    response = api_client.post(REGISTER, deep, content_type="application/json")

    assert_problem(response, 400, "parse_error")


def test_an_empty_body_is_a_400_naming_the_required_fields(api_client):
    # DRF does not call the parser for an empty body: the data is {} and the
    # serializer says what is missing, which tells the client more.
    response = api_client.post(REGISTER, b"", content_type="application/json")

    body = assert_problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"email", "password"}


def test_the_parser_itself_rejects_an_empty_stream():
    with pytest.raises(ParseError, match="empty"):
        ORJSONParser().parse(io.BytesIO(b""))
    with pytest.raises(ParseError, match="empty"):
        ORJSONParser().parse(None)


def test_the_parser_rejects_a_body_over_the_upload_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10

    with pytest.raises(ParseError, match="larger than 10 bytes"):
        ORJSONParser().parse(io.BytesIO(b'{"a": "0123456789"}'))


def test_the_parser_reads_utf8_json():
    assert ORJSONParser().parse(io.BytesIO('{"name": "Zoë"}'.encode())) == {"name": "Zoë"}


def test_the_renderer_writes_decimals_as_strings_and_uuids_lazies_sets_as_json():
    ident = uuid.UUID(int=1)
    data = {
        "price": Decimal("9.90"),
        "id": ident,
        "label": gettext_lazy("Not Found"),
        "tags": ("a",),
        "ids": frozenset([1]),
        "gen": (i for i in range(2)),
    }

    assert orjson.loads(dumps(data)) == {
        "price": "9.90",
        "id": str(ident),
        "label": "Not Found",
        "tags": ["a"],
        "ids": [1],
        "gen": [0, 1],
    }


def test_the_renderer_refuses_what_it_cannot_represent():
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_the_renderer_renders_none_as_an_empty_body():
    assert ORJSONRenderer().render(None) == b""


def test_the_renderer_indents_when_asked():
    rendered = ORJSONRenderer().render({"a": 1}, "application/json; indent=4", {})
    assert rendered == b'{\n  "a": 1\n}'


def test_json_responses_use_the_orjson_renderer(api_client):
    response = api_client.get("/api/v1/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert orjson.loads(response.content)["version"] == "v1"


def test_the_browsable_api_renders_html(api_client):
    response = api_client.get("/api/v1/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"<html" in response.content


def test_the_browsable_api_renders_forms_for_a_logged_in_user(api_client):
    api_client.force_login(UserFactory())

    response = api_client.get("/api/v1/auth/me/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"first_name" in response.content
