"""Contract fuzzing: schemathesis against the generated OpenAPI schema, in-process.

For each API version and each role (anonymous, customer, staff), every
operation of the schema gets requests generated from the schema (valid and
invalid), sent to the Django application through WSGI in this process (so
inside the test's database transaction), and every response must:

* never be a 5xx;
* have a status code the schema documents for that operation;
* have the documented content type and match the documented body schema.

`make test` runs a bounded pass (FUZZ_MAX_EXAMPLES, small); `make fuzz` runs
the same test with more examples and the coverage phase (FUZZ_DEEP=1).
"""

from __future__ import annotations

import os

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import checks
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as openapi_checks

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.tests.factories import ProductFactory, ReviewFactory

pytestmark = pytest.mark.django_db

DEEP = os.environ.get("FUZZ_DEEP", "") not in {"", "0", "false"}
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40" if DEEP else "3"))

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]

_CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": DEEP},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    }
)

_APP = get_wsgi_application()


def _schema_for(version: str) -> dict:
    return SchemaGenerator(api_version=version).get_schema(request=None, public=True)


def _schema(version: str):
    loaded = schemathesis.openapi.from_dict(_schema_for(version), config=_CONFIG)
    loaded.app = _APP
    return loaded


schema_v1 = _schema("v1")
schema_v2 = _schema("v2")


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes "old" connections around each request, which
    inside the test transaction is the test's own (Django's test client
    disconnects the same signal handlers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["anonymous", "customer", "staff"])
def role_headers(request, settings) -> dict[str, str]:
    # Throttles would turn the run into a stream of 429s; they have their own tests.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "auth": None},
    }
    # Something to render: a product with a review.
    ReviewFactory(product=ProductFactory())
    if request.param == "anonymous":
        return {}
    user = UserFactory() if request.param == "customer" else StaffFactory()
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


_SETTINGS = hypothesis.settings(
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=not DEEP,
)


@schema_v1.parametrize()
@_SETTINGS
def test_v1_honours_its_contract(case, role_headers):
    case.call_and_validate(headers=role_headers, checks=CHECKS)


@schema_v2.parametrize()
@_SETTINGS
def test_v2_honours_its_contract(case, role_headers):
    case.call_and_validate(headers=role_headers, checks=CHECKS)
