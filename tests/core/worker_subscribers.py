"""A test-only subscriber, imported by the real Celery workers of test_events_worker (``--include``): it notes
each call in the file the event names, and the first call hangs, so that the test can kill the worker
mid-delivery."""
from __future__ import annotations

import os
import time
from pathlib import Path

from core.events import subscribe

HANG_S = 600


@subscribe("test.slow_delivery")
def note_then_hang_the_first_time(event) -> None:
    marks = Path(event.payload["marks"])
    earlier = marks.read_text().splitlines() if marks.exists() else []
    with marks.open("a") as out:
        out.write(f"{os.getpid()}\n")
    if not earlier:
        time.sleep(HANG_S)
