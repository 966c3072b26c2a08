"""orjson rendering, with problem responses labelled application/problem+json."""

from __future__ import annotations

import decimal
import uuid
from typing import Any

import orjson
from django.utils.functional import Promise
from rest_framework import renderers

from storefront.core.exceptions import PROBLEM_CONTENT_TYPE


def _default(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        return str(obj)  # money is rendered as a string, never a float
    if isinstance(obj, Promise | uuid.UUID):
        return str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__iter__"):
        return list(obj)
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")


def dumps(data: Any, *, indent: bool = False) -> bytes:
    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
    if indent:
        option |= orjson.OPT_INDENT_2
    return orjson.dumps(data, default=_default, option=option)


class ORJSONRenderer(renderers.JSONRenderer):
    """Drop-in for DRF's JSONRenderer, several times faster on large lists."""

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        if response is not None and getattr(response, "is_problem", False):
            response["Content-Type"] = PROBLEM_CONTENT_TYPE
        indent = bool(self.get_indent(accepted_media_type or "", renderer_context))
        return dumps(data, indent=indent)


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """The browsable API for people; it renders its JSON through orjson."""

    def get_default_renderer(self, view):
        return ORJSONRenderer()
