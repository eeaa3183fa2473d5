"""Events: general assemblies, board meetings, trainings, workshops, info sessions …

Status::

    draft ──publish──> published ──(edit time/place: `sequence` +1, `changed_at`)──> published
      │                    ├──cancel──> cancelled      (RSVPs closed, answerers told)
      └──cancel──> cancelled └──its end passes──> completed   (stored by `complete_past_events`)

Titles and descriptions are kept per language ({"ka": …, "az": …}); Georgian is required and
the others fall back to it (bot.i18n.pick_content). Times are stored in UTC and entered and
shown in the LAG's time zone (typed input is read by models.event_input). The SMS code of
event 12 is `E12`. Answers live in models.event_rsvps, the attendance list and check-in in
models.event_attendance, and capacity with the waitlist in models.seats.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.i18n import pick_content
from bot.settings import Settings
from models.audiences import Audience
from models.audit import record_audit
from models.base import UTCDateTime, utcnow
from models.event_input import (
    EventInputError,
    event_id_from_code,
    normalize_offset,
    offset_delta,
    parse_capacity,
    parse_coordinates,
    parse_end,
    parse_local_datetime,
    parse_offsets,
)
from models.members import Member

# Re-exported: code written before models.event_input existed imports them from here.
__all__ = [
    "EventInputError",
    "event_id_from_code",
    "normalize_offset",
    "offset_delta",
    "parse_capacity",
    "parse_coordinates",
    "parse_end",
    "parse_local_datetime",
    "parse_offsets",
]

SEAT_KIND = "event"  # the models.seats pool kind for event seats
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_PLACE = 300


class EventKind(enum.StrEnum):
    ASSEMBLY = "assembly"  # General Assembly
    BOARD = "board"  # Management Board meeting
    TRAINING = "training"
    WORKSHOP = "workshop"
    SEMINAR = "seminar"
    CONFERENCE = "conference"
    INFO_SESSION = "info_session"
    OTHER = "other"


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Event(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    status: str = Field(default=EventStatus.DRAFT, max_length=20, index=True)
    title: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=MAX_PLACE)
    latitude: float | None = None
    longitude: float | None = None
    capacity: int | None = None
    rsvp_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Reminder offsets like ["7d", "1d", "2h"]; None: the settings' default for the kind.
    reminders: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sequence: int = 0  # bumped on every change of time or place (the .ics SEQUENCE)
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def code(self) -> str:
        return f"E{self.id}"

    def title_in(self, language: str) -> str:
        return pick_content(self.title, language)[1]

    def description_in(self, language: str) -> str:
        return pick_content(self.description, language)[1]

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def rsvp_closes_at(self) -> datetime:
        return min(self.rsvp_deadline, self.starts_at) if self.rsvp_deadline else self.starts_at

    def rsvp_open(self, now: datetime) -> bool:
        return self.status == EventStatus.PUBLISHED and now < self.rsvp_closes_at()

    def audience_filter(self) -> Audience:
        return Audience.from_json(self.audience)


def default_reminders(kind: str, settings: Settings) -> list[str]:
    if kind == EventKind.ASSEMBLY:
        return parse_offsets(settings.event_reminders_assembly)
    if kind == EventKind.BOARD:
        return parse_offsets(settings.event_reminders_board)
    return parse_offsets(settings.event_reminders_training)


def reminders_of(event: Event, settings: Settings) -> list[str]:
    return (
        event.reminders if event.reminders is not None else default_reminders(event.kind, settings)
    )


# -- validation and life cycle ---------------------------------------------------------------


@dataclass
class EventDraft:
    """Everything `/newevent` (or the dashboard) collected, before it becomes a row."""

    kind: str
    title: dict[str, str]
    description: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    place: str
    latitude: float | None = None
    longitude: float | None = None
    capacity: int | None = None
    rsvp_deadline: datetime | None = None
    audience: dict[str, Any] | None = None
    reminders: list[str] | None = None


def check_times(
    starts_at: datetime, ends_at: datetime, deadline: datetime | None, now: datetime
) -> None:
    if starts_at <= now:
        raise EventInputError("events.err_past")
    if ends_at <= starts_at:
        raise EventInputError("events.err_end_before_start")
    if deadline is not None and deadline <= now:
        raise EventInputError("events.err_deadline_past")
    if deadline is not None and deadline > starts_at:
        raise EventInputError("events.err_deadline_after_start")


def check_texts(title: dict[str, str], description: dict[str, str], place: str) -> None:
    if not (title.get("ka") or "").strip():
        raise EventInputError("events.err_title_required")
    if any(len(text) > MAX_TITLE for text in title.values()):
        raise EventInputError("events.err_too_long", limit=MAX_TITLE)
    if any(len(text) > MAX_DESCRIPTION for text in description.values()):
        raise EventInputError("events.err_too_long", limit=MAX_DESCRIPTION)
    if len(place) > MAX_PLACE:
        raise EventInputError("events.err_too_long", limit=MAX_PLACE)


def default_audience(kind: str) -> dict[str, Any]:
    return Audience.board().to_json() if kind == EventKind.BOARD else Audience.everyone().to_json()


async def create_event(
    *, session: AsyncSession, draft: EventDraft, actor: Member | None, now: datetime
) -> Event:
    """A new draft event, validated; audited as `event.create`."""
    if draft.kind not in set(EventKind):
        raise EventInputError("events.err_kind")
    check_texts(draft.title, draft.description, draft.place)
    check_times(draft.starts_at, draft.ends_at, draft.rsvp_deadline, now)
    if draft.capacity is not None and draft.capacity <= 0:
        raise EventInputError("events.err_capacity")
    event = Event(
        kind=draft.kind,
        title={k: v.strip() for k, v in draft.title.items() if v and v.strip()},
        description={k: v.strip() for k, v in draft.description.items() if v and v.strip()},
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        place=draft.place.strip(),
        latitude=draft.latitude,
        longitude=draft.longitude,
        capacity=draft.capacity,
        rsvp_deadline=draft.rsvp_deadline,
        audience=draft.audience if draft.audience is not None else default_audience(draft.kind),
        reminders=draft.reminders,
        created_by=actor.id if actor else None,
        created_at=now,
        updated_at=now,
    )
    session.add(event)
    await session.flush()
    await _audit(session, "event.create", event, actor, {"kind": event.kind})
    return event


async def _audit(
    session: AsyncSession,
    action: str,
    event: Event,
    actor: Member | None,
    details: dict[str, Any] | None = None,
) -> None:
    await record_audit(
        session=session,
        action=action,
        actor_member_id=actor.id if actor else None,
        actor_label=f"member:{actor.id}" if actor else "system",
        target=f"event:{event.id}",
        details=details or {},
    )


async def get_event(*, session: AsyncSession, event_id: int, lock: bool = False) -> Event | None:
    query = select(Event).where(Event.id == event_id).execution_options(populate_existing=True)
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def event_by_code(*, session: AsyncSession, code: str) -> Event | None:
    event_id = event_id_from_code(code)
    if event_id is None:
        return None
    return await get_event(session=session, event_id=event_id)


async def list_events(
    *,
    session: AsyncSession,
    now: datetime,
    statuses: tuple[str, ...] = (EventStatus.PUBLISHED,),
    include_past: bool = False,
    limit: int = 30,
) -> list[Event]:
    """Events in these statuses, soonest first; by default only those not yet over."""
    query = select(Event).where(col(Event.status).in_(statuses))
    if not include_past:
        query = query.where(col(Event.ends_at) > now)
    query = query.order_by(col(Event.starts_at), col(Event.id)).limit(limit)
    return list((await session.execute(query)).scalars())


async def complete_past_events(*, session: AsyncSession, now: datetime) -> list[Event]:
    """Published events whose end has passed become `completed` (audited once each).

    Idempotent and safe from several processes at once (the scheduler's tick, /events, /event):
    each event moves with one conditional UPDATE, so only the transaction that really changed
    it writes the audit row; on PostgreSQL a second one waits for the first and then finds the
    event no longer published.
    """
    candidates = (
        await session.execute(
            select(Event.id).where(Event.status == EventStatus.PUBLISHED, col(Event.ends_at) <= now)
        )
    ).scalars()
    done: list[Event] = []
    for event_id in list(candidates):
        result = await session.execute(
            update(Event)
            .where(col(Event.id) == event_id, col(Event.status) == EventStatus.PUBLISHED)
            .values(status=EventStatus.COMPLETED, completed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue  # another process completed it first
        event = await get_event(session=session, event_id=event_id)
        assert event is not None
        await _audit(session, "event.complete", event, None)
        done.append(event)
    return done


class EventStateError(ValueError):
    """The event is not in a state that allows this; `key` is the catalog message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def require_status(event: Event, *allowed: str) -> None:
    if event.status in allowed:
        return
    raise EventStateError(
        {
            EventStatus.CANCELLED: "events.err_is_cancelled",
            EventStatus.COMPLETED: "events.err_is_completed",
            EventStatus.DRAFT: "events.err_is_draft",
        }.get(EventStatus(event.status), "events.err_is_published")
    )


async def mark_published(
    *, session: AsyncSession, event: Event, actor: Member | None, now: datetime
) -> None:
    """draft → published (the announcement itself: models.event_rsvps.invite_audience)."""
    require_status(event, EventStatus.DRAFT)
    if event.starts_at <= now:
        raise EventInputError("events.err_past")
    event.status, event.published_at, event.updated_at = EventStatus.PUBLISHED, now, now
    session.add(event)
    await _audit(session, "event.publish", event, actor)


async def mark_cancelled(
    *, session: AsyncSession, event: Event, actor: Member | None, now: datetime
) -> None:
    require_status(event, EventStatus.DRAFT, EventStatus.PUBLISHED)
    event.status, event.cancelled_at, event.updated_at = EventStatus.CANCELLED, now, now
    event.sequence += 1
    session.add(event)
    await _audit(session, "event.cancel", event, actor)


NOTIFYING_FIELDS = frozenset({"starts_at", "ends_at", "place", "latitude", "longitude"})


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


async def apply_changes(
    *,
    session: AsyncSession,
    event: Event,
    changes: dict[str, Any],
    actor: Member | None,
    now: datetime,
) -> list[str]:
    """Change fields of a draft or published event; returns the names that really changed.

    Validates the result as a whole (times, texts, capacity); a change of time or place bumps
    `sequence` and `changed_at` — the caller tells the people who answered.
    """
    require_status(event, EventStatus.DRAFT, EventStatus.PUBLISHED)
    allowed = {
        "title", "description", "starts_at", "ends_at", "place", "latitude", "longitude",
        "capacity", "rsvp_deadline", "audience", "reminders",
    }  # fmt: skip
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    changed = [name for name, value in changes.items() if getattr(event, name) != value]
    if not changed:
        return []
    after = {name: changes[name] for name in changed}
    starts = after.get("starts_at", event.starts_at)
    ends = after.get("ends_at", event.ends_at)
    deadline = after.get("rsvp_deadline", event.rsvp_deadline)
    if {"starts_at", "ends_at", "rsvp_deadline"} & set(changed):
        check_times(starts, ends, deadline if "rsvp_deadline" in changed else None, now)
        if deadline is not None and deadline > starts:
            raise EventInputError("events.err_deadline_after_start")
    check_texts(
        after.get("title", event.title),
        after.get("description", event.description),
        after.get("place", event.place),
    )
    capacity = after.get("capacity", event.capacity)
    if capacity is not None and capacity <= 0:
        raise EventInputError("events.err_capacity")
    before = {name: _jsonable(getattr(event, name)) for name in changed}
    for name, value in after.items():
        setattr(event, name, value)
    event.updated_at = now
    if NOTIFYING_FIELDS & set(changed) and event.status == EventStatus.PUBLISHED:
        event.sequence += 1
        event.changed_at = now
    session.add(event)
    await session.flush()
    await _audit(
        session,
        "event.edit",
        event,
        actor,
        {"before": before, "after": {k: _jsonable(v) for k, v in after.items()}},
    )
    return changed
