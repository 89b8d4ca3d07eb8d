from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django_otp.plugins.otp_static.apps import DefaultConfig as OtpStaticDefaultConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OtpTotpDefaultConfig


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = "Identity and access"

    def ready(self) -> None:
        from accounts import (
            metrics,
            schema,  # noqa: F401  (registers the OpenAPI authentication extension)
        )
        from accounts.services import roles_sync_after_migrate
        from config.collectors import register_collector

        register_collector("accounts", metrics.collect)

        # Roles name permissions of apps migrated later; re-apply memberships once they exist.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="accounts.roles_sync")


class RacineAdminConfig(admin_apps.AdminConfig):
    """Replaces Django's default admin site, so every app's ModelAdmin lands on Racine's site."""

    default = False
    default_site = "accounts.admin_site.RacineAdminSite"


# django-otp's device apps have no verbose name, so the admin index headed their sections "OTP_TOTP" and
# "OTP_STATIC". Same apps (names, labels, tables), readable headings.
class OtpTotpConfig(OtpTotpDefaultConfig):
    verbose_name = "Second factor: authenticator apps"


class OtpStaticConfig(OtpStaticDefaultConfig):
    verbose_name = "Second factor: backup codes"
