"""A thread-safe rate limit for the requests a bulk action sends: one slot every 1/rps seconds."""

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Hands out send times on a fixed grid, so N workers together never exceed `rps` per second."""

    def __init__(self, rps: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not rps > 0:
            raise ValueError("rps must be positive")
        self.interval = 1.0 / rps
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
