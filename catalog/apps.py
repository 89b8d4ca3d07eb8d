from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from catalog import metrics, search, subscribers  # noqa: F401  (subscribers register themselves)
        from config.collectors import register_collector

        register_collector("catalog", metrics.collect)
        connection_created.connect(search.register_sqlite_functions, dispatch_uid="racine_search_words")
