"""orjson request parsing; malformed or too deeply nested JSON is a 400."""

from __future__ import annotations

import orjson
from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class ORJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise ParseError("The request body is empty; a JSON document was expected.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and len(raw) > limit:
            raise ParseError(f"The request body is larger than {limit} bytes.")
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
