from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from catalog import metrics, search_upgrade, subscribers  # noqa: F401  (subscribers and checks register)
        from config.collectors import register_collector

        post_migrate.connect(search_upgrade.post_migrate_index, sender=self,
                             dispatch_uid="catalog.search_upgrade.post_migrate_index")

        register_collector("catalog", metrics.collect)
