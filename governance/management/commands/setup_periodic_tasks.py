"""Write the project's periodic jobs (governance.schedules) into django-celery-beat; safe to re-run."""
from django.core.management.base import BaseCommand

from governance.schedules import periodic_tasks_ensure


class Command(BaseCommand):
    help = "Create or update the periodic tasks beat runs (scan reaper, grant expiry, audit pruning)."

    def handle(self, *args, **options):
        for task, created in periodic_tasks_ensure():
            every = task.interval.every if task.interval else "?"
            state = "created" if created else "updated"
            enabled = "" if task.enabled else " (disabled in the admin; left disabled)"
            self.stdout.write(f"{task.name}: {task.task} every {every} s, expires after {task.expire_seconds} s "
                              f"— {state}{enabled}")
