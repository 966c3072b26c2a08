"""OpenAPI: served per version, documented fully, committed and kept fresh.

The completeness test runs over every operation of every version, so it also
holds each app's new endpoints to the same standard.
"""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db

DOCS = Path(settings.BASE_DIR) / "docs" / "api"
SCHEMA_FILES = {"v1": DOCS / "openapi.yaml", "v2": DOCS / "openapi-v2.yaml"}
# Operations that cannot answer with an error, and why.
NO_ERROR_RESPONSE = {
    "GET /healthz": "liveness: any answer at all means alive",
}
HTTP_METHODS = {"get", "put", "patch", "post", "delete", "head", "options", "trace"}


def _operations(version: str):
    schema = SchemaGenerator(api_version=version).get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def test_schema_defaults_to_v1(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/me/" in schema["paths"]
    assert not any(p.startswith("/api/v2/") for p in schema["paths"])


def test_schema_of_v2_on_request(api_client):
    response = api_client.get("/api/schema/?version=v2", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v2/auth/me/" in paths
    assert not any(p.startswith("/api/v1/") for p in paths)


def test_schema_of_an_unknown_version_is_a_404_problem_in_json(api_client):
    body = assert_problem(api_client.get("/api/schema/?version=v9"), 404, "not_found")
    assert "v9" in body["detail"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_their_assets_from_this_server(url, settings):
    # given static files served from the installed apps (as after collectstatic)
    settings.WHITENOISE_USE_FINDERS = True
    client = Client()

    # when the docs page is fetched
    response = client.get(url)

    # then it renders, and every script it references is ours and is served
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r'src="([^"]+\.js)"', html)
    assert scripts, html[:500]
    for src in scripts:
        assert src.startswith("/static/"), f"{url} loads {src} from elsewhere"
        assert client.get(src).status_code == 200, src
    if url == "/api/docs/":
        # Swagger UI's start-up script is served by the page's own URL, not
        # inline (the Content-Security-Policy allows scripts from 'self' only).
        assert '<script src="/api/docs/?script="></script>' in html
        html = client.get(f"{url}?script=").content.decode()
    assert "/api/schema/" in html


@pytest.mark.parametrize("version", settings.API_VERSIONS)
def test_every_operation_is_documented_with_its_errors(version):
    # given every operation the API exposes in this version
    problems = []
    for name, operation in _operations(version):
        # then each one has a summary, a description and tags
        for key in ("summary", "description", "tags"):
            if not operation.get(key):
                problems.append(f"{name}: no {key}")
        # and documents at least one error response, as problem details
        errors = {c: r for c, r in operation["responses"].items() if c[0] in "45"}
        if not errors and name not in NO_ERROR_RESPONSE:
            problems.append(f"{name}: no error response")
        for code, response in errors.items():
            content = response.get("content", {})
            if "application/problem+json" not in content:
                problems.append(f"{name}: {code} is not application/problem+json")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    sorted(
        name.split(" ", 1)[1]
        for name, _ in _operations("v1")
        if name.startswith("GET ") and "{" not in name and "/schema/" not in name
    ),
)
def test_an_accept_header_nothing_satisfies_is_the_documented_406(path, api_client):
    # given an operation, which documents 406
    operation = dict(_operations("v1"))[f"GET {path}"]
    assert "406" in operation["responses"]

    # when a client accepts only a media type the API never produces
    response = api_client.get(path, HTTP_ACCEPT="text/csv")

    # then the answer is that 406, as problem details
    assert_problem(response, 406, "not_acceptable")


def test_writes_document_validation_and_media_type_errors():
    operations = dict(_operations("v1"))

    register = operations["POST /api/v1/auth/register/"]["responses"]
    assert {"400", "415", "429"} <= set(register)
    assert "401" not in register  # public endpoint
    assert "202" in register  # the same answer whether or not the address is taken
    verify = operations["POST /api/v1/auth/verify/"]["responses"]
    assert {"200", "400", "415", "429"} <= set(verify)
    assert "401" not in verify
    me = operations["PATCH /api/v1/auth/me/"]["responses"]
    assert {"400", "401", "403", "404", "415"} <= set(me)
    assert "401" in operations["POST /api/v1/auth/logout/"]["responses"]


def test_unthrottled_unversioned_probes_do_not_claim_429_or_404():
    responses = dict(_operations("v1"))["GET /healthz"]["responses"]
    assert "429" not in responses
    assert "404" not in responses


@pytest.mark.parametrize("version", settings.API_VERSIONS)
def test_committed_schema_files_are_up_to_date(version, tmp_path):
    # given the schema as the code generates it now (as `make schema` does)
    fresh = tmp_path / "openapi.yaml"
    call_command("spectacular", api_version=version, file=str(fresh), validate=True)

    # then the committed file is the same
    committed = SCHEMA_FILES[version]
    assert committed.exists(), f"{committed} is missing: run make schema"
    assert committed.read_text() == fresh.read_text(), (
        f"{committed.name} is stale (the API changed): run make schema and commit it"
    )
