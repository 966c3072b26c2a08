"""Serializer fields for hypermedia."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.reverse import reverse


class LinkField(serializers.Field):
    """A read-only absolute URL to a named route that takes no object lookup.

    Respects the request's API version (URL path versioning).
    """

    def __init__(self, view_name: str, **kwargs) -> None:
        self.view_name = view_name
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, value) -> str:
        request = self.context.get("request")
        return reverse(self.view_name, request=request)


try:  # document the field as a URI string in the OpenAPI schema
    from drf_spectacular.extensions import OpenApiSerializerFieldExtension

    class LinkFieldExtension(OpenApiSerializerFieldExtension):
        target_class = LinkField

        def map_serializer_field(self, auto_schema, direction):
            return {"type": "string", "format": "uri", "readOnly": True}

except ImportError:  # pragma: no cover
    pass
