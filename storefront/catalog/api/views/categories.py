"""Category endpoints: the tree (flat or nested), details, the products of a subtree."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse

from storefront.catalog import services
from storefront.catalog.api.caching import CachedReadMixin, cached_read
from storefront.catalog.api.filters import ProductFilter, ProductOrderingFilter
from storefront.catalog.api.pagination import CatalogPageNumberPagination
from storefront.catalog.api.permissions import ReadOrStaffWrite
from storefront.catalog.api.serializers import (
    CategoryPageSerializer,
    CategorySerializer,
    CategoryTreeNodeSerializer,
    CategoryTreeSerializer,
    CategoryWriteSerializer,
)
from storefront.catalog.api.views.common import CatalogAutoSchema, product_serializer_class
from storefront.catalog.models import Category, Product
from storefront.core.pagination import PageNumberPagination

TAGS = ["categories"]

TREE_PARAM = OpenApiParameter(
    "tree",
    OpenApiTypes.BOOL,
    description="true: the whole tree, nested and unpaginated; false (default): a flat, "
    "paginated list where each category names its parent.",
)


def _tree_requested(request) -> bool:
    raw = request.query_params.get("tree", "")
    value = raw.strip().lower()
    if value in {"", "false", "0", "no"}:
        return False
    if value in {"true", "1", "yes"}:
        return True
    raise ValidationError({"tree": ["Use true or false."]}, code="invalid")


def _build_tree(categories: list[Category]) -> list[Category]:
    """Nest categories (ordered by path, so parents come first); returns the roots."""
    by_id = {c.id: c for c in categories}
    roots = []
    for category in categories:
        category.tree_children = []
        parent = by_id.get(category.parent_id)
        if parent is None:
            roots.append(category)
        else:
            parent.tree_children.append(category)
    return roots


class CategoryListView(CachedReadMixin, generics.ListAPIView):
    permission_classes = [ReadOrStaffWrite]
    pagination_class = PageNumberPagination
    serializer_class = CategorySerializer
    write_serializer_class = CategoryWriteSerializer
    schema = CatalogAutoSchema()

    def get_queryset(self):
        return Category.objects.select_related("parent").order_by("path")

    @extend_schema(
        summary="List categories",
        description=(
            "Flat, paginated, ordered by tree position (each category after its parent), "
            "each with its parent's slug and URL. With `?tree=true`: the whole tree in one "
            "response, roots with nested `children` (one SQL query). Cached; ETag and "
            "If-None-Match supported."
        ),
        parameters=[TREE_PARAM],
        responses={
            200: PolymorphicProxySerializer(
                component_name="CategoryListOrTree",
                serializers=[CategoryPageSerializer, CategoryTreeSerializer],
                resource_type_field_name=None,
                many=False,
            )
        },
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        if _tree_requested(request):
            roots = _build_tree(list(Category.objects.order_by("path")))
            url = request.build_absolute_uri()
            return Response(
                {
                    "links": {"self": url, "next": None, "previous": None},
                    "results": CategoryTreeNodeSerializer(
                        roots, many=True, context=self.get_serializer_context()
                    ).data,
                }
            )
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Create a category",
        description="Staff only. `parent` (a slug) places it in the tree; the tree depth is "
        "bounded (CATEGORY_MAX_DEPTH levels).",
        responses={201: CategorySerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        serializer = CategoryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(**serializer.validated_data)
        category = self.get_queryset().get(pk=category.pk)
        return Response(
            self.get_serializer(category).data,
            status=status.HTTP_201_CREATED,
            headers={
                "Location": reverse(
                    "api:category-detail", kwargs={"slug": category.slug}, request=request
                )
            },
        )


class CategoryDetailView(CachedReadMixin, generics.GenericAPIView):
    permission_classes = [ReadOrStaffWrite]
    serializer_class = CategorySerializer
    write_serializer_class = CategoryWriteSerializer
    lookup_field = "slug"
    schema = CatalogAutoSchema()
    extra_error_codes = (409,)  # DELETE of a category in use

    def get_queryset(self):
        return Category.objects.select_related("parent")

    @extend_schema(
        summary="A category",
        description="One category by slug, with its parent. Cached; ETag supported.",
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    def _update(self, request, *, partial: bool):
        category = self.get_object()
        serializer = CategoryWriteSerializer(category, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        category = services.category_update(category=category, **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=category.pk)).data)

    @extend_schema(
        summary="Replace a category",
        description="Staff only. Changing `parent` moves the category with its subtree; a "
        "move under its own descendant or beyond the maximum depth is a 400.",
        tags=TAGS,
    )
    def put(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        summary="Update a category",
        description="Staff only. Same rules as PUT; only the fields sent change.",
        tags=TAGS,
    )
    def patch(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(
        summary="Delete a category",
        description="Staff only. A category with subcategories or products (deleted ones "
        "included) cannot be deleted: 409.",
        responses={204: OpenApiResponse(description="Deleted.")},
        tags=TAGS,
    )
    def delete(self, request, *args, **kwargs):
        services.category_delete(category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CategoryProductListView(CachedReadMixin, generics.ListAPIView):
    permission_classes = [ReadOrStaffWrite]
    filter_backends = [DjangoFilterBackend, ProductOrderingFilter]
    filterset_class = ProductFilter
    pagination_class = CatalogPageNumberPagination
    schema = CatalogAutoSchema()

    def get_serializer_class(self):
        return product_serializer_class(self.request)

    def get_queryset(self):
        return Product.objects.visible_to(self.request.user).for_listing()

    @extend_schema(
        summary="Products of a category and its descendants",
        description=(
            "The products of this category and of every category below it (one indexed "
            "prefix match on the tree path). Same filters, search, ordering and "
            "visibility as the product list. Cached; ETag supported."
        ),
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        category = get_object_or_404(Category.objects.only("path"), slug=kwargs["slug"])
        products = self.filter_queryset(
            self.get_queryset().filter(category__path__startswith=category.path)
        )
        page = self.paginate_queryset(products)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
