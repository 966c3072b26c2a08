"""Serializers shared across apps (used by the OpenAPI schema for errors)."""

from __future__ import annotations

from rest_framework import serializers


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. 'required'.")
    message = serializers.CharField(help_text="Human-readable message.")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, the body of every error response."""

    type = serializers.CharField(help_text="URI identifying the problem type.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    instance = serializers.CharField(required=False, help_text="The request path.")
    request_id = serializers.CharField(required=False)
    errors = serializers.DictField(
        child=FieldErrorSerializer(many=True),
        required=False,
        help_text="Validation errors per field (dotted path for nested fields).",
    )
