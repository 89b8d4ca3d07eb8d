from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from config.collectors import register_collector
        from core import metrics

        register_collector("core", metrics.collect)
