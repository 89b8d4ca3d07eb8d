from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate


class ScanningConfig(AppConfig):
    name = "scanning"
    verbose_name = "Scanning"

    def ready(self) -> None:
        from catalog.inventory import register_last_scanned
        from config.collectors import register_collector
        from scanning import metrics, selectors, subscribers  # noqa: F401  (subscribers register themselves)
        from scanning.models import Scan
        from scanning.services.classifications import classifications_sync_after_migrate
        from scanning.services.scans import scan_schedule_drop

        register_collector("scanning", metrics.collect)
        register_last_scanned(selectors.last_scanned)

        # The engine's built-in classifications become catalog rows after every migrate (idempotent).
        post_migrate.connect(classifications_sync_after_migrate, sender=self,
                             dispatch_uid="scanning.classifications_sync")
        post_delete.connect(scan_schedule_drop, sender=Scan, dispatch_uid="scanning.scan_schedule_drop")
