from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ScanningConfig(AppConfig):
    name = "scanning"
    verbose_name = "Scanning"

    def ready(self) -> None:
        from config.collectors import register_collector
        from scanning import metrics
        from scanning.services.classifications import classifications_sync_after_migrate

        register_collector("scanning", metrics.collect)

        # The engine's built-in classifications become catalog rows after every migrate (idempotent).
        post_migrate.connect(classifications_sync_after_migrate, sender=self,
                             dispatch_uid="scanning.classifications_sync")
