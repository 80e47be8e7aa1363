"""The retry policy and the classification of answers: pure functions, tested as tables."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from federation.signatures import format_http_date
from outbox.delivery import DeliverySettings
from outbox.retry import Outcome, classify, next_delay, parse_retry_after, retry_schedule

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DEFAULTS = DeliverySettings()
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def always(value: float) -> Callable[[], float]:
    return lambda: value


def total(waits: list[timedelta]) -> timedelta:
    return sum(waits, timedelta(0))


def test_ceilings_double_from_the_base_and_stop_at_the_cap() -> None:
    ceilings = retry_schedule(DEFAULTS)  # rand always 1.0: the longest waits
    assert ceilings == [
        1 * MINUTE,
        2 * MINUTE,
        4 * MINUTE,
        8 * MINUTE,
        16 * MINUTE,
        32 * MINUTE,
        64 * MINUTE,
        128 * MINUTE,
        256 * MINUTE,
        512 * MINUTE,
        12 * HOUR,
        12 * HOUR,
        12 * HOUR,
        12 * HOUR,
    ]


def test_default_schedule_spans_about_two_days_like_peers_do() -> None:
    # 15 attempts, so 14 waits; Mastodon makes 17 attempts (16 retries) over ~2.5 days.
    assert 13 <= DEFAULTS.max_attempts <= 16
    longest = total(retry_schedule(DEFAULTS, rand=always(1.0)))
    shortest = total(retry_schedule(DEFAULTS, rand=always(0.0)))
    typical = total(retry_schedule(DEFAULTS, rand=always(0.5)))
    assert longest == timedelta(seconds=234_180)  # 2 days 17 h 03 min
    assert shortest == longest / 2  # 1 day 8 h 31 min
    assert typical == longest * 3 / 4  # 2 days 0 h 47 min, the average
    assert 1.5 * DAY < typical < 2.5 * DAY


def test_random_schedules_stay_between_the_bounds() -> None:
    rng = random.Random(7)
    for _ in range(200):
        span = total(retry_schedule(DEFAULTS, rand=rng.random))
        assert timedelta(seconds=117_090) <= span <= timedelta(seconds=234_180)


def test_no_delay_once_the_attempts_are_used_up() -> None:
    assert next_delay(14, settings=DEFAULTS, rand=always(0.5)) is not None
    assert next_delay(15, settings=DEFAULTS, rand=always(0.5)) is None
    assert next_delay(99, settings=DEFAULTS, rand=always(0.5)) is None


def test_jitter_spreads_each_wait_below_its_ceiling() -> None:
    third = 4 * MINUTE
    assert next_delay(3, settings=DEFAULTS, rand=always(0.0)) == third / 2
    assert next_delay(3, settings=DEFAULTS, rand=always(0.5)) == third * 3 / 4
    full = DeliverySettings(jitter=1.0)
    assert next_delay(3, settings=full, rand=always(0.0)) == timedelta(0)
    assert next_delay(3, settings=full, rand=always(0.25)) == third / 4
    none = DeliverySettings(jitter=0.0)
    assert next_delay(3, settings=none, rand=always(0.9)) == third


def test_huge_attempt_counts_do_not_overflow() -> None:
    endless = DeliverySettings(max_attempts=10_000)
    assert next_delay(5_000, settings=endless, rand=always(1.0)) == endless.max_delay
    assert next_delay(0, settings=endless, rand=always(1.0)) == endless.base_delay


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        (format_http_date(NOW + timedelta(minutes=5)), timedelta(minutes=5)),
        (format_http_date(NOW - timedelta(minutes=5)), timedelta(0)),
        ("99999999999999999999", timedelta(seconds=10**8)),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Outcome.SENT),
        (202, Outcome.SENT),
        (204, Outcome.SENT),
        (404, Outcome.GONE),
        (410, Outcome.GONE),
        (429, Outcome.RETRY_AFTER),
        (503, Outcome.RETRY_AFTER),
        (401, Outcome.RETRY),
        (408, Outcome.RETRY),
        (425, Outcome.RETRY),
        (400, Outcome.DEAD),
        (403, Outcome.DEAD),
        (405, Outcome.DEAD),
        (413, Outcome.DEAD),
        (422, Outcome.DEAD),
        (501, Outcome.DEAD),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (504, Outcome.RETRY),
        (301, Outcome.RETRY),
        (308, Outcome.RETRY),
    ],
)
def test_classify_statuses(status: int, expected: Outcome) -> None:
    assert classify(status, None) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError("refused"), Outcome.RETRY),
        (httpx.ConnectTimeout("slow"), Outcome.RETRY),
        (httpx.ReadTimeout("slow"), Outcome.RETRY),
        (httpx.RemoteProtocolError("disconnected"), Outcome.RETRY),
        (TimeoutError(), Outcome.RETRY),
        (OSError("network unreachable"), Outcome.RETRY),
        (RuntimeError("a surprise"), Outcome.RETRY),
        (httpx.UnsupportedProtocol("ftp"), Outcome.DEAD),
        (httpx.InvalidURL("bad"), Outcome.DEAD),
    ],
)
def test_classify_errors(error: Exception, expected: Outcome) -> None:
    assert classify(None, error) is expected


def test_a_status_wins_over_an_error_and_one_is_needed() -> None:
    assert classify(202, httpx.ReadError("body cut off")) is Outcome.SENT
    with pytest.raises(ValueError):
        classify(None, None)


def test_which_outcomes_retry() -> None:
    assert {o for o in Outcome if o.retries} == {Outcome.RETRY, Outcome.RETRY_AFTER}
