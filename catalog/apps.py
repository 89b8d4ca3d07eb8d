from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import metrics, subscribers  # noqa: F401  (subscribers register themselves)
        from config.collectors import register_collector

        register_collector("catalog", metrics.collect)
