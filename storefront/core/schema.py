"""OpenAPI generation: every operation documents its error responses."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny

from storefront.core.serializers import ProblemSerializer

PROBLEM_MEDIA_TYPES = ["application/problem+json"]

_DESCRIPTIONS = {
    "400": "Invalid input (validation errors per field in `errors`).",
    "401": "Not authenticated, or the token is invalid or expired.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "Not found (or not yours).",
    "406": "Not acceptable: the Accept header allows none of the media types offered.",
    "409": "Conflicts with the resource's current state.",
    "415": "Unsupported media type; send application/json.",
    "422": "Well-formed, but cannot be processed.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    """Adds problem-details error responses that apply to the operation."""

    def _is_public(self) -> bool:
        classes = getattr(self.view, "permission_classes", [])
        return any(cls is AllowAny for cls in classes)

    def _error_codes(self) -> list[str]:
        # 406: content negotiation runs before anything else, on every operation.
        codes = ["406"]
        # 404: an object looked up by the path, or an unknown API version.
        if "{" in self.path or getattr(self.view, "versioning_class", None) is not None:
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        if self.method in {"POST", "PUT", "PATCH"}:
            codes += ["400", "415"]
        elif self._is_list_view() and (
            getattr(self.view, "filterset_class", None)
            or getattr(self.view, "pagination_class", None)
        ):
            codes.append("400")  # bad filters, or a page/cursor that is not one
        if not self._is_public():
            codes += ["401", "403"]
        codes += [str(c) for c in getattr(self.view, "extra_error_codes", ())]
        return sorted(set(codes))

    def get_paginated_name(self, serializer_name: str) -> str:
        # A page-number page and a cursor page of one serializer differ in shape
        # (count/page/pages or not); under one component name the first one
        # documented would describe both (it did: /products/feed/).
        if isinstance(self._get_paginator(), CursorPagination):
            return f"CursorPaginated{serializer_name}List"
        return super().get_paginated_name(serializer_name)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code in responses:
                continue
            responses[code] = self._get_response_for_code(
                OpenApiResponse(ProblemSerializer, description=_DESCRIPTIONS.get(code, "")),
                code,
                PROBLEM_MEDIA_TYPES,
            )
        return responses
