"""Test-only URLs: user lists paginated by each of our pagination classes."""

from django.urls import path
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from storefront.accounts.models import User
from storefront.core.pagination import CursorPagination, PageNumberPagination
from storefront.urls import urlpatterns


class _UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email"]


class _PageList(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = _UserSerializer
    pagination_class = PageNumberPagination
    queryset = User.objects.order_by("email")


class _CursorList(_PageList):
    pagination_class = CursorPagination
    queryset = User.objects.all()


urlpatterns = [
    path("t/page", _PageList.as_view()),
    path("t/cursor", _CursorList.as_view()),
    *urlpatterns,
]
