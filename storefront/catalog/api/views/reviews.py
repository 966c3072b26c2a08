"""Review endpoints, nested under their product."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.reverse import reverse

from storefront.catalog import services
from storefront.catalog.api.caching import CachedReadMixin, cached_read
from storefront.catalog.api.permissions import ReviewPermission
from storefront.catalog.api.serializers import ReviewSerializer, ReviewWriteSerializer
from storefront.catalog.api.views.common import CatalogAutoSchema
from storefront.catalog.models import Product, Review
from storefront.core.pagination import PageNumberPagination

TAGS = ["reviews"]


class ReviewViewMixin(CachedReadMixin):
    permission_classes = [ReviewPermission]
    serializer_class = ReviewSerializer
    write_serializer_class = ReviewWriteSerializer
    schema = CatalogAutoSchema()
    cache_product_kwarg = "pk"

    def get_product(self) -> Product:
        """The product, if the user may see it (else 404): one query."""
        products = Product.objects.visible_to(self.request.user).only(
            "id", "is_active", "deleted_at"
        )
        return get_object_or_404(products, pk=self.kwargs["pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return Review.objects.none()
        return Review.objects.filter(product_id=self.kwargs["pk"]).select_related("author")


class ReviewListView(ReviewViewMixin, generics.ListAPIView):
    pagination_class = PageNumberPagination
    extra_error_codes = (409,)

    @extend_schema(
        summary="List a product's reviews",
        description="Newest first, paginated; public. Cached; ETag supported.",
        tags=TAGS,
    )
    @cached_read
    def get(self, request, *args, **kwargs):
        self.get_product()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Review a product",
        description=(
            "Any signed-in user, once per product: a second review by the same author is "
            "a 409 (`already_reviewed`). An inactive or deleted product cannot be "
            "reviewed (404, or 409 `product_unavailable` for staff, who can see inactive "
            "products). The product's rating average and review count are updated in "
            "the same transaction."
        ),
        responses={201: ReviewSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        product = self.get_product()
        serializer = ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(
            product=product, author=request.user, **serializer.validated_data
        )
        review = self.get_queryset().get(pk=review.pk)
        return Response(
            self.get_serializer(review).data,
            status=status.HTTP_201_CREATED,
            headers={
                "Location": reverse(
                    "api:review-detail",
                    kwargs={"pk": product.pk, "review_pk": review.pk},
                    request=request,
                )
            },
        )


class ReviewDetailView(ReviewViewMixin, generics.GenericAPIView):
    lookup_url_kwarg = "review_pk"

    def get_object(self) -> Review:
        self.get_product()
        return super().get_object()

    @extend_schema(summary="A review", description="Public. Cached; ETag supported.", tags=TAGS)
    @cached_read
    def get(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    def _update(self, request, *, partial: bool):
        review = self.get_object()
        serializer = ReviewWriteSerializer(review, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        review = services.review_update(review=review, **serializer.validated_data)
        return Response(self.get_serializer(review).data)

    @extend_schema(
        summary="Replace your review",
        description="The author only (others: 403). Ratings follow in the same transaction.",
        tags=TAGS,
    )
    def put(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        summary="Update your review",
        description="The author only (others: 403). Only the fields sent change.",
        tags=TAGS,
    )
    def patch(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(
        summary="Delete a review",
        description="Its author, or staff (moderation). Ratings follow.",
        responses={204: OpenApiResponse(description="Deleted.")},
        tags=TAGS,
    )
    def delete(self, request, *args, **kwargs):
        services.review_delete(review=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
