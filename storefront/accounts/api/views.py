"""Registration and its confirmation, JWT tokens (rotation + blacklist), logout, profile."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenBlacklistSerializer

from storefront.accounts import services
from storefront.accounts.api.serializers import (
    LogoutSerializer,
    MessageSerializer,
    MeUpdateSerializer,
    RegisterSerializer,
    UserSerializer,
    VerifySerializer,
)
from storefront.accounts.models import User
from storefront.core.throttling import AuthRateThrottle

TAGS = ["auth"]


# One answer for every registration that passes validation, whether the
# address is new, pending verification or already registered: the e-mail
# sent to the address is what differs (no account enumeration).
REGISTRATION_ACCEPTED = (
    "Check your inbox: we have sent a message to this address to complete the registration."
)
ADDRESS_CONFIRMED = "Your e-mail address is confirmed. You can sign in now."


class RegisterView(generics.GenericAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthRateThrottle]
    serializer_class = RegisterSerializer

    @extend_schema(
        summary="Register a customer account",
        description=(
            "Starts the registration of a customer account with the e-mail address as "
            "login. The password must pass the server's password validators; invalid input "
            "is a 400. Any valid request is answered 202 with the same body, whether or not "
            "the address already has an account (the answer does not reveal accounts). The "
            "address then receives an e-mail: for a new address (or one whose registration "
            "is not confirmed yet) a confirmation token to send to `POST auth/verify/`; the "
            "account cannot sign in until then. For an address that already has an account, "
            "a notice to its owner; that account is not changed. "
            "Strictly rate limited (scope `auth`)."
        ),
        responses={
            202: OpenApiResponse(
                MessageSerializer, description="Accepted; the next step is in the e-mail."
            )
        },
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_register(**serializer.validated_data)
        return Response({"detail": REGISTRATION_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class VerifyView(generics.GenericAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthRateThrottle]
    serializer_class = VerifySerializer

    @extend_schema(
        summary="Confirm a registration",
        description=(
            "Activates the account registered with the token's address: the token is the one "
            "in the confirmation e-mail (valid once, for `ACCOUNT_VERIFICATION_MAX_AGE` "
            "seconds, 3 days by default). A forged, altered, expired or already used token is "
            "a 400 with code `invalid_token`; registering again sends a new one. "
            "Strictly rate limited (scope `auth`)."
        ),
        responses={
            200: OpenApiResponse(
                MessageSerializer, description="The account is active; sign in with auth/token/."
            )
        },
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_verify(token=serializer.validated_data["token"])
        return Response({"detail": ADDRESS_CONFIRMED})


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
