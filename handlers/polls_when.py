"""Reading a closing time as the secretariat types it (Tbilisi time), in any of four languages.

`18:00` (today, or tomorrow if past), `5.12 18:00`, `5.12.2026 18:00`, `2026-12-05 18:00`,
a date alone (23:59 that day), or a duration: `90m`, `2h`, `3d`, `2w` (also `3 დღე`,
`2 часа`, `3 gün`, ...).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_UNITS: tuple[tuple[str, timedelta], ...] = (
    (r"m|min|mins|minutes?|წთ|წუთი?|мин\w*|м|dəq\w*|deq\w*|dk", timedelta(minutes=1)),
    (r"h|hrs?|hours?|სთ|საათი?|ч|час\w*|saat", timedelta(hours=1)),
    (r"d|days?|დღე|დღით|дн\w*|д|день|gün|gun", timedelta(days=1)),
    (r"w|wk|weeks?|კვირა|კვირით|нед\w*|həftə|hefte", timedelta(weeks=1)),
)
DURATION_RE = re.compile(r"^(\d{1,4})\s*([^\d\s]+)$")
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")  # `20.06` is a date, never 20:06
DMY_RE = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{4}))?$")
ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _duration(text: str) -> timedelta | None:
    match = DURATION_RE.match(text.casefold())
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    for pattern, size in _UNITS:
        if re.fullmatch(pattern, unit):
            return size * amount
    return None


def _time(text: str) -> time | None:
    match = TIME_RE.match(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _date(text: str, today: date) -> date | None:
    try:
        if (iso := ISO_RE.match(text)) is not None:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if (dmy := DMY_RE.match(text)) is not None:
            day, month = int(dmy.group(1)), int(dmy.group(2))
            if dmy.group(3):
                return date(int(dmy.group(3)), month, day)
            candidate = date(today.year, month, day)
            return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None
    return None


def parse_closing(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The moment meant by `text` (aware, in `tz`), or None when it cannot be read."""
    text = " ".join(text.strip().split())
    if not text:
        return None
    duration = _duration(text)
    if duration is not None:
        return now.astimezone(tz) + duration
    local_now = now.astimezone(tz)
    parts = text.split(" ")
    if len(parts) == 1:
        only_time = _time(parts[0])
        if only_time is not None:
            moment = datetime.combine(local_now.date(), only_time, tzinfo=tz)
            return moment if moment > local_now else moment + timedelta(days=1)
        day = _date(parts[0], local_now.date())
        return datetime.combine(day, time(23, 59), tzinfo=tz) if day else None
    if len(parts) == 2:
        day, at = _date(parts[0], local_now.date()), _time(parts[1])
        if day is not None and at is not None:
            return datetime.combine(day, at, tzinfo=tz)
    return None
