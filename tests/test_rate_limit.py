"""The sending rate limit, on a fake clock: exact over time, per minute and per hour."""

from itertools import pairwise

import pytest

from clerkdesk.services.rate_limit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def send_times(limiter: RateLimiter, clock: FakeClock, seconds: float) -> list[float]:
    """When each message went, sending as fast as allowed for `seconds`."""
    times, end = [], clock.now + seconds
    while clock.now < end:
        limiter.wait()
        times.append(clock.now)
    return [t for t in times if t < end]


def send_for(limiter: RateLimiter, clock: FakeClock, seconds: float) -> int:
    return len(send_times(limiter, clock, seconds))


@pytest.mark.parametrize(("per_minute", "minutes"), [(60, 10), (600, 3), (7, 60)])
def test_achieved_rate_matches_the_per_minute_limit(per_minute, minutes):
    clock = FakeClock()
    limiter = RateLimiter(per_minute, clock=clock, sleep=clock.sleep)
    sent = send_for(limiter, clock, minutes * 60)
    assert abs(sent - per_minute * minutes) <= per_minute * 0.05 + 1


def test_hourly_limit_holds_when_the_minute_limit_would_allow_more():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=100, per_hour=1000, clock=clock, sleep=clock.sleep)
    start = clock.now
    times = send_times(limiter, clock, 2 * 3600)
    assert sum(1 for t in times if t < start + 3600) == 1000
    assert len(times) == 2000
    assert all(b - a >= 3600 for a, b in zip(times, times[1000:], strict=False))


def test_no_limit_never_waits():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(10_000):
        limiter.wait()
    assert clock.now == 1000.0


def test_waiting_stops_when_told():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=1, clock=clock, sleep=clock.sleep)
    assert limiter.wait()
    assert limiter.wait(should_stop=lambda: True) is False


def test_messages_are_spaced_evenly_not_sent_in_a_burst():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=120, clock=clock, sleep=clock.sleep)
    times = send_times(limiter, clock, 10)
    gaps = [b - a for a, b in pairwise(times)]
    assert len(times) == 20
    assert min(gaps) == pytest.approx(0.5)
