"""The shared limiter: starts per window under any interleaving of workers, requests in flight,
and the pause a 429 or 503 puts on everyone. A fake clock, so nothing here depends on timing."""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ta_steget_cli.superoffice.limiter import Limiter, window_of

from .helpers import most_in_one_second


class FakeClock:
    """Time moves only when someone sleeps; thread-safe, so workers may share it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)


class RecordedStarts(deque[float]):
    """The limiter's window, keeping every start it ever counted."""

    def __init__(self) -> None:
        super().__init__()
        self.all: list[float] = []

    def append(self, value: float) -> None:
        self.all.append(value)
        super().append(value)


def recorded(limiter: Limiter) -> RecordedStarts:
    starts = RecordedStarts()
    limiter._starts = starts  # the test's only look inside: every start it counts
    return starts


def test_window_of_rates() -> None:
    assert window_of(10) == (10, 1.0)
    assert window_of(2.5) == (2, 1.0)  # half a start cannot be sent
    assert window_of(0.5) == (1, 2.0)
    with pytest.raises(ValueError):
        window_of(0)


def test_a_burst_of_the_rate_then_a_wait_of_the_window() -> None:
    clock = FakeClock()
    limiter = Limiter(4, 8, clock.monotonic, clock.sleep)
    starts = recorded(limiter)
    for _ in range(9):
        limiter.start()
        limiter.finish()
    window = 1.0
    assert starts.all == [0.0] * 4 + [pytest.approx(window)] * 4 + [pytest.approx(2 * window)]


def test_no_burst_of_twice_the_rate_at_a_second_boundary() -> None:
    """A token bucket full at 0.99 s and refilled at 1.0 s lets 2 x rate through in 0.02 s."""
    clock = FakeClock()
    limiter = Limiter(5, 10, clock.monotonic, clock.sleep)
    starts = recorded(limiter)
    clock.now = 0.99
    for _ in range(5):
        limiter.start()
        limiter.finish()
    clock.now = 1.0
    for _ in range(5):
        limiter.start()
        limiter.finish()
    assert most_in_one_second(starts.all) == 5
    assert min(starts.all[5:]) >= 0.99 + 1.0


def test_a_pause_holds_everyone_back() -> None:
    clock = FakeClock()
    limiter = Limiter(100, 4, clock.monotonic, clock.sleep)
    starts = recorded(limiter)
    limiter.start()
    limiter.pause(7.0)  # a 429 with Retry-After: 7 heard by one worker
    limiter.start()  # another worker's next request
    assert starts.all == [0.0, 7.0]
    limiter.pause(2.0)  # a shorter pause never shortens a longer one
    limiter.pause(1.0)
    limiter.start()
    assert starts.all[-1] == 9.0


def test_at_most_max_in_flight_at_once() -> None:
    limiter = Limiter(1000, 2)
    inside = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def worker() -> None:
        nonlocal inside, most
        limiter.start()
        with lock:
            inside += 1
            most = max(most, inside)
        release.wait(5)
        with lock:
            inside -= 1
        limiter.finish()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    # Wait (without timing) until two are inside: the other four must block on the slots.
    while True:
        with lock:
            if inside == 2:
                break
        threading.Event().wait(0.001)
    with lock:
        assert inside == 2
    release.set()
    for thread in threads:
        thread.join(10)
    assert most == 2


def test_a_failed_wait_gives_its_slot_back() -> None:
    def broken_sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    clock = FakeClock()
    limiter = Limiter(1, 1, clock.monotonic, broken_sleep)
    limiter.start()
    limiter.finish()
    with pytest.raises(KeyboardInterrupt):
        limiter.start()  # the window is full: it sleeps, and the sleep is interrupted
    clock.now = 5.0
    limiter.start()  # the slot was given back, or this would block for ever


@settings(max_examples=40, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=12),
    in_flight=st.integers(min_value=1, max_value=8),
    per_worker=st.lists(st.integers(min_value=1, max_value=12), min_size=2, max_size=8),
    oversleep=st.floats(min_value=0.0, max_value=0.5),
    pauses=st.lists(st.floats(min_value=0.0, max_value=3.0), max_size=3),
)
def test_never_more_than_the_rate_in_any_second_under_any_interleaving(
    rate: int, in_flight: int, per_worker: list[int], oversleep: float, pauses: list[float]
) -> None:
    """Workers on real threads (the scheduler picks the interleaving), sleeping too long by
    random amounts and pausing now and then: no one-second window ever holds more than `rate`
    starts, and no more than `in_flight` requests are out at once."""
    clock = FakeClock()
    limiter = Limiter(rate, in_flight, clock.monotonic, lambda s: clock.sleep(s + oversleep))
    starts = recorded(limiter)
    out = 0
    most_out = 0
    lock = threading.Lock()

    def worker(requests: int, index: int) -> None:
        nonlocal out, most_out
        for n in range(requests):
            limiter.start()
            with lock:
                out += 1
                most_out = max(most_out, out)
            if index < len(pauses) and n == 0:
                limiter.pause(pauses[index])
            clock.sleep(0.01)  # the request itself
            with lock:
                out -= 1
            limiter.finish()

    threads = [threading.Thread(target=worker, args=(n, i)) for i, n in enumerate(per_worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(starts.all) == sum(per_worker)
    assert most_in_one_second(starts.all) <= rate
    assert most_out <= in_flight


def test_max_in_flight_is_a_validated_config_key(tmp_path: Path) -> None:
    from ta_steget_cli.config import load_config
    from ta_steget_cli.errors import ConfigError

    from .conftest import merge, sandbox_document, to_toml

    document = sandbox_document("https://sod2.superoffice.com/Cust12345/api", tmp_path / "data")
    path = tmp_path / "config.toml"
    path.write_text(to_toml(document), encoding="utf-8")
    assert load_config(path).superoffice.max_in_flight == 4
    path.write_text(to_toml(merge(document, {"superoffice": {"max_in_flight": 8}})), "utf-8")
    assert load_config(path).superoffice.max_in_flight == 8
    for wrong in (0, 65, "many"):
        bad = merge(document, {"superoffice": {"max_in_flight": wrong}})
        path.write_text(to_toml(bad), encoding="utf-8")
        with pytest.raises(ConfigError, match=r"\[superoffice\] max_in_flight: found"):
            load_config(path)
