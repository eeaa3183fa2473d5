"""Event reminders (a scheduler provider) and the events section of the weekly digest.

Rules (offsets are settings EVENT_REMINDERS_*, overridable per event with /editevent):

- General assembly (7d, 1d, 2h): the whole audience except "Not going"; who has not answered
  gets the RSVP buttons again.
- Board meeting (2d, 2h): the board (the event's audience) except "Not going".
- Training, workshop, seminar, conference, info session, other (1d, 2h): Going and Maybe; the
  waitlist gets a note with their place.

Reminders are computed from the event's dates, so moving the event moves them (the start time
is part of each key) and cancelling removes them. A reminder whose time came before the event
was published is not sent (the announcement is fresher); one found late (after downtime) is
still sent while at most half its lead time late, never after the start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import t
from bot.outbound import Outgoing
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.events_render import event_when, rsvp_buttons, short_when, sms_how_to_answer
from models.event_attendance import Attendee, attendees
from models.event_input import offset_delta
from models.event_rsvps import Answer, in_audience, rsvp_of
from models.events import Event, EventKind, EventStatus, reminders_of
from models.members import Member
from scheduler.digest import DigestSection
from scheduler.providers import DueItem, WindowProvider

ORDER = 60

WHOLE_AUDIENCE = (EventKind.ASSEMBLY, EventKind.BOARD)


def recipients(event: Event, people: list[Attendee]) -> list[Attendee]:
    """Who gets a reminder of this event, by its kind's rule."""
    if event.kind in WHOLE_AUDIENCE:
        return [
            a
            for a in people
            if a.status != "no" and (a.rsvp.invited_at is not None or a.rsvp.answer is not None)
        ]
    return [a for a in people if a.status in ("going", "maybe", "waitlist")]


def reminder_message(event: Event, person: Attendee, settings: Settings) -> Outgoing:
    language = person.member.language
    values = {
        "title": event.title_in(language),
        "when": event_when(event, language, settings),
        "place": event.place,
        "code": event.code,
    }
    sms_values = {**values, "when": short_when(event.starts_at, language, settings)}
    buttons = []
    if person.status == "going":
        checkin = person.rsvp.checkin_code or "—"
        text = t("events.reminder_going", language, checkin=checkin, **values)
        sms = t("events.sms_reminder_going", language, checkin=checkin, **sms_values)
    elif person.status == "waitlist":
        text = t("events.reminder_waitlist", language, position=person.place or 0, **values)
        sms = t("events.sms_reminder_waitlist", language, position=person.place or 0, **sms_values)
    else:  # maybe, or no answer yet (assembly / board)
        key = "events.reminder_maybe" if person.status == "maybe" else "events.reminder_unanswered"
        text = t(key, language, **values)
        sms = (
            t("events.sms_reminder", language, **sms_values)
            + "\n"
            + sms_how_to_answer(event, language)
        )
        buttons = rsvp_buttons(event, language, person.rsvp.answer)
    return Outgoing(text=text, sms_text=sms, buttons=buttons)


class EventReminders(WindowProvider):
    name = "events"
    lookback = timedelta(days=30)

    async def items(
        self, *, session: AsyncSession, start: datetime, end: datetime, settings: Settings
    ) -> list[DueItem]:
        events = (
            await session.execute(
                select(Event).where(
                    Event.status == EventStatus.PUBLISHED,
                    col(Event.starts_at) > start,
                    col(Event.starts_at) <= end + timedelta(days=400),
                )
            )
        ).scalars()
        found: list[DueItem] = []
        for event in events:
            found += await self._event_items(session, event, start, end, settings)
        return found

    async def _event_items(
        self,
        session: AsyncSession,
        event: Event,
        start: datetime,
        end: datetime,
        settings: Settings,
    ) -> list[DueItem]:
        items: list[DueItem] = []
        people: list[Attendee] | None = None
        stamp = event.starts_at.strftime("%Y%m%dT%H%M")
        for label in reminders_of(event, settings):
            lead = offset_delta(label)
            due = event.starts_at - lead
            if not (start <= due < end):
                continue
            if event.published_at is not None and due < event.published_at:
                continue  # the announcement itself is fresher than this reminder
            if people is None:
                people = await attendees(session=session, event=event)
            not_after = min(event.starts_at, due + lead / 2)
            for person in recipients(event, people):
                items.append(
                    DueItem(
                        key=f"event:{event.id}:{label}@{stamp}:m{person.member.id}",
                        member=person.member,
                        message=reminder_message(event, person, settings),
                        due_at=due,
                        not_after=not_after,
                        kind="event.reminder",
                        ref=f"event:{event.id}:{label}@{stamp}",
                        title=f"{event.code} · {label} · {event.title_in('ka')}",
                    )
                )
        return items


def digest_section(rt: Runtime) -> DigestSection:
    """The coming week's events this member can attend (not those they declined)."""

    async def lines(
        session: AsyncSession, member: Member, week_start: datetime, week_end: datetime
    ) -> list[str]:
        events = (
            await session.execute(
                select(Event)
                .where(
                    Event.status == EventStatus.PUBLISHED,
                    col(Event.starts_at) >= week_start,
                    col(Event.starts_at) < week_end,
                )
                .order_by(col(Event.starts_at))
            )
        ).scalars()
        language, out = member.language, []
        for event in events:
            assert event.id is not None and member.id is not None
            row = await rsvp_of(session=session, event_id=event.id, member_id=member.id)
            if row is None and not in_audience(event, member, rt.settings, week_start):
                continue
            if row is not None and row.answer == Answer.NO:
                continue
            when = short_when(event.starts_at, language, rt.settings)
            line = f"{event.code} · {when} · {event.title_in(language)}"
            if event.place:
                line += f" — {event.place}"
            if row is None or row.answer is None:
                line += " " + t("events.digest_answer_hint", language, code=event.code)
            out.append(line)
        return out

    return DigestSection(name="events", title_key="events.digest_title", lines=lines, order=10)


def setup(rt: Runtime) -> None:
    if rt.scheduler is not None:
        rt.scheduler.register(EventReminders())
        rt.scheduler.add_digest_section(digest_section(rt))
