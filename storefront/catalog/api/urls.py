"""Catalog routes, included under /api/<version>/ (namespace "api")."""

from django.urls import path

from storefront.catalog.api.views import categories, products, reviews

urlpatterns = [
    path("categories/", categories.CategoryListView.as_view(), name="category-list"),
    path(
        "categories/<slug:slug>/", categories.CategoryDetailView.as_view(), name="category-detail"
    ),
    path(
        "categories/<slug:slug>/products/",
        categories.CategoryProductListView.as_view(),
        name="category-products",
    ),
    path("products/", products.ProductListView.as_view(), name="product-list"),
    path("products/feed/", products.ProductFeedView.as_view(), name="product-feed"),
    path(
        "products/featured/",
        products.FeaturedProductListView.as_view(),
        name="product-featured",
    ),
    path("products/<uuid:pk>/", products.ProductDetailView.as_view(), name="product-detail"),
    path(
        "products/<uuid:pk>/feature/",
        products.ProductFeatureView.as_view(),
        name="product-feature",
    ),
    path(
        "products/<uuid:pk>/unfeature/",
        products.ProductUnfeatureView.as_view(),
        name="product-unfeature",
    ),
    path(
        "products/<uuid:pk>/images/",
        products.ProductImageListView.as_view(),
        name="product-images",
    ),
    path(
        "products/<uuid:pk>/images/<uuid:image_pk>/",
        products.ProductImageDetailView.as_view(),
        name="product-image-detail",
    ),
    path(
        "products/<uuid:pk>/reviews/",
        reviews.ReviewListView.as_view(),
        name="product-reviews",
    ),
    path(
        "products/<uuid:pk>/reviews/<uuid:review_pk>/",
        reviews.ReviewDetailView.as_view(),
        name="review-detail",
    ),
]
