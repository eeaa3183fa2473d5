"""Shared steps for the youth initiative tests: young members, a lead, and an initiative
proposed by the lead and approved by the secretariat (as /propose and the review buttons do)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.members import Member, Role
from models.youth import Initiative, InitiativeDraft, approve_proposal, propose_initiative
from tests.factories import make_member

TITLE = {"ka": "სკოლის ეზოს გამწვანება", "en": "Greening the school yard"}
DESCRIPTION = {"ka": "ვრგავთ ხეებს სკოლის ეზოში.", "en": "We plant trees in the school yard."}


def young_year(age: int = 20) -> int:
    return utcnow().year - age


async def young(session: AsyncSession, **fields: Any) -> Member:
    fields.setdefault("birth_year", young_year())
    fields.setdefault("name", "გიორგი ახალგაზრდა")
    return await make_member(session, **fields)


async def admin(session: AsyncSession, **fields: Any) -> Member:
    fields.setdefault("name", "თამარ სამდივნო")
    return await make_member(session, role=Role.SECRETARIAT, **fields)


def draft(
    *,
    size: int = 2,
    deadline: datetime | None = None,
    starts: datetime | None = None,
    helpers: bool = False,
    community_id: int | None = None,
) -> InitiativeDraft:
    deadline = deadline or utcnow() + timedelta(days=10)
    return InitiativeDraft(
        title=dict(TITLE),
        description=dict(DESCRIPTION),
        target_size=size,
        signup_deadline=deadline,
        starts_at=starts or deadline + timedelta(days=5),
        community_id=community_id,
        skills=["organising", "manual_work"],
        skills_other="ნიჩბით მუშაობა",
        allows_non_youth=helpers,
    )


async def open_initiative(
    session: AsyncSession, *, lead: Member, by: Member, **kwargs: Any
) -> Initiative:
    """Proposed by `lead`, approved by the secretariat member `by`: open for sign-up."""
    now = utcnow()
    initiative = await propose_initiative(
        session=session, draft=draft(**kwargs), proposer=lead, now=now
    )
    return await approve_proposal(session=session, initiative=initiative, actor=by, now=now)
