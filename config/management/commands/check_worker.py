from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.tasks import worker_ping_task


class Command(BaseCommand):
    help = "Send a ping task through the broker and wait for a worker to answer."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=10.0, help="Seconds to wait for an answer.")

    def handle(self, *args, timeout: float, **options):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            self.stdout.write("No broker configured (CELERY_BROKER_URL unset): tasks run in process.")
            return
        try:
            answer = worker_ping_task.delay().get(timeout=timeout)
        except CeleryTimeout:
            raise CommandError(f"No worker answered within {timeout:g}s.") from None
        self.stdout.write(self.style.SUCCESS(f"Worker {answer['worker']} answered."))
