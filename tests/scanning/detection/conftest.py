"""Detection tests are pure Python: no database, no cache, no Django settings needed."""
import pytest


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Overrides tests/conftest.py's cache-clearing fixture: the engine has no cache, and these tests must also
    run without Django configured (``-p no:django``)."""
    yield
