"""Registration, JWT tokens (rotation + blacklist), logout and the own profile."""

from __future__ import annotations

from django.db import IntegrityError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenBlacklistSerializer

from storefront.accounts import services
from storefront.accounts.api.serializers import (
    UNIQUE_EMAIL_MESSAGE,
    LogoutSerializer,
    MeUpdateSerializer,
    RegisterSerializer,
    UserSerializer,
)
from storefront.accounts.models import User
from storefront.core.throttling import AuthRateThrottle

TAGS = ["auth"]


class RegisterView(generics.GenericAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthRateThrottle]
    serializer_class = RegisterSerializer

    @extend_schema(
        summary="Register a customer account",
        description=(
            "Creates a customer account with the e-mail address as login. The password must "
            "pass the server's password validators. Strictly rate limited (scope `auth`)."
        ),
        responses={201: UserSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = services.user_register(**serializer.validated_data)
        except IntegrityError as exc:
            # Two registrations of one address at once: the serializer's check
            # passed for both, the database constraint stopped the second.
            raise ValidationError(
                {"email": [ErrorDetail(UNIQUE_EMAIL_MESSAGE, code="unique")]}
            ) from exc
        user = User.objects.prefetch_related("groups").get(pk=user.pk)
        return Response(
            UserSerializer(user, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(
    summary="Obtain a token pair",
    description=(
        "Exchanges e-mail and password for an access token (short-lived, sent as "
        "`Authorization: Bearer <token>`) and a refresh token. The error does not say "
        "whether the account exists. Strictly rate limited (scope `auth`)."
    ),
    tags=TAGS,
    auth=[],
)
class TokenObtainPairView(jwt_views.TokenObtainPairView):
    throttle_classes = [AuthRateThrottle]


@extend_schema(
    summary="Refresh the access token",
    description=(
        "Exchanges a refresh token for a new access token and a new refresh token. "
        "The refresh token presented is blacklisted (rotation): using it again is a 401."
    ),
    tags=TAGS,
    auth=[],
)
class TokenRefreshView(jwt_views.TokenRefreshView):
    pass


class LogoutView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = LogoutSerializer
    extra_error_codes = (401,)

    def get_authenticate_header(self, request) -> str:
        # Without authentication classes DRF turns a 401 into a 403; an invalid
        # refresh token is a 401, like on the refresh endpoint.
        return 'Bearer realm="api"'

    @extend_schema(
        summary="Log out",
        description=(
            "Blacklists the refresh token so that it can no longer be refreshed. "
            "Access tokens already issued stay valid until they expire (minutes)."
        ),
        request=LogoutSerializer,
        responses={204: OpenApiResponse(description="The refresh token is revoked.")},
        tags=TAGS,
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        LogoutSerializer(data=request.data).is_valid(raise_exception=True)
        serializer = TokenBlacklistSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(generics.RetrieveUpdateAPIView):
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> User:
        return User.objects.prefetch_related("groups").get(pk=self.request.user.pk)

    def get_serializer_class(self):
        if self.request.method == "PATCH":
            return MeUpdateSerializer
        return UserSerializer

    @extend_schema(
        summary="Your account",
        description="The authenticated user's own account.",
        responses={200: UserSerializer},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Update your account",
        description="Changes your names. The e-mail address and roles cannot be changed here.",
        request=MeUpdateSerializer,
        responses={200: UserSerializer},
        tags=TAGS,
    )
    def patch(self, request, *args, **kwargs):
        user = self.get_object()
        serializer = MeUpdateSerializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.user_update_names(user=user, **serializer.validated_data)
        return Response(UserSerializer(self.get_object(), context={"request": request}).data)
