"""When reminders land: quiet hours and public holidays, moved later or earlier (pure, no DB)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import Settings
from models.holidays import HolidayFileError, holiday_warning, is_holiday, read_holidays
from scheduler.timing import Calendar, Move

TBILISI = ZoneInfo("Asia/Tbilisi")


def at(text: str) -> datetime:
    """A Tbilisi wall-clock time, e.g. at("2026-05-05 23:30")."""
    return datetime.fromisoformat(text).replace(tzinfo=TBILISI)


def local(moment: datetime) -> str:
    return moment.astimezone(TBILISI).strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return Calendar(Settings(_env_file=None))


# -- quiet hours --------------------------------------------------------------------------
def test_a_night_reminder_moves_to_the_morning_when_that_is_still_in_time(cal: Calendar) -> None:
    # Tuesday 23:30, for an assembly on Wednesday at 18:00 → Wednesday 08:00.
    plan = cal.plan(at("2026-05-05 23:30"), not_after=at("2026-05-06 18:00"))
    assert local(plan.send_at) == "2026-05-06 08:00"
    assert (plan.move, plan.reason) == (Move.LATER, "quiet")


def test_a_night_reminder_moves_to_the_evening_before_when_morning_would_be_too_late(
    cal: Calendar,
) -> None:
    # "2 hours before" a 07:30 field visit is 05:30; 08:00 would be after it → 21:00 the day before.
    plan = cal.plan(at("2026-05-06 05:30"), not_after=at("2026-05-06 07:30"))
    assert local(plan.send_at) == "2026-05-05 21:00"
    assert (plan.move, plan.reason) == (Move.EARLIER, "quiet")


def test_weekend_quiet_hours_are_longer(cal: Calendar) -> None:
    # Weekend nights run 20:00-09:00: Saturday 08:30 waits; Sunday 22:00 goes back to 19:00.
    assert local(cal.plan(at("2026-05-23 08:30")).send_at) == "2026-05-23 09:00"
    sunday_evening = cal.plan(at("2026-05-24 22:00"), not_after=at("2026-05-25 07:00"))
    assert local(sunday_evening.send_at) == "2026-05-24 19:00"


def test_friday_night_starts_at_the_weekday_hour_and_ends_at_the_weekend_hour(
    cal: Calendar,
) -> None:
    assert cal.blocked(at("2026-05-22 21:30")) is None
    assert local(cal.plan(at("2026-05-22 22:30")).send_at) == "2026-05-23 09:00"


def test_daytime_and_urgent_items_are_never_moved(cal: Calendar) -> None:
    assert cal.plan(at("2026-05-05 15:00")).move == Move.NONE
    urgent = cal.plan(at("2026-05-06 03:00"), urgent=True)
    assert (local(urgent.send_at), urgent.move) == ("2026-05-06 03:00", Move.NONE)


# -- public holidays ------------------------------------------------------------------------
def test_a_reminder_on_a_holiday_run_moves_past_it(cal: Calendar) -> None:
    # 9 April 2026 (National Unity) and 10–13 April (Easter) form one run: next working morning.
    plan = cal.plan(at("2026-04-09 10:00"), not_after=at("2026-04-20 10:00"))
    assert local(plan.send_at) == "2026-04-14 08:00"
    assert (plan.move, plan.reason) == (Move.LATER, "holiday")


def test_a_reminder_on_a_holiday_moves_before_it_when_after_is_too_late(cal: Calendar) -> None:
    # The training is on Tuesday 14 April at 08:00: the reminder goes on 8 April in the evening.
    plan = cal.plan(at("2026-04-13 10:00"), not_after=at("2026-04-14 08:00"))
    assert local(plan.send_at) == "2026-04-08 21:00"
    assert plan.move == Move.EARLIER


def test_urgent_items_ignore_holidays(cal: Calendar) -> None:
    assert cal.plan(at("2026-01-01 12:00"), urgent=True).move == Move.NONE


def test_lookahead_only_near_a_blocked_stretch(cal: Calendar) -> None:
    afternoon = at("2026-05-05 15:00")
    assert cal.lookahead_until(afternoon) == afternoon
    assert local(cal.lookahead_until(at("2026-05-05 21:15"))) == "2026-05-06 08:00"
    # The evening before a five-day holiday run looks ahead to its end.
    assert local(cal.lookahead_until(at("2026-04-08 21:15"))) == "2026-04-14 08:00"


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(due=moments, lead=st.integers(min_value=0, max_value=72 * 60))
def test_planned_times_are_never_blocked_and_planning_twice_changes_nothing(
    cal: Calendar, due: datetime, lead: int
) -> None:
    not_after = due + timedelta(minutes=lead)
    plan = cal.plan(due, not_after=not_after)
    assert cal.blocked(plan.send_at) is None
    assert cal.plan(plan.send_at, not_after=not_after).send_at == plan.send_at
    if plan.move == Move.LATER:
        assert due < plan.send_at < not_after
    if plan.move == Move.EARLIER:
        assert plan.send_at < due


# -- the holidays file and the form helpers ---------------------------------------------------
def test_holidays_come_from_the_data_file() -> None:
    assert is_holiday(date(2026, 4, 9)) and is_holiday(date(2027, 5, 3))
    assert not is_holiday(date(2026, 4, 14))
    # An aware time is read in Tbilisi: 21:30 UTC on 8 April is already 9 April there.
    assert is_holiday(datetime(2026, 4, 8, 21, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ka", "ეროვნული ერთიანობის დღე"),
        ("az", "Milli Birlik günü"),
        ("ru", "День национального единства"),
        ("en", "Day of National Unity"),
    ],
)
def test_the_event_form_warns_about_a_holiday_in_each_language(
    language: str, expected: str
) -> None:
    warning = holiday_warning(date(2026, 4, 9), language)
    assert warning is not None and expected in warning and "⚠️" in warning


def test_no_warning_on_a_working_day_and_a_note_on_novruz() -> None:
    assert holiday_warning(date(2026, 4, 14), "en") is None
    note = holiday_warning(date(2026, 3, 21), "az")
    assert note is not None and "Novruz" in note


def test_another_lag_swaps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text('fixed = ["06-01"]\ndated = ["2030-09-15"]\n', encoding="utf-8")
    other = Settings(_env_file=None, holidays_file=path)
    assert is_holiday(date(2030, 6, 1), other) and is_holiday(date(2030, 9, 15), other)
    assert not is_holiday(date(2030, 4, 9), other)
    warning = holiday_warning(date(2030, 9, 15), "en", other)
    assert warning is not None and "public holiday" in warning


def test_a_bad_holidays_file_names_the_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text('fixed = ["13-45"]\n', encoding="utf-8")
    with pytest.raises(HolidayFileError, match="13-45"):
        read_holidays(path)
