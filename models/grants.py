"""The grant competition: calls for project proposals, with phases and deadlines.

A call (SMS code `G3`) states what it funds (Local Development Strategy priority areas), who
may apply, the grant range in GEL and the applicant's co-financing share, a link to the grant
manual, and its phases, each later than the one before::

    info sessions (linked events, announced as events) → idea / expression-of-interest deadline
    → shortlist announcement → project-writing training → full application deadline
    → interviews / field visits → results → contract signing

The two deadlines are required; the other phases are optional. Titles and descriptions are
kept per language (Georgian required, az/ru/en fall back as in bot.i18n.pick_content).

Status::

    draft ──publish──> published ──close──> closed        (the competition is over)
      │                    └──cancel──> cancelled          (applicants are told)
      └──cancel──> cancelled

The vocabulary and the checks are in models.grants_input, changes to a call in
models.grants_changes, interest and applicants' stages in models.grants_applicants, who a
reminder concerns in models.grants_recipients, counts and CSV in models.grants_reports.
Every change is audited (`grant.*`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.i18n import pick_content
from bot.sms.grammar import parse_code
from models.audiences import Audience
from models.audit import record_audit
from models.base import UTCDateTime, utcnow
from models.events import Event, EventStatus
from models.grants_input import (
    APPLICANT_TYPES,
    DEADLINES,
    MAX_URL,
    PHASES,
    REQUIRED_PHASES,
    ApplicantType,
    GrantInputError,
    GrantStateError,
    check_phases,
    check_terms,
    check_texts,
)
from models.members import Member

__all__ = [  # the vocabulary and checks live in models.grants_input; importable from here too
    "APPLICANT_TYPES", "DEADLINES", "PHASES", "REQUIRED_PHASES", "ApplicantType",
    "GrantInputError", "GrantStateError", "check_phases", "check_terms", "check_texts",
]  # fmt: skip


class GrantStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class GrantCall(SQLModel, table=True):
    __tablename__ = "grant_call"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=GrantStatus.DRAFT, max_length=20, index=True)
    title: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    priorities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    applicant_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_amount: int  # GEL
    max_amount: int  # GEL
    cofinancing_pct: int = 0  # the applicant's own share, at least this percent
    manual_url: str | None = Field(default=None, max_length=MAX_URL)
    idea_deadline: datetime = Field(sa_type=UTCDateTime, index=True)
    shortlist_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    training_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    full_deadline: datetime = Field(sa_type=UTCDateTime, index=True)
    interviews_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    results_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    contract_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sequence: int = 0  # bumped on every change applicants are told about
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def code(self) -> str:
        return f"G{self.id}"

    def title_in(self, language: str) -> str:
        return pick_content(self.title, language)[1]

    def description_in(self, language: str) -> str:
        return pick_content(self.description, language)[1]

    def phase(self, name: str) -> datetime | None:
        value = getattr(self, name)
        return value if isinstance(value, datetime) else None

    def phases(self) -> dict[str, datetime | None]:
        return {name: self.phase(name) for name in PHASES}

    def audience_filter(self) -> Audience:
        return Audience.from_json(self.audience)

    def accepts_interest(self, now: datetime) -> bool:
        """New interest is taken while the call is published and its idea deadline ahead."""
        return self.status == GrantStatus.PUBLISHED and now < self.idea_deadline

    def is_open(self, now: datetime) -> bool:
        """Published with a deadline still ahead (what members see in /grants and GRANTS)."""
        return self.status == GrantStatus.PUBLISHED and now < self.full_deadline

    def next_deadline(self, now: datetime) -> tuple[str, datetime] | None:
        for name in DEADLINES:
            moment = self.phase(name)
            if moment is not None and moment > now:
                return name, moment
        return None


class GrantInfoSession(SQLModel, table=True):
    """An info session or consultation of a call: an event of the events capability."""

    __tablename__ = "grant_info_session"
    __table_args__ = (UniqueConstraint("grant_id", "event_id", name="uq_grant_info_session"),)

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="grant_call.id", index=True)
    event_id: int = Field(foreign_key="event.id", index=True)


@dataclass
class GrantDraft:
    """Everything /newgrant (or the dashboard) collected, before it becomes a row."""

    title: dict[str, str]
    description: dict[str, str]
    priorities: list[str]
    applicant_types: list[str]
    min_amount: int
    max_amount: int
    cofinancing_pct: int
    idea_deadline: datetime
    full_deadline: datetime
    manual_url: str | None = None
    shortlist_at: datetime | None = None
    training_at: datetime | None = None
    interviews_at: datetime | None = None
    results_at: datetime | None = None
    contract_at: datetime | None = None
    audience: dict[str, Any] = field(default_factory=dict)
    info_sessions: list[int] = field(default_factory=list)  # event ids


def grant_id_from_code(text: str) -> int | None:
    """`G3`, `g3`, `გ3` (Georgian), or plain `3` → 3."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    code = parse_code(text)
    if code is None or not code.startswith("g"):
        return None
    return int(code[1:])


# -- validation -------------------------------------------------------------------------------


async def linkable_events(
    *,
    session: AsyncSession,
    event_ids: list[int],
    now: datetime,
    keep: frozenset[int] = frozenset(),
) -> list[Event]:
    """The events named as info sessions, or GrantInputError for an unknown, cancelled or past
    one (events in `keep` are already linked and stay whatever their state)."""
    events: list[Event] = []
    for event_id in event_ids:
        event = await session.get(Event, event_id)
        if event is None:
            raise GrantInputError("grants.err_event_unknown", code=f"E{event_id}")
        if event_id not in keep and (
            event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED) or event.starts_at <= now
        ):
            raise GrantInputError("grants.err_event_over", code=event.code)
        events.append(event)
    return events


def check_draft(draft: GrantDraft, *, now: datetime, sessions: list[Event]) -> None:
    check_texts(draft.title, draft.description)
    check_terms(
        draft.priorities,
        draft.applicant_types,
        draft.min_amount,
        draft.max_amount,
        draft.cofinancing_pct,
    )
    phases = {name: getattr(draft, name) for name in PHASES}
    check_phases(phases, now=now, sessions=[e.starts_at for e in sessions])


# -- life cycle -------------------------------------------------------------------------------


async def audit_call(
    session: AsyncSession,
    action: str,
    call: GrantCall,
    actor: Member | None,
    details: dict[str, Any] | None = None,
) -> None:
    await record_audit(
        session=session,
        action=action,
        actor_member_id=actor.id if actor else None,
        actor_label=f"member:{actor.id}" if actor else "system",
        target=f"grant:{call.id}",
        details=details or {},
    )


async def create_call(
    *, session: AsyncSession, draft: GrantDraft, actor: Member | None, now: datetime
) -> GrantCall:
    """A new draft call, validated as a whole; audited as `grant.create`."""
    sessions = await linkable_events(session=session, event_ids=draft.info_sessions, now=now)
    check_draft(draft, now=now, sessions=sessions)
    call = GrantCall(
        title={k: v.strip() for k, v in draft.title.items() if v and v.strip()},
        description={k: v.strip() for k, v in draft.description.items() if v and v.strip()},
        priorities=list(draft.priorities),
        applicant_types=[t for t in APPLICANT_TYPES if t in draft.applicant_types],
        min_amount=draft.min_amount,
        max_amount=draft.max_amount,
        cofinancing_pct=draft.cofinancing_pct,
        manual_url=draft.manual_url,
        audience=dict(draft.audience),
        created_by=actor.id if actor else None,
        created_at=now,
        updated_at=now,
        **{name: getattr(draft, name) for name in PHASES},
    )
    session.add(call)
    await session.flush()
    await link_sessions(session, call, [e.id for e in sessions if e.id is not None])
    await audit_call(session, "grant.create", call, actor)
    return call


async def link_sessions(session: AsyncSession, call: GrantCall, event_ids: list[int]) -> None:
    assert call.id is not None
    await session.execute(delete(GrantInfoSession).where(col(GrantInfoSession.grant_id) == call.id))
    for event_id in event_ids:
        session.add(GrantInfoSession(grant_id=call.id, event_id=event_id))
    await session.flush()


async def info_sessions(*, session: AsyncSession, call: GrantCall) -> list[Event]:
    """The call's linked events, soonest first (cancelled ones included: the card says so)."""
    rows = await session.execute(
        select(Event)
        .join(GrantInfoSession, col(GrantInfoSession.event_id) == col(Event.id))
        .where(GrantInfoSession.grant_id == call.id)
        .order_by(col(Event.starts_at), col(Event.id))
    )
    return list(rows.scalars())


async def get_call(*, session: AsyncSession, grant_id: int, lock: bool = False) -> GrantCall | None:
    query = (
        select(GrantCall).where(GrantCall.id == grant_id).execution_options(populate_existing=True)
    )
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def call_by_code(*, session: AsyncSession, code: str) -> GrantCall | None:
    grant_id = grant_id_from_code(code)
    return None if grant_id is None else await get_call(session=session, grant_id=grant_id)


async def list_calls(
    *, session: AsyncSession, statuses: tuple[str, ...] = (GrantStatus.PUBLISHED,), limit: int = 30
) -> list[GrantCall]:
    """Calls in these statuses, the nearest full-application deadline first."""
    query = (
        select(GrantCall)
        .where(col(GrantCall.status).in_(statuses))
        .order_by(col(GrantCall.full_deadline), col(GrantCall.id))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def open_calls(*, session: AsyncSession, now: datetime) -> list[GrantCall]:
    """Published calls with a deadline still ahead, the nearest next deadline first."""
    query = select(GrantCall).where(
        GrantCall.status == GrantStatus.PUBLISHED, col(GrantCall.full_deadline) > now
    )
    calls = list((await session.execute(query)).scalars())
    return sorted(calls, key=lambda c: ((c.next_deadline(now) or ("", c.full_deadline))[1], c.id))


STATE_ERRORS = {
    GrantStatus.DRAFT: "grants.err_is_draft",
    GrantStatus.PUBLISHED: "grants.err_is_published",
    GrantStatus.CLOSED: "grants.err_is_closed",
    GrantStatus.CANCELLED: "grants.err_is_cancelled",
}


def require_status(call: GrantCall, *allowed: str) -> None:
    if call.status not in allowed:
        raise GrantStateError(STATE_ERRORS[GrantStatus(call.status)], code=call.code)


async def mark_published(
    *, session: AsyncSession, call: GrantCall, actor: Member | None, now: datetime
) -> None:
    """draft → published; its phases must all still be ahead (announcing: the handler)."""
    require_status(call, GrantStatus.DRAFT)
    sessions = await info_sessions(session=session, call=call)
    live = [e.starts_at for e in sessions if e.status != EventStatus.CANCELLED]
    check_phases(call.phases(), now=now, sessions=live)
    call.status, call.published_at, call.updated_at = GrantStatus.PUBLISHED, now, now
    session.add(call)
    await audit_call(session, "grant.publish", call, actor)


async def mark_cancelled(
    *, session: AsyncSession, call: GrantCall, actor: Member | None, now: datetime
) -> None:
    require_status(call, GrantStatus.DRAFT, GrantStatus.PUBLISHED)
    call.status, call.cancelled_at, call.updated_at = GrantStatus.CANCELLED, now, now
    call.sequence += 1
    session.add(call)
    await audit_call(session, "grant.cancel", call, actor)


async def mark_closed(
    *, session: AsyncSession, call: GrantCall, actor: Member | None, now: datetime
) -> None:
    """published → closed: the competition is over; no more reminders."""
    require_status(call, GrantStatus.PUBLISHED)
    call.status, call.closed_at, call.updated_at = GrantStatus.CLOSED, now, now
    session.add(call)
    await audit_call(session, "grant.close", call, actor)
