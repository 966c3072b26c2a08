from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "storefront.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from storefront.accounts.roles import sync_roles_after_migrate

        # Permissions only exist after migrate has run; roles are synced then.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="storefront.sync_roles")
