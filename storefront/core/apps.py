from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "storefront.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from storefront.core.logging import install_record_factory

        install_record_factory()
