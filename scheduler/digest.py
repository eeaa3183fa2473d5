"""The weekly digest: each member, in their language, what the coming week holds for them.

It goes at DIGEST_WEEKDAY / DIGEST_HOUR (default Monday 10:00, Asia/Tbilisi), or at the same
hour of the next working day when that day is a public holiday; a digest that could not go
within a day (the bot was down) is skipped. A member for whom no section has anything gets
nothing at all.

Capabilities add sections; the digest itself knows no events or grants::

    async def my_events(session, member, week_start, week_end) -> list[str]:
        # lines in member.language for [week_start, week_end) (aware UTC); [] when none
        ...

    rt.scheduler.add_digest_section(
        DigestSection(name="events", title_key="events.digest_title", lines=my_events, order=10)
    )

A `context` section (public holidays, built in) is shown beside others but alone never makes
a digest. A section that raises is left out of that member's digest and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.outbound import Outgoing, sms_body, with_stop_line
from bot.settings import Settings
from bot.sms.encoding import sms_info
from models.audiences import Audience, select_members
from models.members import Member
from models.reminders import logged_keys
from scheduler.providers import DueItem
from scheduler.timing import Calendar

if TYPE_CHECKING:
    from scheduler.engine import Scheduler

log = logging.getLogger(__name__)

DigestLines = Callable[[AsyncSession, Member, datetime, datetime], Awaitable[list[str]]]
GRACE = timedelta(days=1)  # a digest more than a day late is skipped
MAX_SMS_PARTS = 4
MAX_SECTION_LINES = 15
MAX_WEEKS_AHEAD = 5  # /reminders previews at most this many digests


@dataclass(frozen=True)
class DigestSection:
    name: str
    title_key: str  # the section's heading, a catalog key
    lines: DigestLines
    order: int = 50
    context: bool = False  # shown beside other sections only


def holiday_section(calendar: Callable[[], Calendar]) -> DigestSection:
    """Built in: the public holidays of the week (context only)."""

    async def lines(
        session: AsyncSession, member: Member, week_start: datetime, week_end: datetime
    ) -> list[str]:
        cal = calendar()
        last = week_end - timedelta(days=1)  # the week ends the day before the next digest
        days = cal.holidays.between(cal.local(week_start).date(), cal.local(last).date())
        language = member.language
        return [
            " — ".join(
                part
                for part in (
                    format_date(day, "EEE d MMMM", locale=language),
                    cal.holidays.name(day, language),
                )
                if part
            )
            for day in days
        ]

    return DigestSection(
        name="holidays", title_key="reminders.digest_holidays", lines=lines, order=90, context=True
    )


class DigestProvider:
    """One digest per member per week: key `digest:<week>:member:<id>`, ref `digest:<week>`."""

    name = "digest"

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._empty: dict[str, set[int]] = {}  # week -> members who had nothing when it went

    # -- when -------------------------------------------------------------------------------
    def week_start(self, settings: Settings, moment: datetime) -> datetime:
        """The latest nominal digest moment at or before `moment`."""
        tz = settings.tz
        local = moment.astimezone(tz)
        back = (local.weekday() - settings.digest_weekday) % 7
        start = datetime.combine(
            local.date() - timedelta(days=back), time(settings.digest_hour), tzinfo=tz
        )
        if start > local:
            start -= timedelta(days=7)
        return start.astimezone(UTC)

    def send_time(self, settings: Settings, start: datetime) -> datetime:
        """The digest day, or the same hour of the next working day after holidays."""
        holidays = self.scheduler.calendar.holidays
        local = start.astimezone(settings.tz)
        for offset in range(7):
            day = local.date() + timedelta(days=offset)
            if not holidays.is_holiday(day):
                return datetime.combine(day, local.timetz()).astimezone(UTC)
        return start

    @staticmethod
    def week_key(settings: Settings, start: datetime) -> str:
        return start.astimezone(settings.tz).date().isoformat()

    # -- the provider protocol ----------------------------------------------------------------
    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        latest = self.week_start(settings, now)
        items: list[DueItem] = []
        for start in (latest - timedelta(days=7), latest):
            send = self.send_time(settings, start)
            if send > now or now >= send + GRACE + timedelta(days=1):
                continue
            items += await self._items(session, settings, start, send, now)
        return items

    async def upcoming(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[DueItem]:
        start = self.week_start(settings, now)
        items: list[DueItem] = []
        for _ in range(MAX_WEEKS_AHEAD):
            send = self.send_time(settings, start)
            if send > until:
                break
            if now < send:
                items += await self._items(session, settings, start, send, None)
            start += timedelta(days=7)
        return items

    async def _items(
        self,
        session: AsyncSession,
        settings: Settings,
        start: datetime,
        send: datetime,
        now: datetime | None,
    ) -> list[DueItem]:
        week = self.week_key(settings, start)
        members = await select_members(session=session, audience=Audience(), now=send)
        keys = {m.id: f"digest:{week}:member:{m.id}" for m in members}
        done = await logged_keys(session=session, keys=keys.values())
        if now is not None:
            for old in sorted(self._empty)[:-3]:
                del self._empty[old]
        empty = self._empty.setdefault(week, set()) if now is not None else set()
        window_start = max(send, now) if now is not None else send
        window_end = start + timedelta(days=7)
        items: list[DueItem] = []
        for member in members:
            key = keys[member.id]
            if key in done or member.id in empty:
                continue
            message = await self.render(session, member, window_start, window_end)
            if message is None:
                if now is not None and member.id is not None:
                    empty.add(member.id)
                continue
            items.append(
                DueItem(
                    key=key, member=member, message=message, due_at=send,
                    not_after=send + GRACE, kind="digest", ref=f"digest:{week}",
                    title_key="reminders.digest_title",
                )
            )  # fmt: skip
        return items

    # -- what it says -------------------------------------------------------------------------
    async def render(
        self, session: AsyncSession, member: Member, week_start: datetime, week_end: datetime
    ) -> Outgoing | None:
        """The member's digest for [week_start, week_end), or None when nothing concerns them."""
        language = member.language
        parts: list[tuple[str, list[str]]] = []
        substantive = False
        for section in self.scheduler.digest_sections:
            try:
                async with session.begin_nested():
                    raw = await section.lines(session, member, week_start, week_end)
            except Exception:
                log.exception("digest section %s failed for member %s", section.name, member.id)
                continue
            lines = [line.strip() for line in raw if line and line.strip()]
            if not lines:
                continue
            substantive = substantive or not section.context
            parts.append((t(section.title_key, language), lines))
        if not substantive:
            return None
        tz = self.scheduler.rt.settings.tz
        header = t(
            "reminders.digest_header",
            language,
            start=format_date(week_start.astimezone(tz).date(), "d MMMM", locale=language),
            end=format_date(
                (week_end - timedelta(days=1)).astimezone(tz).date(), "d MMMM", locale=language
            ),
        )
        blocks = [header]
        for title, lines in parts:
            shown = lines[:MAX_SECTION_LINES]
            more = len(lines) - len(shown)
            block = [title] + [f"• {line}" for line in shown]
            if more:
                block.append(t("reminders.digest_more", language, count=more))
            blocks.append("\n".join(block))
        return Outgoing(text="\n\n".join(blocks), sms_text=self._sms(member, header, parts))

    def _sms(self, member: Member, header: str, parts: list[tuple[str, list[str]]]) -> str:
        """As many lines as fit in MAX_SMS_PARTS parts (in the member's script, with the stop
        line bot.outbound adds to bulk messages), then "…and N more"."""
        language = member.language
        lines = [f"- {line}" for _, section_lines in parts for line in section_lines]
        for shown in range(len(lines), 0, -1):
            more = len(lines) - shown
            body = [header, *lines[:shown]]
            if more:
                body.append(t("reminders.digest_more", language, count=more))
            text = "\n".join(body)
            final = sms_body(member, with_stop_line(text, language, "sms"))
            if sms_info(final).parts <= MAX_SMS_PARTS:
                return text
        return "\n".join([header, t("reminders.digest_more", language, count=len(lines))])
