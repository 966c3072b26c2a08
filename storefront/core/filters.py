"""Filter fields shared by the apps' filter sets."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, converted to UTC before it reaches the database.

    Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: an
    offset like -16:13 went to the query as such and the query failed (500).
    In UTC every accepted moment is valid, or is out of range here (400)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError("This moment is out of range.", code="invalid") from exc


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField
