"""The user: UUID id, e-mail as the login (unique whatever its case).

An account registered through the API starts inactive and `pending_verification`
until its owner follows the e-mailed link (services.user_verify).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from storefront.core.models import BaseModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str):
        return self.get(email__iexact=email)

    def _create(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)  # None gives an unusable password
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)


class User(BaseModel, AbstractBaseUser, PermissionsMixin):
    # unique=True satisfies Django's auth checks; the Lower() constraint below is
    # the real rule: one account per address whatever its case.
    email = models.EmailField("e-mail address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="May log into the admin and act as staff in the API."
    )
    is_active = models.BooleanField(
        default=True, help_text="Unset instead of deleting accounts; inactive users cannot log in."
    )
    # Distinguishes "registered, address not confirmed yet" from "deactivated by
    # staff": only the former may be activated by a link or re-registered.
    pending_verification = models.BooleanField(
        default=False,
        help_text=(
            "Registered through the API, address not confirmed yet (the account is "
            "inactive until the e-mailed link is used)."
        ),
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            # An account awaiting its confirmation cannot be active: activating it
            # by hand (admin) means clearing pending_verification too.
            models.CheckConstraint(
                condition=models.Q(pending_verification=False) | models.Q(is_active=False),
                name="accounts_user_pending_is_inactive",
                violation_error_message=(
                    "An account pending verification cannot be active; "
                    "clear pending verification to activate it."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name
