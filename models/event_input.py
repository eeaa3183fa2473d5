"""What the secretariat types about an event, read strictly: local dates and times (Asia/Tbilisi
by default), an end time, a capacity, map coordinates, reminder offsets and event codes.

Every refusal is an EventInputError whose `key` is the catalog message to show.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

from bot.sms.grammar import parse_code


class EventInputError(ValueError):
    """Input the secretariat typed that cannot be used; `key` is the catalog message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


# -- parsing what the secretariat types ----------------------------------------------------

_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATE_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{2}|\d{4}))?$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_OFFSET = re.compile(r"^(\d{1,3})\s*([dhm])$")
_COORDS = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def _parse_date(text: str, today: date) -> date:
    iso = _DATE_ISO.match(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        dmy = _DATE_DMY.match(text)
        if dmy:
            day, month = int(dmy[1]), int(dmy[2])
            if dmy[3] is None:
                guess = date(today.year, month, day)
                return guess if guess >= today else date(today.year + 1, month, day)
            year = int(dmy[3]) + (2000 if len(dmy[3]) == 2 else 0)
            return date(year, month, day)
    except ValueError as exc:
        raise EventInputError("events.err_no_such_date") from exc
    raise EventInputError("events.err_datetime_format")


def _parse_time(text: str) -> time:
    match = _TIME.match(text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise EventInputError("events.err_datetime_format")
    return time(int(match[1]), int(match[2]))


def parse_local_datetime(text: str, *, tz: tzinfo, now: datetime) -> datetime:
    """`05.12.2026 10:00`, `5/12 10:00`, `2026-12-05 10:00` in the LAG's zone → aware UTC."""
    parts = text.strip().replace("T", " ").split()
    if len(parts) != 2:
        raise EventInputError("events.err_datetime_format")
    day = _parse_date(parts[0], now.astimezone(tz).date())
    local = datetime.combine(day, _parse_time(parts[1]), tzinfo=tz)
    return local.astimezone(now.tzinfo)


def parse_end(text: str, *, start: datetime, tz: tzinfo, now: datetime) -> datetime:
    """The end: a time on the start's day (`12:00`) or a full date and time."""
    text = text.strip()
    if _TIME.match(text):
        local_day = start.astimezone(tz).date()
        end = datetime.combine(local_day, _parse_time(text), tzinfo=tz).astimezone(start.tzinfo)
    else:
        end = parse_local_datetime(text, tz=tz, now=now)
    if end <= start:
        raise EventInputError("events.err_end_before_start")
    return end


def parse_capacity(text: str) -> int:
    cleaned = text.strip()
    if not re.fullmatch(r"-?\d{1,6}", cleaned):
        raise EventInputError("events.err_capacity")
    value = int(cleaned)
    if value <= 0:
        raise EventInputError("events.err_capacity")
    return value


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """`41.8266, 46.2790` (as copied from a map) → (lat, lon); None when it is not that."""
    match = _COORDS.match(text)
    if not match:
        return None
    lat, lon = float(match[1]), float(match[2])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def parse_offsets(text: str) -> list[str]:
    """`7d, 1d, 2h` → ["7d", "1d", "2h"] (largest first); raises on anything else."""
    items = [part.strip().lower() for part in re.split(r"[,\s]+", text) if part.strip()]
    if not items:
        raise EventInputError("events.err_reminders")
    for item in items:
        match = _OFFSET.match(item)
        if not match or int(match[1]) == 0:
            raise EventInputError("events.err_reminders")
    unique = {normalize_offset(item): offset_delta(item) for item in items}
    return sorted(unique, key=lambda k: unique[k], reverse=True)


def normalize_offset(item: str) -> str:
    match = _OFFSET.match(item.strip().lower())
    assert match is not None
    return f"{int(match[1])}{match[2]}"


def offset_delta(item: str) -> timedelta:
    match = _OFFSET.match(item.strip().lower())
    if match is None:
        raise EventInputError("events.err_reminders")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def event_id_from_code(text: str) -> int | None:
    """`E12`, `e12`, `Е12` (Cyrillic), `ე12`, or plain `12` → 12."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    code = parse_code(text)
    if code is None or not code.startswith("e"):
        return None
    return int(code[1:])
