from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from storefront.accounts.models import User
from storefront.core.fields import LinkField


class UserSerializer(serializers.ModelSerializer):
    """The account as its owner sees it."""

    url = LinkField("api:auth-me")
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "url",
            "email",
            "first_name",
            "last_name",
            "is_staff",
            "roles",
            "date_joined",
        ]
        read_only_fields = fields

    def get_roles(self, user: User) -> list[str]:
        # Prefetched by the view; sorted for a stable representation.
        return sorted(group.name for group in user.groups.all())


class RegisterSerializer(serializers.Serializer):
    """A registration. Only the form of the input is validated: an address that
    already has an account is not an error (the answer is the same 202)."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        return User.objects.normalize_email(value)

    def validate(self, attrs: dict) -> dict:
        candidate = User(
            email=attrs["email"], first_name=attrs["first_name"], last_name=attrs["last_name"]
        )
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            # Keep each validator's own code (password_too_short, _too_common,
            # _entirely_numeric, _too_similar): clients can say what to fix.
            raise serializers.ValidationError(
                {
                    "password": [
                        serializers.ErrorDetail(
                            " ".join(error.messages), code=error.code or "password_invalid"
                        )
                        for error in exc.error_list
                    ]
                }
            ) from exc
        return attrs


class VerifySerializer(serializers.Serializer):
    token = serializers.CharField(
        max_length=128,
        trim_whitespace=True,
        help_text="The token of the confirmation e-mail sent on registration.",
    )


class MessageSerializer(serializers.Serializer):
    """A message for the person using the client."""

    detail = serializers.CharField()


class MeUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["first_name", "last_name"]


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")
