"""A sending rate limit per minute and per hour, to stay under a mail server's volume limits.

Sliding windows: a message may go when fewer than the limit went in the last 60 s (and the
last hour). The clock and the sleep are injectable so tests need not wait.
"""

import time
from bisect import bisect_right
from collections.abc import Callable

MINUTE, HOUR = 60.0, 3600.0


class RateLimiter:
    def __init__(self, per_minute: int = 0, per_hour: int = 0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """0 means no limit for that window."""
        self.limits = [(MINUTE, per_minute), (HOUR, per_hour)]
        self.clock, self.sleep = clock, sleep
        self.sent: list[float] = []  # send times, oldest first

    def delay(self) -> float:
        """Seconds until the next message may go (0 when it may go now)."""
        now = self.clock()
        if len(self.sent) > 4096:  # forget what no window can see any more
            del self.sent[:bisect_right(self.sent, now - HOUR)]
        wait = 0.0
        for window, limit in self.limits:
            first = bisect_right(self.sent, now - window)
            if limit > 0 and len(self.sent) - first >= limit:
                wait = max(wait, self.sent[len(self.sent) - limit] + window - now)
        return wait

    def wait(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Sleep until a message may go, in short steps; False when told to stop meanwhile."""
        while (pause := self.delay()) > 0:
            if should_stop():
                return False
            self.sleep(min(pause, 0.5))
        self.sent.append(self.clock())
        return True
