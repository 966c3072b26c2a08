"""The baseline's routes, at the app's paths (a DefaultRouter per version)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from bench.baseline import views

v1 = DefaultRouter()
v1.register("products/feed", views.ProductFeedViewSet, basename="feed")
v1.register("products", views.ProductViewSet, basename="product")
v1.register("categories", views.CategoryViewSet, basename="category")
v2 = DefaultRouter()
v2.register("products", views.ProductV2ViewSet, basename="product-v2")

urlpatterns = [
    path("api/v1/", include(v1.urls)),
    path("api/v2/", include(v2.urls)),
]
