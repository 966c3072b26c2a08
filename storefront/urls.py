"""URL configuration: versioned API under /api/<version>/, docs, health, admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from storefront.core.health import LivenessView, ReadinessView
from storefront.core.views import (
    ApiRootView,
    RedocDocsView,
    SchemaView,
    SwaggerDocsView,
    VersionsView,
)

api_patterns = [
    path("", ApiRootView.as_view(), name="root"),
    path("", include("storefront.accounts.api.urls")),
    path("", include("storefront.catalog.api.urls")),
    path("", include("storefront.orders.api.urls")),
    path("", include("storefront.notifications.api.urls")),
]

urlpatterns = [
    path("healthz", LivenessView.as_view(), name="healthz"),
    path("readyz", ReadinessView.as_view(), name="readyz"),
    path("api/", VersionsView.as_view(), name="api-versions"),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", RedocDocsView.as_view(url_name="schema"), name="redoc"),
    # An unknown version (v3) reaches the views, whose versioning answers 404.
    re_path(r"^api/(?P<version>v[0-9]+)/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:  # pragma: no cover - media served by the web server in production
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "storefront.core.exceptions.bad_request"
handler403 = "storefront.core.exceptions.permission_denied"
handler404 = "storefront.core.exceptions.page_not_found"
handler500 = "storefront.core.exceptions.server_error"
