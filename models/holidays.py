"""Public holidays, from a data file (HOLIDAYS_FILE) another LAG can edit.

The scheduler never lands a reminder or digest on one (unless urgent), and the event and grant
forms warn about them::

    from models.holidays import holiday_warning, is_holiday

    if is_holiday(day, settings):
        ...
    warning = holiday_warning(day, member.language, settings)  # None on a working day

The file (see models/data/holidays.toml): `fixed` MM-DD days repeat every year, `dated`
YYYY-MM-DD days are one-off or moving (Orthodox Easter), `[names]` names a day per language,
`[observed_by]` lists days that matter to part of the population only (mentioned, not blocked).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.i18n import t
from bot.settings import PACKAGE_DATA, Settings, get_settings

DEFAULT_FILE = PACKAGE_DATA / "holidays.toml"
TBILISI = ZoneInfo("Asia/Tbilisi")


class HolidayFileError(ValueError):
    """The holidays file cannot be read; the message names the file and the bad entry."""


Names = dict[str, str]  # language -> name


@dataclass(frozen=True)
class Holidays:
    fixed: frozenset[str] = frozenset()  # "MM-DD"
    dated: frozenset[date] = frozenset()
    names: dict[str, Names] = field(default_factory=dict)  # "MM-DD" or "YYYY-MM-DD"
    observed: dict[str, Names] = field(default_factory=dict)  # "MM-DD" or "YYYY-MM-DD"

    def is_holiday(self, day: date) -> bool:
        return day in self.dated or day.strftime("%m-%d") in self.fixed

    def name(self, day: date, language: str) -> str | None:
        return _pick(self.names, day, language)

    def observed_name(self, day: date, language: str) -> str | None:
        return _pick(self.observed, day, language)

    def between(self, first: date, last: date) -> list[date]:
        """The holidays from `first` to `last`, both included."""
        days: list[date] = []
        day = first
        while day <= last:
            if self.is_holiday(day):
                days.append(day)
            day = date.fromordinal(day.toordinal() + 1)
        return days


def _pick(table: dict[str, Names], day: date, language: str) -> str | None:
    names = table.get(day.isoformat()) or table.get(day.strftime("%m-%d"))
    if not names:
        return None
    return names.get(language) or names.get("ka") or next(iter(names.values()), None)


def _month_day(value: object, path: Path) -> str:
    text = str(value)
    try:
        date.fromisoformat(f"2024-{text}")  # a leap year, so 02-29 is accepted
    except ValueError:
        raise HolidayFileError(f"{path}: {text!r} is not a MM-DD day") from None
    return text


def _iso_day(value: object, path: Path) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise HolidayFileError(f"{path}: {value!r} is not a YYYY-MM-DD date") from None


def _name_table(raw: object, path: Path, section: str) -> dict[str, Names]:
    if not isinstance(raw, dict):
        raise HolidayFileError(f"{path}: [{section}] must be a table")
    table: dict[str, Names] = {}
    for key, value in raw.items():
        day_key = str(key)
        if len(day_key) == 5:
            _month_day(day_key, path)
        else:
            day_key = _iso_day(day_key, path).isoformat()
        if isinstance(value, str):
            table[day_key] = {"en": value, "ka": value}
        elif isinstance(value, dict):
            table[day_key] = {str(lang): str(name) for lang, name in value.items()}
        else:
            raise HolidayFileError(f"{path}: [{section}] {day_key} must be a name or a table")
    return table


def read_holidays(path: Path) -> Holidays:
    """Parse and check a holidays file; HolidayFileError names the bad entry."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise HolidayFileError(f"{path}: no such holidays file") from None
    except tomllib.TOMLDecodeError as exc:
        raise HolidayFileError(f"{path}: {exc}") from None
    fixed, dated = data.get("fixed", []), data.get("dated", [])
    if not isinstance(fixed, list) or not isinstance(dated, list):
        raise HolidayFileError(f"{path}: `fixed` and `dated` must be lists")
    return Holidays(
        fixed=frozenset(_month_day(v, path) for v in fixed),
        dated=frozenset(_iso_day(v, path) for v in dated),
        names=_name_table(data.get("names", {}), path, "names"),
        observed=_name_table(data.get("observed_by", {}), path, "observed_by"),
    )


_cache: dict[Path, tuple[float, Holidays]] = {}


def load_holidays(path: Path | None = None) -> Holidays:
    """The holidays in `path` (the default file when None), re-read when the file changes."""
    path = Path(path or DEFAULT_FILE)
    mtime = path.stat().st_mtime if path.exists() else -1.0
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    holidays = read_holidays(path)
    _cache[path] = (mtime, holidays)
    return holidays


def holidays_for(settings: Settings | None = None) -> Holidays:
    return load_holidays((settings or get_settings()).holidays_file)


def _local_day(day: date, settings: Settings | None) -> date:
    if isinstance(day, datetime):
        tz = settings.tz if settings is not None else TBILISI
        return day.astimezone(tz).date() if day.tzinfo else day.date()
    return day


def is_holiday(day: date, settings: Settings | None = None) -> bool:
    """Is `day` (a date, or an aware datetime read in the LAG's time zone) a public holiday?"""
    return holidays_for(settings).is_holiday(_local_day(day, settings))


def holiday_warning(day: date, language: str, settings: Settings | None = None) -> str | None:
    """A one-line warning for a form when `day` is a public holiday (or observed by some)."""
    holidays = holidays_for(settings)
    local = _local_day(day, settings)
    when = format_date(local, "EEEE d MMMM y", locale=language if language else "ka")
    if holidays.is_holiday(local):
        name = holidays.name(local, language)
        if name:
            return t("reminders.holiday_warning", language, date=when, name=name)
        return t("reminders.holiday_warning_unnamed", language, date=when)
    observed = holidays.observed_name(local, language)
    if observed:
        return t("reminders.observed_warning", language, date=when, name=observed)
    return None
