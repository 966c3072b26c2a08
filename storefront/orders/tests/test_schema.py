"""The orders endpoints are documented in OpenAPI, in every API version."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_every_orders_operation_is_documented(version):
    schema = SchemaGenerator(api_version=version).get_schema(request=None, public=True)
    base = f"/api/{version}/orders/"
    operations = {
        (path, method): op
        for path, item in schema["paths"].items()
        if path.startswith(base)
        for method, op in item.items()
    }

    assert set(operations) == {
        (base, "get"),
        (base, "post"),
        (base + "{id}/", "get"),
        (base + "{id}/cancel/", "post"),
        (base + "{id}/fulfil/", "post"),
    }
    for (path, method), op in operations.items():
        assert op["summary"], (path, method)
        assert op["description"], (path, method)
        assert op["tags"] == ["orders"]
        assert "401" in op["responses"]
        assert "404" in op["responses"]
    for key in [(base, "post"), (base + "{id}/cancel/", "post")]:
        parameters = {p["name"] for p in operations[key]["parameters"]}
        assert "Idempotency-Key" in parameters
        assert {"409", "422"} <= set(operations[key]["responses"])
    assert "409" not in operations[(base, "get")]["responses"]
    assert "503" in operations[(base + "{id}/cancel/", "post")]["responses"]
