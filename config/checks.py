"""Deploy checks: embedded mode is for a laptop, not for production."""
from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.database, deploy=True)
def embedded_database_check(app_configs, **kwargs):
    vendor = settings.DATABASES["default"]["ENGINE"]
    if "sqlite3" in vendor:
        return [Warning("The database is SQLite (embedded mode).",
                        hint="Set DATABASE_URL=postgres://… for production.", id="racine.W001")]
    return []


@register(deploy=True)
def embedded_tasks_check(app_configs, **kwargs):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return [Warning("Celery tasks run in the web process (no broker configured).",
                        hint="Set CELERY_BROKER_URL=redis://… and run a worker and beat.", id="racine.W002")]
    return []


@register(deploy=True)
def cache_check(app_configs, **kwargs):
    if "locmem" in settings.CACHES["default"]["BACKEND"]:
        return [Warning("The cache is per process: throttling and lockouts are not shared between workers.",
                        hint="Set REDIS_URL=redis://….", id="racine.W003")]
    return []
