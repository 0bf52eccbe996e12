"""Budget windows from cron + time zone: deterministic, DST-aware, [start, end)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b00t_pulumi.budget import current_window, iso_utc, next_window_start, parse_time
from b00t_pulumi.errors import BudgetError


def t(text: str) -> datetime:
    return parse_time(text)


def test_daily_utc() -> None:
    w = current_window("0 0 * * *", "UTC", t("2026-11-22T13:05:00Z"))
    assert (iso_utc(w.start), iso_utc(w.end)) == ("2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")
    assert w.hours == 24
    assert w.key == "2026-11-22T00:00:00Z"


def test_start_is_inclusive_end_exclusive() -> None:
    at = t("2026-11-23T00:00:00Z")
    w = current_window("0 0 * * *", "UTC", at)
    assert w.start == at
    just_before = current_window("0 0 * * *", "UTC", at - timedelta(microseconds=1))
    assert just_before.end == at


def test_midnight_in_sydney() -> None:
    # 2026-11-22 is summer time in Sydney (UTC+11): local midnight is 13:00 UTC the day before.
    w = current_window("0 0 * * *", "Australia/Sydney", t("2026-11-22T20:00:00Z"))
    assert iso_utc(w.start) == "2026-11-22T13:00:00Z"
    assert iso_utc(w.end) == "2026-11-23T13:00:00Z"
    assert next_window_start("0 0 * * *", "Australia/Sydney", t("2026-11-22T12:59:59Z")) == t("2026-11-22T13:00:00Z")


def test_dst_days_in_sydney() -> None:
    # DST starts 2026-10-04 02:00 -> 03:00 local: that day is 23 hours long.
    spring = current_window("0 0 * * *", "Australia/Sydney", t("2026-10-04T05:00:00Z"))
    assert (iso_utc(spring.start), iso_utc(spring.end)) == ("2026-10-03T14:00:00Z", "2026-10-04T13:00:00Z")
    assert spring.hours == 23
    # DST ends 2026-04-05 03:00 -> 02:00 local: 25 hours.
    autumn = current_window("0 0 * * *", "Australia/Sydney", t("2026-04-05T05:00:00Z"))
    assert autumn.hours == 25


def test_skipped_and_repeated_wall_times() -> None:
    # 02:30 does not exist on 2026-10-04 in Sydney: it fires when the clocks jump (03:00 AEDT = 16:00Z).
    w = current_window("30 2 * * *", "Australia/Sydney", t("2026-10-03T20:00:00Z"))
    assert iso_utc(w.start) == "2026-10-03T16:00:00Z"
    # 02:30 happens twice on 2026-04-05: it fires once, at the first (15:30Z), not again at 16:30Z.
    w = current_window("30 2 * * *", "Australia/Sydney", t("2026-04-04T16:45:00Z"))
    assert iso_utc(w.start) == "2026-04-04T15:30:00Z"
    assert iso_utc(w.end) == "2026-04-05T16:30:00Z"


def test_hourly_and_yearly() -> None:
    w = current_window("0 * * * *", "UTC", t("2026-11-22T13:59:59Z"))
    assert (iso_utc(w.start), w.hours) == ("2026-11-22T13:00:00Z", 1)
    y = current_window("0 0 1 1 *", "UTC", t("2026-11-22T00:00:00Z"))
    assert (iso_utc(y.start), iso_utc(y.end)) == ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")


def test_bad_input_is_a_budget_error() -> None:
    with pytest.raises(BudgetError, match="cron"):
        current_window("every day", "UTC", t("2026-11-22T00:00:00Z"))
    with pytest.raises(BudgetError, match="time zone"):
        current_window("0 0 * * *", "Mars/Olympus", t("2026-11-22T00:00:00Z"))
    with pytest.raises(BudgetError, match="without a zone"):
        current_window("0 0 * * *", "UTC", datetime(2026, 11, 22))
    with pytest.raises(BudgetError, match="no zone"):
        parse_time("2026-11-22T00:00:00")


@settings(max_examples=150, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    expr=st.sampled_from(["0 0 * * *", "30 2 * * *", "0 */6 * * *", "15 * * * *", "0 9 * * 1-5"]),
    tz=st.sampled_from(["UTC", "Australia/Sydney", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
)
def test_window_contains_now_and_tiles(now: datetime, expr: str, tz: str) -> None:
    w = current_window(expr, tz, now)
    assert w.start <= now < w.end
    assert current_window(expr, tz, w.start) == w  # deterministic, and the start belongs to it
    nxt = current_window(expr, tz, w.end)
    assert nxt.start == w.end  # windows tile time: no gap, no overlap
    prev = current_window(expr, tz, w.start - timedelta(seconds=1))
    assert prev.end == w.start


def test_a_spec_window_is_the_models_window_and_empty_fields_take_its_defaults() -> None:
    from b00t_pulumi.budget.api import spec_window
    from b00t_pulumi.datum.orchestration import BudgetConstraint

    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    c = BudgetConstraint.model_validate({"daily_limit": "10", "reset_schedule": "0 */6 * * *",
                                         "timezone": "Australia/Sydney"})
    spec = {"dailyLimit": "10.00", "resetSchedule": c.reset_schedule, "timezone": c.timezone}
    assert spec_window(spec, now) == current_window(c.reset_schedule, c.timezone, now)
    default = BudgetConstraint.model_validate({"daily_limit": "10"})
    for empty in ({}, {"resetSchedule": "", "timezone": None}):
        assert spec_window(empty, now) == current_window(default.reset_schedule, default.timezone, now)
    with pytest.raises(BudgetError):
        spec_window({"resetSchedule": "every day"}, now)
