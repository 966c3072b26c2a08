"""bench/baseline: the catalog as the DRF tutorial would write it (see views.py).

The project's settings (same database, middleware, logging) with the
tutorial's REST framework defaults: stdlib JSON, PageNumberPagination, no
caching, no throttling, open permissions.
"""

from storefront.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline.urls"
REST_FRAMEWORK = {
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
