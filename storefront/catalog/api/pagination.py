"""Catalog pagination: bad page numbers and cursors are 400s with a field error.

DRF answers 404 "Invalid page" for page=abc, page=0 or a page past the end;
for the catalog that is bad input, reported on the `page` (or `cursor`) field.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError

from storefront.core.pagination import CursorPagination, PageNumberPagination


class CatalogPageNumberPagination(PageNumberPagination):
    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError(
                {self.page_query_param: [str(exc.detail)]}, code="invalid_page"
            ) from exc


class ProductCursorPagination(CursorPagination):
    """Cursor pagination for /products/feed/: constant cost at any depth."""

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError(
                {self.cursor_query_param: [str(exc.detail)]}, code="invalid_cursor"
            ) from exc
