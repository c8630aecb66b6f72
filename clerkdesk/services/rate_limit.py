"""A sending rate limit per minute and per hour, to stay under a mail server's volume limits.

Per minute, messages are spaced evenly (60 s ÷ the limit apart), so a server never sees a
burst; per hour, a message may go when fewer than the limit went in the last hour. The clock
and the sleep are injectable so tests need not wait.
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
        self.spacing = MINUTE / per_minute if per_minute > 0 else 0.0
        self.per_hour = per_hour
        self.clock, self.sleep = clock, sleep
        self.sent: list[float] = []  # send times, oldest first

    def delay(self) -> float:
        """Seconds until the next message may go (0 when it may go now)."""
        now = self.clock()
        if len(self.sent) > 4096:  # forget what no window can see any more
            del self.sent[:bisect_right(self.sent, now - HOUR)]
        wait = 0.0
        if self.sent and self.spacing:
            wait = self.sent[-1] + self.spacing - now
        in_last_hour = len(self.sent) - bisect_right(self.sent, now - HOUR)
        if self.per_hour > 0 and in_last_hour >= self.per_hour:
            wait = max(wait, self.sent[len(self.sent) - self.per_hour] + HOUR - now)
        return max(wait, 0.0)

    def wait(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Sleep until a message may go, in short steps, and count it as gone; False when
        told to stop meanwhile."""
        if not self.sleep_until_free(should_stop):
            return False
        self.sent.append(self.clock())
        return True

    def sleep_until_free(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Sleep until a message may go, without counting one; False when told to stop."""
        while (pause := self.delay()) > 0:
            if should_stop():
                return False
            self.sleep(min(pause, 0.5))
        return True
