from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from storefront.accounts.models import User
from storefront.core.fields import LinkField

UNIQUE_EMAIL_MESSAGE = "An account with this e-mail address already exists."


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
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        value = User.objects.normalize_email(value)
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError(UNIQUE_EMAIL_MESSAGE, code="unique")
        return value

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


class MeUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["first_name", "last_name"]


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")
