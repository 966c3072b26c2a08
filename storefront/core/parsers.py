"""orjson request parsing; malformed or too deeply nested JSON is a 400, an
over-large body a 413, and a NUL character anywhere a 400 (PostgreSQL stores
NUL in neither text nor jsonb: it would be a 500 at the first write)."""

from __future__ import annotations

import orjson
from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from storefront.core.exceptions import PayloadTooLarge


def _contains_nul(document) -> bool:
    """Whether any string (key or value) of a parsed document contains NUL.

    Iterative: orjson accepts 1024 levels of nesting, more than Python's
    recursion limit."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class ORJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # Never more than one byte past the limit in memory.
        size = -1 if limit is None else limit + 1
        raw = b"" if stream is None else stream.read(size)
        if not raw:
            raise ParseError("The request body is empty; a JSON document was expected.")
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
        if _contains_nul(document):
            raise ParseError("NUL characters (\\u0000) are not accepted in the request body.")
        return document
