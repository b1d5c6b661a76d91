"""The web chat's in-memory rate limiter and language choice."""

from __future__ import annotations

from bot.webchat.routes import preferred_language
from storage.limits import Rate, TokenBuckets


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    clock = FakeTime()
    limiter = TokenBuckets(Rate(burst=3, per_second=2.0), clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == 0.5  # one token comes back in half a second
    assert limiter.take("b") == 0.0  # keys are independent
    clock.now = 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0


def test_full_buckets_are_forgotten() -> None:
    clock = FakeTime()
    limiter = TokenBuckets(Rate(burst=1, per_second=1.0), clock=clock)
    for index in range(999):
        limiter.take(f"10.0.0.{index}")
    assert len(limiter) == 999
    clock.now = 10.0
    limiter.take("another")  # the 1000th check sweeps what has refilled
    assert len(limiter) <= 1


def test_preferred_language_by_weight() -> None:
    assert preferred_language("en-GB,en;q=0.9,da;q=0.8", "da") == "en"
    assert preferred_language("de-DE,da;q=0.5,en;q=0.7", "da") == "en"
    assert preferred_language("da-DK", "en") == "da"
    assert preferred_language("fr, de", "da") == "da"
    assert preferred_language("en;q=0, da;q=0.1", "en") == "da"
    assert preferred_language("en;q=nonsense", "da") == "da"
    assert preferred_language(None, "en") == "en"
