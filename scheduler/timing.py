"""When a reminder may land: never at night (quiet hours) and never on a public holiday.

A reminder that would fall in a blocked time moves **later** (to the morning, or the morning of
the next working day) when that is still before the thing it reminds of (`not_after`), and
otherwise **earlier** (to the evening before: an hour before quiet hours begin, on the last
working day). Urgent items are never moved. Planning an already planned time changes nothing.

Quiet hours are the SMS_QUIET_WEEKDAYS / SMS_QUIET_WEEKENDS windows (the ones Georgian
providers observe for bulk SMS), read on each local day's own rule: Friday night starts at the
weekday hour, Saturday morning ends at the weekend hour.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import Settings
from models.holidays import Holidays, holidays_for

EVENING_MARGIN = timedelta(hours=1)  # "the evening before": an hour before quiet hours begin
_MAX_STEPS = 400  # a year of days: a file that blocks every day cannot loop forever


class Move(enum.StrEnum):
    NONE = "none"
    LATER = "later"
    EARLIER = "earlier"


@dataclass(frozen=True)
class Plan:
    send_at: datetime  # aware UTC
    move: Move = Move.NONE
    reason: str = ""  # "quiet" | "holiday" when moved


def parse_window(window: str) -> tuple[time, time]:
    """`"22:00-08:00"` → (22:00, 08:00); raises ValueError on anything else."""
    start, _, end = window.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


class Calendar:
    """Quiet hours and holidays in the LAG's time zone; every answer is in aware UTC."""

    def __init__(self, settings: Settings, holidays: Holidays | None = None) -> None:
        self.tz: ZoneInfo = settings.tz
        self.holidays = holidays if holidays is not None else holidays_for(settings)
        self._weekday = parse_window(settings.sms_quiet_weekdays)
        self._weekend = parse_window(settings.sms_quiet_weekends)

    # -- what is blocked --------------------------------------------------------------------
    def window(self, day: date) -> tuple[time, time]:
        return self._weekend if day.weekday() >= 5 else self._weekday

    def is_quiet(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        start, end = self.window(local.date())
        now = local.time().replace(tzinfo=None)
        if start == end:
            return False
        if start > end:  # across midnight, the usual case
            return now >= start or now < end
        return start <= now < end

    def is_holiday(self, moment: datetime) -> bool:
        return self.holidays.is_holiday(moment.astimezone(self.tz).date())

    def blocked(self, moment: datetime) -> str | None:
        """Why nothing non-urgent should land at `moment`: "holiday", "quiet" or None."""
        if self.is_holiday(moment):
            return "holiday"
        if self.is_quiet(moment):
            return "quiet"
        return None

    # -- moving -----------------------------------------------------------------------------
    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.tz)

    def morning(self, day: date) -> datetime:
        return self._at(day, self.window(day)[1])

    def evening(self, day: date) -> datetime:
        return self._at(day, self.window(day)[0]) - EVENING_MARGIN

    def next_open(self, moment: datetime) -> datetime:
        """The first moment >= `moment` that is neither quiet nor a holiday."""
        local = moment.astimezone(self.tz)
        for _ in range(_MAX_STEPS):
            day = local.date()
            if self.holidays.is_holiday(day):
                local = self.morning(day + timedelta(days=1))
            elif self.is_quiet(local):
                start, end = self.window(day)
                after_evening = start > end and local.time().replace(tzinfo=None) >= start
                local = self.morning(day + timedelta(days=1) if after_evening else day)
            else:
                return local.astimezone(moment.tzinfo)
        return moment

    def last_open(self, moment: datetime) -> datetime:
        """The evening before `moment`'s blocked stretch (the latest sensible earlier time)."""
        local = moment.astimezone(self.tz)
        for _ in range(_MAX_STEPS):
            day = local.date()
            if self.holidays.is_holiday(day):
                local = self.evening(day - timedelta(days=1))
            elif self.is_quiet(local):
                start, end = self.window(day)
                before_morning = start > end and local.time().replace(tzinfo=None) < end
                local = self.evening(day - timedelta(days=1) if before_morning else day)
            else:
                return local.astimezone(moment.tzinfo)
        return moment

    def plan(
        self, due_at: datetime, *, not_after: datetime | None = None, urgent: bool = False
    ) -> Plan:
        """When an item nominally due at `due_at` should really go."""
        reason = None if urgent else self.blocked(due_at)
        if reason is None:
            return Plan(due_at)
        later = self.next_open(due_at)
        if not_after is None or later < not_after:
            return Plan(later, Move.LATER, reason)
        return Plan(self.last_open(due_at), Move.EARLIER, reason)

    def lookahead_until(self, now: datetime) -> datetime:
        """How far ahead an item may be nominally due and still be planned to go by `now`.

        Only a move earlier brings an item forward, and it lands on the evening margin right
        before a blocked stretch: so look ahead only from that margin or inside a stretch, to
        the stretch's end.
        """
        if self.blocked(now) is None and self.blocked(now + EVENING_MARGIN) is None:
            return now
        return max(now, self.next_open(now + EVENING_MARGIN))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)
