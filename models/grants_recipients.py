"""Who a grant deadline reminder (and the weekly digest's grants section) concerns.

- The idea / expression-of-interest deadline (the first one): the call's whole audience who has
  not registered interest, and everyone interested whose idea has not been received yet.
- The full application deadline: shortlisted applicants only — after the idea deadline, those
  not shortlisted, withdrawn or already done hear of no later phase (in a call without a
  shortlist phase: everyone whose idea was received).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.audiences import matches, select_members
from models.grants import GrantCall
from models.grants_applicants import GrantApplicant, Stage, applicants_of
from models.members import Member


async def deadline_recipients(
    *,
    session: AsyncSession,
    call: GrantCall,
    deadline: str,
    now: datetime,
    youth_ages: tuple[int, int] = (14, 29),
) -> list[tuple[Member, GrantApplicant | None]]:
    """The members a reminder of `deadline` goes to, each with their interest row (or None).

    Idea deadline (the first one): the whole audience who has not registered interest, and
    everyone interested whose idea has not been received yet. Full application deadline:
    shortlisted applicants only — those not shortlisted, withdrawn or already done hear no more
    (in a call without a shortlist phase, everyone whose idea was received).
    """
    assert call.id is not None
    people = await applicants_of(session=session, grant_id=call.id)
    wanted = reminded_stages(call, deadline)
    found: dict[int, tuple[Member, GrantApplicant | None]] = {
        m.id: (m, a) for a, m in people if a.stage in wanted and m.is_active and m.id is not None
    }
    if deadline == "idea_deadline":
        registered = {a.member_id for a, _ in people}
        audience = await select_members(
            session=session, audience=call.audience_filter(), now=now,
            youth_min=youth_ages[0], youth_max=youth_ages[1],
        )  # fmt: skip
        for member in audience:
            if member.id is not None and member.id not in registered:
                found.setdefault(member.id, (member, None))
    return [found[key] for key in sorted(found)]


def reminded_stages(call: GrantCall, deadline: str) -> frozenset[str]:
    """The applicants' stages a reminder of `deadline` goes to (see deadline_recipients)."""
    if deadline == "idea_deadline":
        return frozenset({Stage.INTERESTED})
    if call.shortlist_at is None:
        return frozenset({Stage.SHORTLISTED, Stage.IDEA_RECEIVED})
    return frozenset({Stage.SHORTLISTED})


def concerns(
    call: GrantCall,
    deadline: str,
    member: Member,
    applicant: GrantApplicant | None,
    *,
    now: datetime,
    youth_ages: tuple[int, int] = (14, 29),
) -> bool:
    """The rule of deadline_recipients for one member already in hand (the weekly digest)."""
    if not member.is_active:
        return False
    if applicant is not None:
        return applicant.stage in reminded_stages(call, deadline)
    return deadline == "idea_deadline" and matches(
        member, call.audience_filter(), year=now.year, youth_min=youth_ages[0],
        youth_max=youth_ages[1],
    )  # fmt: skip
