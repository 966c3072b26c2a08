"""Pagination with hypermedia links.

Page-number pagination for browsing (bounded page_size) and cursor pagination
for feeds and deep scrolling (constant cost whatever the depth). Both put their
links under "links" so clients never build URLs themselves.

A page number that is not one (page=abc, page=0) or lies past the last page,
and a cursor that does not decode, are bad input: a 400 with the error on the
`page` (or `cursor`) field, codes invalid_page / invalid_cursor. (DRF's own
answer is a 404, which reads as "this list does not exist".)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

_LINK = {"type": "string", "format": "uri", "nullable": True}


class _SharedRules:
    """What both paginators do the same way: sizes from settings, bad input a 400."""

    page_size_query_param = "page_size"
    invalid_param: str  # the query parameter a NotFound from DRF is about
    invalid_code: str

    # Both sizes are read at request time (DRF reads PAGE_SIZE once, at import),
    # so that a settings change, in a test or a reload, applies everywhere.
    def get_page_size(self, request) -> int | None:
        self.page_size = api_settings.PAGE_SIZE
        return super().get_page_size(request)

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError(
                {self.invalid_param: [str(exc.detail)]}, code=self.invalid_code
            ) from exc


class PageNumberPagination(_SharedRules, pagination.PageNumberPagination):
    page_size_query_description = "Number of results per page (1 to the maximum)."
    invalid_param = "page"
    invalid_code = "invalid_page"

    def get_paginated_response(self, data: list[Any]) -> Response:
        request = self.request
        return Response(
            {
                "count": self.page.paginator.count,
                "page": self.page.number,
                "pages": self.page.paginator.num_pages,
                "links": {
                    "self": request.build_absolute_uri(),
                    "next": self.get_next_link(),
                    "previous": self.get_previous_link(),
                },
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["count", "page", "pages", "links", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "page": {"type": "integer", "example": 1},
                "pages": {"type": "integer", "example": 7},
                "links": {
                    "type": "object",
                    "required": ["self", "next", "previous"],
                    "properties": {"self": _LINK, "next": _LINK, "previous": _LINK},
                },
                "results": schema,
            },
        }


class CursorPagination(_SharedRules, pagination.CursorPagination):
    """Newest first; stable under inserts, constant cost at any depth."""

    ordering = ("-created_at", "-id")
    invalid_param = "cursor"
    invalid_code = "invalid_cursor"

    def decode_cursor(self, request):
        # The position is a client-supplied string compared with a column:
        # with a NUL in it, PostgreSQL refuses the query (a 500).
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and "\x00" in cursor.position:
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            {
                "links": {
                    "self": self.request.build_absolute_uri(),
                    "next": self.get_next_link(),
                    "previous": self.get_previous_link(),
                },
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["links", "results"],
            "properties": {
                "links": {
                    "type": "object",
                    "required": ["self", "next", "previous"],
                    "properties": {"self": _LINK, "next": _LINK, "previous": _LINK},
                },
                "results": schema,
            },
        }
