"""Demo accounts for `make run`: created once, passwords random and kept in var/."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.contrib.auth.models import Group
from django.db import transaction

from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER, STAFF

DEMO_ACCOUNTS = [
    ("admin@example.com", "superuser", {"is_staff": True, "is_superuser": True}, [STAFF]),
    ("staff@example.com", STAFF, {"is_staff": True}, [STAFF]),
    ("customer@example.com", CUSTOMER, {}, [CUSTOMER]),
]


@transaction.atomic
def demo_accounts_ensure(*, credentials_file: Path) -> list[dict[str, str]]:
    """Create the demo accounts if missing; returns their credentials.

    Idempotent: a second call returns the stored credentials. If the file was
    lost, the demo accounts' passwords are reset and written again.
    """
    stored: dict[str, str] = {}
    if credentials_file.exists():
        stored = {a["email"]: a["password"] for a in json.loads(credentials_file.read_text())}
    accounts = []
    for email, role, flags, groups in DEMO_ACCOUNTS:
        user = User.objects.filter(email__iexact=email).first()
        password = stored.get(email)
        if user is None or password is None or not user.check_password(password):
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User.objects.create_user(email=email, password=password, **flags)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            user.groups.set([Group.objects.get_or_create(name=g)[0] for g in groups])
        accounts.append({"email": email, "password": password, "role": role})
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    credentials_file.write_text(json.dumps(accounts, indent=2))
    credentials_file.chmod(0o600)
    return accounts
