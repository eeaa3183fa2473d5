"""Signing up for a youth initiative, withdrawing, the team and the reserve list.

The team and the reserve list are the shared seats mechanism (models.seats, kind "youth",
capacity = target team size): a sign-up takes a seat while the team is below target, else
waits in line; a withdrawal frees the seat and the first in line is promoted. The
initiative's status follows: open ⇄ full. A sign-up row keeps the "why me" line and skills.

Simulated members (the dashboard's simulator, models.simulator) sign up and withdraw like
anyone — the conversation is answered as for a real member (a place in the team) — but never
take or free a real place (the seat pool is untouched, as for events' Going) and are in no
count: not in the team list, the participation numbers or an export.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import JSON, Column, Field, SQLModel, col, select

from models import seats
from models.audiences import is_youth
from models.audit import record_audit
from models.base import UTCDateTime, utcnow
from models.members import Member
from models.privacy import iso, register_exporter
from models.youth import (
    JOINABLE,
    SEAT_KIND,
    Initiative,
    InitiativeStatus,
    YouthRefused,
    move,
    skill_catalog,
)

MAX_WHY = 200


def clip_why(text: str) -> tuple[str, bool]:
    """The "why me" line as kept, and whether it had to be shortened (the member is told)."""
    cleaned = " ".join(text.split())
    return cleaned[:MAX_WHY], len(cleaned) > MAX_WHY


class YouthSignup(SQLModel, table=True):
    __tablename__ = "youth_signup"
    __table_args__ = (UniqueConstraint("initiative_id", "member_id", name="uq_youth_signup"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="youth_initiative.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    why: str = Field(default="", max_length=MAX_WHY)
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channel: str = Field(default="telegram", max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class SignupOutcome:
    status: str | None  # seated | waiting | released | None
    place: int | None = None  # place on the reserve list
    changed: bool = False
    promoted: list[int] = field(default_factory=list)
    spots_left: int = 0


@dataclass(frozen=True)
class TeamMember:
    member: Member
    signup: YouthSignup
    status: str  # seated | waiting


@dataclass(frozen=True)
class Band:
    youth_min: int
    youth_max: int


def eligible(member: Member, initiative: Initiative, *, band: Band, now: datetime) -> bool:
    if initiative.allows_non_youth:
        return True
    return is_youth(member, year=now.year, min_age=band.youth_min, max_age=band.youth_max)


async def spots_left(*, session: AsyncSession, initiative: Initiative) -> int:
    assert initiative.id is not None
    counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
    return counts.free(initiative.target_size) or 0


async def _sync_status(session: AsyncSession, initiative: Initiative) -> None:
    """open ⇄ full by how many seats are taken (the pool row is locked by the caller)."""
    if initiative.status not in JOINABLE:
        return
    left = await spots_left(session=session, initiative=initiative)
    status = InitiativeStatus.FULL if left == 0 else InitiativeStatus.OPEN
    if status != initiative.status:
        move(initiative, status, utcnow())
        session.add(initiative)
        await session.flush()


async def signup_of(
    *, session: AsyncSession, initiative_id: int, member_id: int
) -> YouthSignup | None:
    query = select(YouthSignup).where(
        YouthSignup.initiative_id == initiative_id, YouthSignup.member_id == member_id
    )
    return (await session.execute(query)).scalars().first()


async def sign_up(
    *,
    session: AsyncSession,
    initiative: Initiative,
    member: Member,
    band: Band,
    now: datetime,
    channel: str,
    why: str = "",
    skills: list[str] | None = None,
) -> SignupOutcome:
    """Join the team (or the reserve list when it is full). Asking again changes nothing."""
    assert initiative.id is not None and member.id is not None
    if initiative.status not in JOINABLE:
        raise YouthRefused("youth.refused_not_open")
    if now >= initiative.signup_deadline:
        raise YouthRefused("youth.refused_deadline_passed")
    if not eligible(member, initiative, band=band, now=now):
        raise YouthRefused("youth.refused_not_youth")
    if member.is_simulated:
        # The simulator tries the whole conversation, but a test person never takes a real
        # place: answered as in the team, the seats untouched (the pool lock serializes).
        await seats.ensure_pool(session=session, kind=SEAT_KIND, item_id=initiative.id)
        row = await signup_of(session=session, initiative_id=initiative.id, member_id=member.id)
        fresh = row is None or row.withdrawn_at is not None
        outcome = seats.SeatOutcome(seats.SeatStatus.SEATED, None, changed=fresh)
    else:
        outcome = await seats.take_seat(
            session=session,
            kind=SEAT_KIND,
            item_id=initiative.id,
            member_id=member.id,
            capacity=initiative.target_size,
        )
        row = await signup_of(session=session, initiative_id=initiative.id, member_id=member.id)
    if row is None:
        row = YouthSignup(initiative_id=initiative.id, member_id=member.id)
    if outcome.changed:
        row.created_at, row.withdrawn_at, row.channel = now, None, channel
    if why.strip():
        row.why = clip_why(why)[0]
    if skills is not None:
        row.skills = [s for s in skills if s in skill_catalog()]
    session.add(row)
    await session.flush()
    await _sync_status(session, initiative)
    if outcome.changed:
        await record_audit(
            session=session,
            action="youth.signed_up",
            actor_member_id=member.id,
            actor_label=channel,
            target=f"youth:{initiative.id}",
            details={"status": str(outcome.status)},
        )
    return SignupOutcome(
        outcome.status,
        outcome.place,
        outcome.changed,
        spots_left=await spots_left(session=session, initiative=initiative),
    )


async def update_signup(
    *,
    session: AsyncSession,
    initiative: Initiative,
    member: Member,
    why: str | None = None,
    skills: list[str] | None = None,
) -> YouthSignup:
    """The optional "why me" line and skills, added after the one-button sign-up."""
    assert initiative.id is not None and member.id is not None
    row = await signup_of(session=session, initiative_id=initiative.id, member_id=member.id)
    if row is None or row.withdrawn_at is not None:
        raise YouthRefused("youth.refused_not_signed_up")
    if why is not None:
        row.why = clip_why(why)[0]
    if skills is not None:
        row.skills = [s for s in skills if s in skill_catalog()]
    session.add(row)
    await session.flush()
    return row


async def withdraw(
    *, session: AsyncSession, initiative: Initiative, member: Member, now: datetime, channel: str
) -> SignupOutcome:
    """Leave the team or the reserve list; the first in line takes a freed seat."""
    assert initiative.id is not None and member.id is not None
    if member.is_simulated:  # never held a real place: nothing to free, nobody promoted
        await seats.ensure_pool(session=session, kind=SEAT_KIND, item_id=initiative.id)
        row = await signup_of(session=session, initiative_id=initiative.id, member_id=member.id)
        signed_up = row is not None and row.withdrawn_at is None
        outcome = seats.SeatOutcome(seats.SeatStatus.RELEASED if signed_up else None,
                                    changed=signed_up)  # fmt: skip
    else:
        outcome = await seats.release_seat(
            session=session,
            kind=SEAT_KIND,
            item_id=initiative.id,
            member_id=member.id,
            capacity=initiative.target_size,
        )
        row = await signup_of(session=session, initiative_id=initiative.id, member_id=member.id)
    if not outcome.changed:
        raise YouthRefused("youth.refused_not_signed_up")
    if row is not None:
        row.withdrawn_at = now
        session.add(row)
        await session.flush()
    await _sync_status(session, initiative)
    await record_audit(
        session=session,
        action="youth.withdrew",
        actor_member_id=member.id,
        actor_label=channel,
        target=f"youth:{initiative.id}",
        details={"promoted": outcome.promoted},
    )
    return SignupOutcome(
        outcome.status,
        None,
        True,
        list(outcome.promoted),
        await spots_left(session=session, initiative=initiative),
    )


async def team_of(*, session: AsyncSession, initiative: Initiative) -> list[TeamMember]:
    """The team (seated, in joining order) then the reserve list (in line order)."""
    assert initiative.id is not None
    people: list[TeamMember] = []
    for status in (seats.SeatStatus.SEATED, seats.SeatStatus.WAITING):
        for seat in await seats.seats_in(
            session=session, kind=SEAT_KIND, item_id=initiative.id, status=status
        ):
            member = await session.get(Member, seat.member_id)
            row = await signup_of(
                session=session, initiative_id=initiative.id, member_id=seat.member_id
            )
            if member is not None and row is not None:
                people.append(TeamMember(member, row, str(status)))
    return people


async def my_status(
    *, session: AsyncSession, initiative: Initiative, member: Member
) -> seats.SeatOutcome:
    assert initiative.id is not None and member.id is not None
    return await seats.seat_of(
        session=session, kind=SEAT_KIND, item_id=initiative.id, member_id=member.id
    )


async def open_for(
    *, session: AsyncSession, member: Member | None, band: Band, now: datetime
) -> list[Initiative]:
    """Joinable initiatives: ones this member may join first, open (spots left) before full,
    each by deadline; then the ones they may not join."""
    query = (
        select(Initiative)
        .where(col(Initiative.status).in_(list(JOINABLE)), col(Initiative.signup_deadline) > now)
        .order_by(col(Initiative.signup_deadline), col(Initiative.id))
    )
    found = list((await session.execute(query)).scalars())
    if member is None:
        return found
    return sorted(
        found,
        key=lambda i: (
            not eligible(member, i, band=band, now=now),
            i.status != InitiativeStatus.OPEN,
        ),
    )


@dataclass
class Participation:
    by_status: dict[str, int]
    by_community: dict[int | None, int]
    by_gender: dict[str | None, int]
    by_age: dict[str, int]
    signups: int
    people: int


def age_group(age: int | None) -> str:
    if age is None:
        return "?"
    for low, high in ((0, 17), (18, 24), (25, 29)):
        if low <= age <= high:
            return f"{low}-{high}"
    return "30+"


async def participation(*, session: AsyncSession, now: datetime) -> Participation:
    """Youth participation numbers: current sign-ups (team and reserve) by community,
    gender and age group, and initiatives per status — simulated members and what they
    proposed left out."""
    simulated = select(Member.id).where(col(Member.is_simulated).is_(True))
    initiatives = list(
        (
            await session.execute(
                select(Initiative).where(
                    col(Initiative.proposer_member_id).is_(None)
                    | col(Initiative.proposer_member_id).not_in(simulated)
                )
            )
        ).scalars()
    )
    by_status = Counter(i.status for i in initiatives)
    query = (
        select(YouthSignup, Member)
        .join(Member, col(Member.id) == col(YouthSignup.member_id))
        .where(col(YouthSignup.withdrawn_at).is_(None), col(Member.is_simulated).is_(False))
    )
    rows = list((await session.execute(query)).all())
    by_community: Counter[int | None] = Counter()
    by_gender: Counter[str | None] = Counter()
    by_age: Counter[str] = Counter()
    people: set[int] = set()
    for _signup, member in rows:
        by_community[member.community_id] += 1
        by_gender[member.gender] += 1
        by_age[age_group(member.age(now.year))] += 1
        people.add(member.id or 0)
    return Participation(
        dict(by_status), dict(by_community), dict(by_gender), dict(by_age), len(rows), len(people)
    )


async def export_signups(session: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    """/mydata: the member's youth initiative sign-ups (withdrawn ones too)."""
    rows = (
        await session.execute(
            select(YouthSignup, Initiative)
            .join(Initiative, col(Initiative.id) == col(YouthSignup.initiative_id))
            .where(col(YouthSignup.member_id) == member_id)
            .order_by(col(YouthSignup.id))
        )
    ).all()
    return [
        {
            "initiative": initiative.code,
            "title": initiative.title,
            "why": signup.why,
            "skills": list(signup.skills),
            "channel": signup.channel,
            "signed_up_at": iso(signup.created_at),
            "withdrawn_at": iso(signup.withdrawn_at),
        }
        for signup, initiative in rows
    ]


register_exporter("youth_signups", export_signups, label_key="members.mydata_youth_signups")
