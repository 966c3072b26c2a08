"""Test-only URLs: the real routes plus views that fail in every way we map.

Used with ``@pytest.mark.urls("storefront.core.tests.urls_errors")``.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.core.exceptions import Conflict, Unprocessable
from storefront.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


class _Line(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class _Address(serializers.Serializer):
    city = serializers.CharField()


class _Order(serializers.Serializer):
    address = _Address()
    lines = _Line(many=True)
    tags = serializers.ListField(child=serializers.SlugField())


def _raising(exc_factory):
    class _View(APIView):
        permission_classes = [AllowAny]

        def get(self, request):
            raise exc_factory()

    return _View.as_view()


class _ValidateView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        _Order(data=request.data).is_valid(raise_exception=True)
        return Response(status=204)


def _django_view_raising(request):
    raise RuntimeError("secret detail that must not leak")


def _django_view_forbidden(request):
    raise DjangoPermissionDenied


def _django_view_ok(request):
    return HttpResponse("ok")


urlpatterns = [
    path("t/conflict", _raising(lambda: Conflict("The order is already paid.", code="paid"))),
    path("t/unprocessable", _raising(Unprocessable)),
    path("t/runtime", _raising(lambda: RuntimeError("secret detail that must not leak"))),
    path("t/http404", _raising(Http404)),
    path("t/forbidden", _raising(DjangoPermissionDenied)),
    path(
        "t/django-validation",
        _raising(lambda: DjangoValidationError({"name": ["Too short."]}, code="short")),
    ),
    path("t/django-validation-list", _raising(lambda: DjangoValidationError("Not allowed."))),
    path("t/validate", _ValidateView.as_view()),
    path("t/plain-runtime", _django_view_raising),
    path("t/plain-forbidden", _django_view_forbidden),
    path("t/plain-ok", _django_view_ok),
    *urlpatterns,
]
