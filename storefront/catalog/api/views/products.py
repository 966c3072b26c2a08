"""Product endpoints: list (page or cursor), featured, detail, writes, feature, images.

Visibility: anonymous users and customers see active, non-deleted products
only; staff also see inactive ones (never deleted ones). Reads are cached per
audience (see caching.py).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from storefront.catalog import services
from storefront.catalog.api.caching import CachedReadMixin, cached_read
from storefront.catalog.api.filters import ProductFilter, ProductOrderingFilter
from storefront.catalog.api.pagination import CatalogPageNumberPagination
from storefront.catalog.api.permissions import CanChangeProduct, ReadOrStaffWrite
from storefront.catalog.api.serializers import (
    ProductImageSerializer,
    ProductImageWriteSerializer,
    ProductWriteSerializer,
)
from storefront.catalog.api.views.common import (
    CatalogAutoSchema,
    ProductRepresentationMixin,
    product_serializer_class,
)
from storefront.catalog.models import Product, ProductImage
from storefront.core.pagination import CursorPagination, PageNumberPagination
from storefront.core.parsers import ORJSONParser
from storefront.core.permissions import StaffModelPermissions

TAGS = ["products"]
VISIBILITY = (
    "Anonymous users and customers see active products only; staff also see inactive "
    "ones. Deleted products are never shown."
)
VERSIONS = (
    "v2 adds `category_path` (the category and its ancestors from the root, as "
    "{slug, name}) and `attributes` to each product."
)
CACHING = "Cached per audience; ETag, Last-Modified and If-None-Match (304) supported."


class ProductReadMixin(CachedReadMixin, ProductRepresentationMixin):
    schema = CatalogAutoSchema()

    def get_serializer_class(self):
        return product_serializer_class(self.request)

    def get_queryset(self):
        return Product.objects.visible_to(self.request.user).for_listing()

    def list_response(self, products):
        page = self.paginate_queryset(products)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ProductListView(ProductReadMixin, generics.ListAPIView):
    permission_classes = [ReadOrStaffWrite]
    filter_backends = [DjangoFilterBackend, ProductOrderingFilter]
    filterset_class = ProductFilter
    pagination_class = CatalogPageNumberPagination
    write_serializer_class = ProductWriteSerializer

    @extend_schema(
        summary="List products",
        description=(
            "Page-number pagination (`page`, `page_size`); for cursor pagination use "
            f"`/products/feed/`. Filters, search and ordering below. {VISIBILITY} "
            f"{VERSIONS} {CACHING}"
        ),
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        return self.list_response(self.filter_queryset(self.get_queryset()))

    @extend_schema(
        summary="Create a product",
        description="Staff only. The SKU and slug must be unused, by deleted products too.",
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(
            self.product_representation(product),
            status=status.HTTP_201_CREATED,
            headers={"Location": self.product_location(product)},
        )


class ProductFeedView(ProductReadMixin, generics.ListAPIView):
    permission_classes = [ReadOrStaffWrite]
    filter_backends = [DjangoFilterBackend, ProductOrderingFilter]
    filterset_class = ProductFilter
    pagination_class = CursorPagination
    ordering_choices = ("-created_at", "created_at", "price", "-price", "name", "-name")

    @extend_schema(
        summary="List products with cursor pagination",
        description=(
            "The product list with cursor pagination: follow `links.next`; the cost of a "
            "page does not grow with its depth and inserts never shift pages. Same "
            "filters and search as /products/ (results come in `ordering` order, newest "
            f"first by default, not by rank); rating ordering is not offered. {VISIBILITY} "
            f"{VERSIONS} {CACHING}"
        ),
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        return self.list_response(self.filter_queryset(self.get_queryset()))


class FeaturedProductListView(ProductReadMixin, generics.ListAPIView):
    permission_classes = [ReadOrStaffWrite]
    pagination_class = PageNumberPagination
    filter_backends: list = []

    @extend_schema(
        summary="Featured products",
        description=f"Featured products, newest first, paginated. {VISIBILITY} {CACHING}",
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        return self.list_response(self.get_queryset().filter(is_featured=True))


class ProductDetailView(ProductReadMixin, generics.GenericAPIView):
    permission_classes = [ReadOrStaffWrite]
    write_serializer_class = ProductWriteSerializer
    cache_product_kwarg = "pk"

    @extend_schema(
        summary="A product",
        description=f"One product by id, with its images. {VISIBILITY} {VERSIONS} {CACHING}",
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        # What get_object() finds, read as plain values in one statement (no model
        # instances, no generic lookup) and rendered as the serializer renders the
        # instance (docs/performance.md, finding 9; parity: test_serializers.py).
        serializer = self.get_serializer()
        row = Product.objects.row_visible_to(
            request.user, kwargs["pk"], category_path=serializer.row_with_category_path
        )
        if row is None:
            raise Http404
        self.check_object_permissions(request, row)  # reads never look at the object
        return Response(serializer.represent_row(row))

    def _update(self, request, *, partial: bool):
        product = self.get_object()
        serializer = ProductWriteSerializer(product, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        product = services.product_update(product=product, **serializer.validated_data)
        return Response(self.product_representation(product))

    @extend_schema(
        summary="Replace a product",
        description="Staff only. Every required field must be sent.",
        tags=TAGS,
    )
    def put(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        summary="Update a product",
        description="Staff only. Only the fields sent change.",
        tags=TAGS,
    )
    def patch(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(
        summary="Delete a product",
        description="Staff only. A soft delete: the product disappears from every read "
        "(and its SKU and slug stay taken); orders and reviews keep referring to it.",
        responses={204: OpenApiResponse(description="Deleted.")},
        tags=TAGS,
    )
    def delete(self, request, *args, **kwargs):
        services.product_delete(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class _FeatureView(ProductReadMixin, generics.GenericAPIView):
    permission_classes = [CanChangeProduct]
    post_creates = False  # for the schema: 200, not 201
    featured: bool

    def post(self, request, *args, **kwargs):
        product = services.product_set_featured(product=self.get_object(), featured=self.featured)
        return Response(self.product_representation(product))


@extend_schema(
    summary="Feature a product",
    description="Staff only. Idempotent; the product appears in /products/featured/.",
    request=None,
    tags=TAGS,
)
class ProductFeatureView(_FeatureView):
    featured = True


@extend_schema(
    summary="Unfeature a product",
    description="Staff only. Idempotent.",
    request=None,
    tags=TAGS,
)
class ProductUnfeatureView(_FeatureView):
    featured = False


class ProductImageListView(generics.GenericAPIView):
    permission_classes = [StaffModelPermissions]
    parser_classes = [MultiPartParser, FormParser, ORJSONParser]
    serializer_class = ProductImageSerializer
    write_serializer_class = ProductImageWriteSerializer
    queryset = ProductImage.objects.all()
    schema = CatalogAutoSchema()

    @extend_schema(
        summary="Add a product image",
        description=(
            "Staff only. Either `url` (an external image, JSON or form) or `file` (an "
            "upload, multipart/form-data: JPEG, PNG, GIF or WebP, validated as an image "
            "and size-limited by CATALOG_IMAGE_MAX_BYTES). Appended after the existing "
            "images unless `position` is given."
        ),
        responses={201: ProductImageSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        product = get_object_or_404(Product.objects.all(), pk=kwargs["pk"])
        serializer = ProductImageWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = services.product_image_add(product=product, **serializer.validated_data)
        return Response(
            ProductImageSerializer(image, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class ProductImageDetailView(generics.GenericAPIView):
    permission_classes = [StaffModelPermissions]
    serializer_class = ProductImageSerializer
    schema = CatalogAutoSchema()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return ProductImage.objects.none()
        return ProductImage.objects.filter(product_id=self.kwargs["pk"])

    @extend_schema(
        summary="Delete a product image",
        description="Staff only. An uploaded file is removed from storage too.",
        responses={204: OpenApiResponse(description="Deleted.")},
        tags=TAGS,
    )
    def delete(self, request, *args, **kwargs):
        image = get_object_or_404(self.get_queryset(), pk=kwargs["image_pk"])
        services.product_image_delete(image=image)
        return Response(status=status.HTTP_204_NO_CONTENT)
