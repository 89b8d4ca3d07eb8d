"""Reference data that value-only recognizers compare values against, loaded lazily once per process from
maintained packages (never from the test-data generator the benchmark corpus uses), and kept built in a persistent
cache (``cache.py``)."""
from . import people, places


def load_all() -> None:
    """Load every table now: a Celery worker's parent before it forks its children, or a memory measurement."""
    places.load_all()
    people.reference()
