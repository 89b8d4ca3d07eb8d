from django.apps import AppConfig


class ConfigAppConfig(AppConfig):
    """Project-wide plumbing: system checks, health, metrics and the error format."""

    name = "config"
    label = "racine_config"
    verbose_name = "Racine configuration"

    def ready(self) -> None:
        from config import (
            checks,  # noqa: F401  (registers the deploy checks)
            runtime_metrics,
        )
        from config.collectors import register_collector

        register_collector("runtime", runtime_metrics.collect)
