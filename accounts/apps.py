from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = "Identity and access"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI authentication extension)


class RacineAdminConfig(admin_apps.AdminConfig):
    """Replaces Django's default admin site, so every app's ModelAdmin lands on Racine's site."""

    default = False
    default_site = "accounts.admin_site.RacineAdminSite"
