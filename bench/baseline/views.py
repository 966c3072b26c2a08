"""The same endpoints, written the way the DRF tutorial would.

ModelViewSet, ModelSerializer with the category nested, the rating and the
review count computed per object through SerializerMethodField (two queries
per product), PageNumberPagination, stdlib JSON, no caching. It reads the
real tables through the real models, with its own serializers and views.
"""

from __future__ import annotations

from django.db.models import Avg
from rest_framework import filters, pagination, serializers, viewsets
from rest_framework.decorators import action

from storefront.catalog.models import Category, Product


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name", "description", "depth"]


class ProductSerializer(serializers.ModelSerializer):
    category = CategorySerializer(read_only=True)
    rating = serializers.SerializerMethodField()
    review_count = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "slug",
            "name",
            "description",
            "category",
            "price",
            "currency",
            "stock",
            "is_active",
            "is_featured",
            "rating",
            "review_count",
            "created_at",
            "updated_at",
        ]

    def get_rating(self, obj):
        return obj.reviews.aggregate(Avg("rating"))["rating__avg"]

    def get_review_count(self, obj):
        return obj.reviews.count()


class ProductV2Serializer(ProductSerializer):
    category_path = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "category_path", "attributes"]

    def get_category_path(self, obj):
        ids = [part for part in obj.category.path.split("/") if part]
        return [
            {"slug": c.slug, "name": c.name}
            for c in Category.objects.filter(id__in=ids).order_by("depth")
        ]


class FeedPagination(pagination.CursorPagination):
    ordering = "-created_at"


class ProductViewSet(viewsets.ModelViewSet):
    queryset = Product.objects.filter(is_active=True)
    serializer_class = ProductSerializer
    filter_backends = [filters.SearchFilter]
    search_fields = ["name", "description"]


class ProductV2ViewSet(ProductViewSet):
    serializer_class = ProductV2Serializer


class ProductFeedViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Product.objects.filter(is_active=True)
    serializer_class = ProductSerializer
    pagination_class = FeedPagination


class CategoryViewSet(viewsets.ModelViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    lookup_field = "slug"

    @action(detail=True)
    def products(self, request, slug=None):
        category = self.get_object()
        products = Product.objects.filter(is_active=True, category__path__startswith=category.path)
        params = request.query_params
        if "min_price" in params:
            products = products.filter(price__gte=params["min_price"])
        if "max_price" in params:
            products = products.filter(price__lte=params["max_price"])
        if params.get("in_stock") == "true":
            products = products.filter(stock__gt=0)
        page = self.paginate_queryset(products)
        serializer = ProductSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(serializer.data)
