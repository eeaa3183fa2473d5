"""What a capability gives the scheduler: a provider answering "what is due at time T?".

A provider is a pure function of the database and the clock. Moving an event moves its
reminders (they are computed from its dates), cancelling it removes them, and nothing
depends on pickled jobs. Each `DueItem.key` is sent at most once (models.reminders).

Writing a provider
------------------
::

    class EventReminders(WindowProvider):
        name = "events"
        lookback = timedelta(days=8)  # how far back `due` looks (never less than 8 days)

        async def items(self, *, session, start, end, settings) -> list[DueItem]:
            # every reminder whose *nominal* time falls in [start, end), for every recipient
            ...

    def setup(rt):
        rt.scheduler.register(EventReminders())

`WindowProvider` derives the two methods the engine calls from `items()`; a provider may also
implement them directly (the `Provider` protocol):

- ``due(session, now, settings)``: items whose nominal time is <= now and that are still worth
  looking at (a bounded look-back of at least a week: an item moved past a holiday run goes
  days after its nominal time). Do not filter out what was already sent: the engine checks
  `reminder_log` in one query per tick; `not_after` decides what is too late.
- ``upcoming(session, now, until, settings)``: items whose nominal time is in (now, until].
  `/reminders` lists them (item, audience size, local time) with "send now" and "skip"; the
  engine also peeks a few hours ahead with it, to move a night-time reminder to the evening
  before. A provider without it (only `due`) still works, but is not listed in /reminders.

The fields of a `DueItem`:

- ``key``: unique per (item, recipient, reminder), e.g. ``"event:12:member:7:1d"``. It is what
  makes the item go once. Put the subject's time in it (``event:12@2026-05-03T10:00:...``) if
  moving the subject should re-arm a reminder already sent.
- ``ref``: one reminder of one subject for all its recipients, e.g. ``"event:12:1d"``: one line
  in /reminders, and what "send now" and "skip" act on. ``title``: that line's text (short),
  or ``title_key``: a catalog key, shown in the secretariat member's language.
- ``due_at``: the nominal time (aware, UTC). The engine moves it out of quiet hours and public
  holidays (unless ``urgent``): later (to the morning / the next working day) when that is still
  before ``not_after``, otherwise earlier (to the evening before). Providers may pre-shift with
  `scheduler.timing.Calendar.plan`; planning twice changes nothing.
- ``not_after``: the grace rule. After it the item is skipped and logged once (never "sent late
  but useless"). For a reminder of a thing that happens at a time: that time.
- ``message``: already in the member's language (`bot.i18n.t(key, member.language)`).
- ``urgent``: ignores quiet hours and holidays and goes on both channels (bot.outbound).

One-off personal notices need no provider of their own: `models.reminders.schedule_notice(...)`
stores one, and the built-in notice provider sends it (cancel with `cancel_notice`).
The weekly digest is extended with sections, not providers: `scheduler.digest.DigestSection`,
registered with `rt.scheduler.add_digest_section(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbound import Outgoing
from bot.settings import Settings
from models.members import Member
from models.outbox import Priority


@dataclass
class DueItem:
    key: str  # unique per (item, recipient, reminder), e.g. "event:12:member:7:1d"
    member: Member
    message: Outgoing  # already in the member's language
    due_at: datetime  # nominal time (aware UTC); the engine plans around quiet hours/holidays
    not_after: datetime | None = None  # grace rule: skipped (and logged) if not sent by then
    urgent: bool = False  # urgent items ignore quiet hours and holidays
    kind: str = "reminder"  # outbox kind
    ref: str | None = None  # one reminder of one subject, all recipients: "event:12:1d"
    title: str = ""  # what /reminders shows for the ref (plain text) ...
    title_key: str | None = None  # ... or a catalog key, shown in the reader's language
    priority: int = Priority.BULK

    @property
    def group(self) -> str:
        return self.ref or self.key


class DueProvider(Protocol):
    """The minimum a provider implements: what is due now."""

    name: str

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        """Items whose nominal `due_at` <= now (bounded look-back); the engine re-checks all."""
        ...


@runtime_checkable
class Provider(DueProvider, Protocol):
    """A provider /reminders can list ahead of time (implement both)."""

    async def upcoming(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[DueItem]:
        """Items whose nominal `due_at` is in (now, until]."""
        ...


@dataclass
class Planned:
    """Something a provider will send that is managed elsewhere (a scheduled broadcast): shown
    in /reminders for the whole picture, with where to change it."""

    send_at: datetime
    title: str  # plain text, e.g. the start of the broadcast's text
    recipients: int | None  # None: decided when it goes
    manage: str  # the command that manages it, e.g. "/scheduled"
    ref: str = ""


@runtime_checkable
class Planner(Protocol):
    """A provider whose items are not DueItems lists them for /reminders this way."""

    async def planned(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[Planned]: ...


# A reminder nominally due on the first day of a holiday run (Easter with 9 April: five days)
# goes on the next working morning: `due` must still find it then.
MIN_LOOKBACK = timedelta(days=8)


class WindowProvider:
    """A provider written as one method: the items whose nominal time is in [start, end).

    `due` looks back `lookback`, but never less than MIN_LOOKBACK (items moved past a run of
    holidays must still be found); the grace rule (`not_after`) decides what is too late.
    """

    name: str = "unnamed"
    lookback: timedelta = MIN_LOOKBACK

    async def items(
        self, *, session: AsyncSession, start: datetime, end: datetime, settings: Settings
    ) -> list[DueItem]:
        raise NotImplementedError

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        found = await self.items(
            session=session,
            start=now - max(self.lookback, MIN_LOOKBACK),
            end=now + timedelta(microseconds=1),
            settings=settings,
        )
        return [item for item in found if item.due_at <= now]

    async def upcoming(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[DueItem]:
        found = await self.items(
            session=session,
            start=now + timedelta(microseconds=1),
            end=until + timedelta(microseconds=1),
            settings=settings,
        )
        return [item for item in found if now < item.due_at <= until]
