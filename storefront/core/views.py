"""API roots and the schema endpoints."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from storefront.core.renderers import ORJSONRenderer

# Top-level links of each API version's root: name -> route name in the "api"
# namespace. Apps add their collections here as they arrive.
ROOT_LINKS: dict[str, str] = {
    "register": "api:auth-register",
    "verify": "api:auth-verify",
    "token": "api:auth-token",
    "token_refresh": "api:auth-token-refresh",
    "logout": "api:auth-logout",
    "me": "api:auth-me",
    "categories": "api:category-list",
    "products": "api:product-list",
    "featured": "api:product-featured",
    "orders": "api:order-list",
    "notifications": "api:notification-list",
}


class VersionsView(APIView):
    permission_classes = [AllowAny]
    versioning_class = None

    @extend_schema(exclude=True)
    def get(self, request):
        return Response(
            {
                "versions": {
                    v: request.build_absolute_uri(f"/api/{v}/") for v in settings.API_VERSIONS
                },
                "default": settings.REST_FRAMEWORK["DEFAULT_VERSION"],
                "docs": request.build_absolute_uri("/api/docs/"),
                "schema": request.build_absolute_uri("/api/schema/"),
            }
        )


class ApiRootView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="API root",
        description="Links to every top-level resource of this API version.",
        responses={
            200: inline_serializer(
                "ApiRoot",
                fields={"links": serializers.DictField(child=serializers.URLField())},
            )
        },
        tags=["meta"],
    )
    def get(self, request, *args, **kwargs):
        links = {name: reverse(route, request=request) for name, route in ROOT_LINKS.items()}
        links["docs"] = request.build_absolute_uri("/api/docs/")
        return Response({"version": request.version, "links": links})


class SchemaView(SpectacularAPIView):
    """The OpenAPI document of one API version (?version=v2; default v1)."""

    versioning_class = None
    permission_classes = [AllowAny]

    def handle_exception(self, exc):
        # Errors are problem details in JSON, whatever renderer the schema
        # (YAML by default) would have used.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = ORJSONRenderer()
        self.request.accepted_media_type = ORJSONRenderer.media_type
        return response

    def _get_version_parameter(self, request):
        version = request.GET.get("version") or settings.REST_FRAMEWORK["DEFAULT_VERSION"]
        if version not in settings.API_VERSIONS:
            raise NotFound(f"Unknown API version {version!r}.")
        return version


class _DocsPageMixin:
    """Swagger UI and ReDoc pages: GET only, errors as problem JSON.

    Their only renderer is an HTML template: an OPTIONS request (DRF's metadata)
    or an error rendered through it has no template and was a 500.
    """

    http_method_names = ["get", "head"]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = ORJSONRenderer()
        self.request.accepted_media_type = ORJSONRenderer.media_type
        return response


class SwaggerDocsView(_DocsPageMixin, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served from this URL (`?script`), not
    inline: the Content-Security-Policy allows scripts from 'self' only."""


class RedocDocsView(_DocsPageMixin, SpectacularRedocView):
    """ReDoc (no inline script while REDOC_UI_SETTINGS is empty)."""
