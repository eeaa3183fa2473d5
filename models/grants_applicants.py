"""Interest in a grant call, and each applicant's stage in the competition.

A member says "I'm interested" (Telegram button, or `GRANT G3` by SMS) with their applicant
type, a project idea title (may come later) and village: one row per (call, member), which puts
them on the call's reminder list. A paper application brought to the office is the same row,
entered by the secretariat (channel "office", models.grants_office). The secretariat then
records each stage::

    interested ──> idea_received ──┬──> not_shortlisted
                                   ├──> full_application             (a call without a shortlist)
                                   └──> shortlisted ──┬──> not_funded (no full application came)
                                                      └──> full_application ──┬──> interview
                                                                              ├──> funded
                                                                              └──> not_funded
    interview ──> funded | not_funded

    interested … interview ──withdraw (member or secretariat)──> withdrawn ──restore──> stage before
    corrections: shortlisted <──> not_shortlisted, funded <──> not_funded

Each row keeps who the applicant was when they applied (community, sector, gender, youth) so
counts for donors hold even after the member changes their profile; `history` lists every
stage with its time and who set it. Erasure (/forget) blanks the idea, village and the gender
and youth snapshot.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from models.audiences import is_youth
from models.audit import record_audit
from models.base import UTCDateTime, utcnow
from models.grants import GrantCall, GrantStatus
from models.grants_input import (
    GrantInputError,
    GrantStateError,
    check_idea_title,
)
from models.member_fields import FieldError, validate_village
from models.members import Member, MemberStatus
from models.privacy import iso, register_eraser, register_exporter


class Stage(enum.StrEnum):
    INTERESTED = "interested"
    IDEA_RECEIVED = "idea_received"
    SHORTLISTED = "shortlisted"
    NOT_SHORTLISTED = "not_shortlisted"
    FULL_APPLICATION = "full_application"
    INTERVIEW = "interview"
    FUNDED = "funded"
    NOT_FUNDED = "not_funded"
    WITHDRAWN = "withdrawn"


STAGES: tuple[str, ...] = tuple(Stage)
# Still in the running (may withdraw; gets the reminders that concern them).
ACTIVE = frozenset(
    {Stage.INTERESTED, Stage.IDEA_RECEIVED, Stage.SHORTLISTED, Stage.FULL_APPLICATION,
     Stage.INTERVIEW}
)  # fmt: skip
RESULTS = frozenset({Stage.NOT_SHORTLISTED, Stage.FUNDED, Stage.NOT_FUNDED})
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Stage.INTERESTED: (Stage.IDEA_RECEIVED, Stage.WITHDRAWN),
    Stage.IDEA_RECEIVED: (Stage.SHORTLISTED, Stage.NOT_SHORTLISTED, Stage.FULL_APPLICATION,
                          Stage.WITHDRAWN),
    Stage.SHORTLISTED: (Stage.FULL_APPLICATION, Stage.NOT_FUNDED, Stage.NOT_SHORTLISTED,
                        Stage.WITHDRAWN),
    Stage.NOT_SHORTLISTED: (Stage.SHORTLISTED,),
    Stage.FULL_APPLICATION: (Stage.INTERVIEW, Stage.FUNDED, Stage.NOT_FUNDED, Stage.WITHDRAWN),
    Stage.INTERVIEW: (Stage.FUNDED, Stage.NOT_FUNDED, Stage.WITHDRAWN),
    Stage.FUNDED: (Stage.NOT_FUNDED,),
    Stage.NOT_FUNDED: (Stage.FUNDED,),
    Stage.WITHDRAWN: (),  # restored to the stage before (see `allowed_next`)
}  # fmt: skip
# How far an applicant got, for the funnel counts (a withdrawn one: the stage before).
LEVEL = {
    Stage.INTERESTED: 0, Stage.IDEA_RECEIVED: 1, Stage.NOT_SHORTLISTED: 1, Stage.SHORTLISTED: 2,
    Stage.FULL_APPLICATION: 3, Stage.INTERVIEW: 4, Stage.NOT_FUNDED: 2, Stage.FUNDED: 5,
}  # fmt: skip


class GrantApplicant(SQLModel, table=True):
    __tablename__ = "grant_applicant"
    __table_args__ = (UniqueConstraint("grant_id", "member_id", name="uq_grant_applicant"),)

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="grant_call.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    applicant_type: str = Field(max_length=20)
    idea_title: str = Field(default="", max_length=200)
    village: str = Field(default="", max_length=100)
    stage: str = Field(default=Stage.INTERESTED, max_length=20, index=True)
    channel: str = Field(default="telegram", max_length=20)  # where interest was registered
    community_id: int | None = Field(default=None, foreign_key="community.id")
    sector: str | None = Field(default=None, max_length=10)
    gender: str | None = Field(default=None, max_length=10)
    youth: bool | None = None
    # Set when funded (models.grants_office.record_award): the grant and the applicant's own
    # co-financing, in GEL; cleared when the applicant leaves "funded".
    awarded_amount: int | None = None
    cofinancing_amount: int | None = None
    history: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    stage_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def stage_before_withdrawal(self) -> str | None:
        """The last stage before `withdrawn` (to restore it, or to count how far they got)."""
        for entry in reversed(self.history):
            stage = str(entry.get("stage", ""))
            if stage and stage != Stage.WITHDRAWN:
                return stage
        return None

    @property
    def level(self) -> int:
        stage = self.stage
        if stage == Stage.WITHDRAWN:
            stage = self.stage_before_withdrawal() or Stage.INTERESTED
        return LEVEL.get(Stage(stage), 0)


@dataclass
class InterestOutcome:
    applicant: GrantApplicant
    created: bool  # a new row (False: details changed, or a withdrawn interest renewed)
    restored: bool = False


def _snapshot(
    applicant: GrantApplicant, member: Member, now: datetime, ages: tuple[int, int]
) -> None:
    applicant.community_id = member.community_id
    applicant.sector = member.sector
    applicant.gender = member.gender
    if member.birth_year is None:
        applicant.youth = None
    else:
        applicant.youth = is_youth(member, year=now.year, min_age=ages[0], max_age=ages[1])


def _record(applicant: GrantApplicant, stage: str, now: datetime, by: int | None) -> None:
    applicant.history = [
        *applicant.history,
        {"stage": stage, "at": now.isoformat(), "by": by},
    ]
    applicant.stage, applicant.stage_at, applicant.updated_at = stage, now, now


async def _audit(
    session: AsyncSession, action: str, applicant: GrantApplicant, actor: Member | None,
    details: dict[str, Any], label: str = "",
) -> None:  # fmt: skip
    await record_audit(
        session=session,
        action=action,
        actor_member_id=actor.id if actor else None,
        actor_label=label or (f"member:{actor.id}" if actor else "system"),
        target=f"grant:{applicant.grant_id}:applicant:{applicant.id}",
        details=details,
    )


async def applicant_of(
    *, session: AsyncSession, grant_id: int, member_id: int
) -> GrantApplicant | None:
    query = select(GrantApplicant).where(
        GrantApplicant.grant_id == grant_id, GrantApplicant.member_id == member_id
    )
    return (
        (await session.execute(query.execution_options(populate_existing=True))).scalars().first()
    )


async def get_applicant(*, session: AsyncSession, applicant_id: int) -> GrantApplicant | None:
    query = select(GrantApplicant).where(GrantApplicant.id == applicant_id)
    return (
        (await session.execute(query.execution_options(populate_existing=True))).scalars().first()
    )


def check_village(text: str) -> str:
    try:
        return validate_village(text)
    except FieldError as exc:
        key = "grants.err_village_long" if exc.key.endswith("_long") else "grants.err_village"
        raise GrantInputError(key) from exc


def check_type(call: GrantCall, applicant_type: str) -> str:
    if applicant_type not in call.applicant_types:
        raise GrantInputError("grants.err_type_not_eligible")
    return applicant_type


async def register_interest(
    *,
    session: AsyncSession,
    call: GrantCall,
    member: Member,
    applicant_type: str,
    idea_title: str,
    village: str,
    channel: str,
    now: datetime,
    youth_ages: tuple[int, int] = (14, 29),
    actor: Member | None = None,
    actor_label: str = "",
) -> InterestOutcome:
    """Record (or update, or renew after a withdrawal) a member's interest in a call.

    Taken while the call accepts interest (published, before the idea deadline); the details
    of an existing interest can change until the idea is received. `actor` is who entered it
    when not the member (the secretariat, for a paper application: channel "office");
    `actor_label` without an `actor` names someone who is no member (a web account).
    """
    assert call.id is not None and member.id is not None
    by = actor if actor is not None or actor_label else member  # who entered it
    if member.status != MemberStatus.ACTIVE:
        raise GrantStateError("grants.err_not_member")
    if not call.accepts_interest(now):
        key = (
            "grants.err_interest_closed"
            if call.status == GrantStatus.PUBLISHED
            else ("grants.err_not_open")
        )
        raise GrantStateError(key, code=call.code, when=call.idea_deadline)
    check_type(call, applicant_type)
    title = check_idea_title(idea_title)
    place = check_village(village)
    applicant = await applicant_of(session=session, grant_id=call.id, member_id=member.id)
    created = restored = False
    if applicant is None:
        applicant = GrantApplicant(
            grant_id=call.id, member_id=member.id, applicant_type=applicant_type, channel=channel,
            created_at=now,
        )  # fmt: skip
        _record(applicant, Stage.INTERESTED, now, by.id if by else None)
        created = True
    elif applicant.stage == Stage.WITHDRAWN:
        before = applicant.stage_before_withdrawal()
        early = (Stage.INTERESTED, Stage.IDEA_RECEIVED)
        _record(
            applicant, before if before in early else Stage.INTERESTED, now, by.id if by else None
        )
        restored = True
    elif applicant.stage != Stage.INTERESTED:
        raise GrantStateError("grants.err_details_locked", code=call.code)
    applicant.applicant_type, applicant.idea_title, applicant.village = applicant_type, title, place
    applicant.channel, applicant.updated_at = channel, now
    _snapshot(applicant, member, now, youth_ages)
    session.add(applicant)
    await session.flush()
    action = "grant.interest" if created or restored else "grant.interest_update"
    details: dict[str, Any] = {"type": applicant_type, "channel": channel}
    if by is None or by.id != member.id:
        details["for_member"] = member.id
    await _audit(session, action, applicant, by, details, label=actor_label if by is None else "")
    return InterestOutcome(applicant, created, restored)


def allowed_next(call: GrantCall, applicant: GrantApplicant) -> list[str]:
    """The stages the secretariat may move this applicant to now."""
    if applicant.stage == Stage.WITHDRAWN:
        before = applicant.stage_before_withdrawal()
        return [before] if before else []
    options = list(TRANSITIONS[Stage(applicant.stage)])
    if call.shortlist_at is not None and applicant.stage == Stage.IDEA_RECEIVED:
        options.remove(Stage.FULL_APPLICATION)
    return options


async def set_stage(
    *,
    session: AsyncSession,
    call: GrantCall,
    applicant: GrantApplicant,
    stage: str,
    actor: Member | None,
    now: datetime,
    expected: str | None = None,
) -> str:
    """Move an applicant to `stage` (audited `grant.stage`); returns the stage before.

    `expected` is the stage the secretariat saw: when someone else changed it meanwhile, the
    change is refused rather than applied on top.
    """
    if call.status not in (GrantStatus.PUBLISHED, GrantStatus.CLOSED):
        raise GrantStateError("grants.err_stage_call_state", code=call.code)
    before = applicant.stage
    if expected is not None and expected != before:
        raise GrantStateError("grants.err_stage_changed")
    if stage not in allowed_next(call, applicant):
        raise GrantStateError("grants.err_stage_not_allowed")
    _record(applicant, stage, now, actor.id if actor else None)
    if stage != Stage.FUNDED:  # an award belongs to "funded" only
        applicant.awarded_amount = applicant.cofinancing_amount = None
    session.add(applicant)
    await session.flush()
    await _audit(session, "grant.stage", applicant, actor, {"from": before, "to": stage})
    return before


async def withdraw(
    *, session: AsyncSession, call: GrantCall, applicant: GrantApplicant, member: Member,
    now: datetime,
) -> None:  # fmt: skip
    """The member withdraws their own interest or application (any active stage)."""
    if applicant.stage not in ACTIVE:
        key = (
            "grants.err_already_withdrawn"
            if applicant.stage == Stage.WITHDRAWN
            else ("grants.err_withdraw_final")
        )
        raise GrantStateError(key, code=call.code)
    before = applicant.stage
    _record(applicant, Stage.WITHDRAWN, now, member.id)
    session.add(applicant)
    await session.flush()
    await _audit(session, "grant.withdraw", applicant, member, {"from": before})


async def applicants_of(
    *, session: AsyncSession, grant_id: int, stages: tuple[str, ...] | None = None
) -> list[tuple[GrantApplicant, Member]]:
    """The call's applicants with their member rows, in the order they registered."""
    query = (
        select(GrantApplicant, Member)
        .join(Member, col(Member.id) == col(GrantApplicant.member_id))
        .where(GrantApplicant.grant_id == grant_id)
        .order_by(col(GrantApplicant.id))
    )
    if stages is not None:
        query = query.where(col(GrantApplicant.stage).in_(stages))
    return [(a, m) for a, m in (await session.execute(query)).all()]


async def member_applications(
    *, session: AsyncSession, member_id: int
) -> list[tuple[GrantApplicant, GrantCall]]:
    query = (
        select(GrantApplicant, GrantCall)
        .join(GrantCall, col(GrantCall.id) == col(GrantApplicant.grant_id))
        .where(GrantApplicant.member_id == member_id)
        .order_by(col(GrantCall.full_deadline).desc())
    )
    return [(a, c) for a, c in (await session.execute(query)).all()]


async def stage_counts(*, session: AsyncSession, grant_id: int) -> dict[str, int]:
    counts = dict.fromkeys(STAGES, 0)
    rows = await session.execute(
        select(GrantApplicant.stage).where(GrantApplicant.grant_id == grant_id)
    )
    for (stage,) in rows.all():
        counts[stage] = counts.get(stage, 0) + 1
    return counts


BULK = {
    Stage.NOT_SHORTLISTED: (Stage.IDEA_RECEIVED,),
    Stage.NOT_FUNDED: (Stage.SHORTLISTED, Stage.FULL_APPLICATION, Stage.INTERVIEW),
}


async def bulk_candidates(
    *, session: AsyncSession, call: GrantCall, target: str
) -> list[tuple[GrantApplicant, Member]]:
    """Who a closing "everyone else" action moves: still at idea received → not shortlisted,
    or still in the running after the shortlist → not funded."""
    assert call.id is not None
    return await applicants_of(session=session, grant_id=call.id, stages=BULK[Stage(target)])


async def active_applicants(
    *, session: AsyncSession, call: GrantCall
) -> list[tuple[GrantApplicant, Member]]:
    """Everyone still in the running: who hears about a change or a cancellation."""
    assert call.id is not None
    return await applicants_of(session=session, grant_id=call.id, stages=tuple(ACTIVE))


# -- erasure ----------------------------------------------------------------------------------


async def erase_applications(session: AsyncSession, member_id: int, _values: list[str]) -> int:
    """/forget: the idea titles, villages and the gender/youth snapshot go; stages stay."""
    result = await session.execute(
        update(GrantApplicant)
        .where(col(GrantApplicant.member_id) == member_id)
        .values(idea_title="", village="", gender=None, youth=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


register_eraser(erase_applications)


async def export_applications(session: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    """/mydata: the member's grant interests and applications, with their stage."""
    rows = (
        await session.execute(
            select(GrantApplicant, GrantCall)
            .join(GrantCall, col(GrantCall.id) == col(GrantApplicant.grant_id))
            .where(col(GrantApplicant.member_id) == member_id)
            .order_by(col(GrantApplicant.id))
        )
    ).all()
    return [
        {
            "call": call.code,
            "title": call.title,
            "applicant_type": applicant.applicant_type,
            "idea_title": applicant.idea_title,
            "village": applicant.village,
            "stage": applicant.stage,
            "channel": applicant.channel,
            "awarded_amount": applicant.awarded_amount,
            "cofinancing_amount": applicant.cofinancing_amount,
            "registered_at": iso(applicant.created_at),
            "stage_at": iso(applicant.stage_at),
        }
        for applicant, call in rows
    ]


register_exporter(
    "grant_applications", export_applications, label_key="members.mydata_grant_applications"
)
