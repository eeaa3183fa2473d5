"""Changing an initiative after it was proposed: team size, dates, community, skills wanted,
"non-youth helpers allowed" (the lead or the secretariat; the texts are `set_initiative_text`).

Rules (`update_initiative`):

- only while it is proposed, open or full (the status machine of models.youth: a running,
  finished or declined initiative is not edited — "youth.refused_not_editable");
- the team size is 1…MAX_TEAM and never below the team as it is now (nobody loses a place);
  a larger size is the seat pool's new capacity: whoever now fits is promoted from the reserve
  list in line order (models.seats.set_capacity, the events waitlist's own code), and the
  initiative goes open ⇄ full with the free places;
- the sign-up deadline is in the future and the start is not before it (as in `check_draft`);
- the community exists (None: the whole municipality), the skills are in the catalogue;
- "helpers allowed" switched off keeps the helpers already in the team (like a smaller size).

Every change is one audit row "youth.updated" with each changed field's old and new value;
the returned `InitiativeUpdate` names the changed fields and the promoted members (the
caller tells them: handlers.youth_notify.update_and_notify).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import seats
from models.communities import Community
from models.members import Member
from models.youth import (
    JOINABLE,
    MAX_TEAM,
    SEAT_KIND,
    Initiative,
    InitiativeStatus,
    YouthRefused,
    _audit,
    skill_catalog,
)
from models.youth_signups import _sync_status

EDITABLE = (InitiativeStatus.PROPOSED, *JOINABLE)
DATE_FIELDS = ("signup_deadline", "starts_at")


class _Unset:
    """A field the caller does not change (None is a value: the whole municipality)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class InitiativeUpdate:
    changed: list[str] = field(default_factory=list)  # field names, in the order above
    promoted: list[int] = field(default_factory=list)  # member ids given a place

    @property
    def dates_changed(self) -> bool:
        return any(name in self.changed for name in DATE_FIELDS)


def _plain(value: Any) -> Any:
    """A value as the audit row keeps it (JSON)."""
    return value.isoformat() if isinstance(value, datetime) else value


async def update_initiative(
    *,
    session: AsyncSession,
    initiative: Initiative,
    actor: Member | None,
    now: datetime,
    target_size: int | Any = UNSET,
    signup_deadline: datetime | Any = UNSET,
    starts_at: datetime | Any = UNSET,
    community_id: int | Any | None = UNSET,
    skills: list[str] | Any = UNSET,
    skills_other: str | Any = UNSET,
    allows_non_youth: bool | Any = UNSET,
) -> InitiativeUpdate:
    """Apply the given changes (all or none: YouthRefused names the first broken rule)."""
    assert initiative.id is not None
    if initiative.status not in EDITABLE:
        raise YouthRefused("youth.refused_not_editable", status=initiative.status)
    wanted: dict[str, Any] = {}
    if target_size is not UNSET:
        size = int(target_size)
        if not 1 <= size <= MAX_TEAM:
            raise YouthRefused("youth.refused_size")
        wanted["target_size"] = size
    if signup_deadline is not UNSET:
        wanted["signup_deadline"] = signup_deadline
    if starts_at is not UNSET:
        wanted["starts_at"] = starts_at
    if community_id is not UNSET:
        wanted["community_id"] = community_id
    if skills is not UNSET:
        chosen = list(dict.fromkeys(skills))
        if set(chosen) - set(skill_catalog()):
            raise YouthRefused("youth.refused_skill")
        wanted["skills"] = chosen
    if skills_other is not UNSET:
        wanted["skills_other"] = str(skills_other).strip()[:200]
    if allows_non_youth is not UNSET:
        wanted["allows_non_youth"] = bool(allows_non_youth)
    changes = {k: v for k, v in wanted.items() if getattr(initiative, k) != v}
    if not changes:
        return InitiativeUpdate()

    # The seat pool's lock first: the team cannot grow between counting it and resizing.
    if initiative.status in JOINABLE:
        await seats.ensure_pool(session=session, kind=SEAT_KIND, item_id=initiative.id)
    if "target_size" in changes:
        counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
        if changes["target_size"] < counts.seated:
            raise YouthRefused("youth.refused_size_below_team", team=str(counts.seated))
    deadline = changes.get("signup_deadline", initiative.signup_deadline)
    start = changes.get("starts_at", initiative.starts_at)
    if "signup_deadline" in changes and deadline <= now:
        raise YouthRefused("youth.refused_deadline_past")
    if set(DATE_FIELDS) & set(changes) and start < deadline:
        raise YouthRefused("youth.refused_start_before_deadline")
    community = changes.get("community_id")
    if community is not None and await session.get(Community, community) is None:
        raise YouthRefused("youth.refused_community")

    before = {k: _plain(getattr(initiative, k)) for k in changes}
    for name, value in changes.items():
        setattr(initiative, name, value)
    initiative.updated_at = now
    session.add(initiative)
    await session.flush()
    promoted: list[int] = []
    if "target_size" in changes and initiative.status in JOINABLE:
        promoted = await seats.set_capacity(
            session=session, kind=SEAT_KIND, item_id=initiative.id, capacity=initiative.target_size
        )
        await _sync_status(session, initiative)
    await _audit(
        session,
        "youth.updated",
        initiative,
        actor,
        changes={k: [before[k], _plain(v)] for k, v in changes.items()},
        promoted=promoted,
    )
    return InitiativeUpdate(list(changes), promoted)
