"""Changing a grant call after it was created: which fields may change, which changes the
applicants are told about, and the checks on the result as a whole (models.grants).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.events import EventStatus
from models.grants import (
    APPLICANT_TYPES,
    PHASES,
    GrantCall,
    GrantStatus,
    audit_call,
    check_phases,
    check_terms,
    check_texts,
    info_sessions,
    link_sessions,
    linkable_events,
    require_status,
)
from models.members import Member

EDITABLE = frozenset(
    {"title", "description", "priorities", "applicant_types", "min_amount", "max_amount",
     "cofinancing_pct", "manual_url", "audience", *PHASES}
)  # fmt: skip
# Changes applicants hear about (on a published call).
NOTIFYING = frozenset(
    {"min_amount", "max_amount", "cofinancing_pct", "applicant_types", "manual_url", *PHASES}
)


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


async def apply_changes(
    *,
    session: AsyncSession,
    call: GrantCall,
    changes: dict[str, Any],
    actor: Member | None,
    now: datetime,
    info_session_ids: list[int] | None = None,
) -> list[str]:
    """Change fields of a draft or published call; returns the names that really changed
    (`info_sessions` too). The result is validated as a whole: phases stay in order, and a
    phase moved on a published call must be in the future. A change applicants care about
    bumps `sequence` (the caller tells them)."""
    require_status(call, GrantStatus.DRAFT, GrantStatus.PUBLISHED)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    changed = [name for name, value in changes.items() if getattr(call, name) != value]
    after = {name: changes[name] for name in changed}
    sessions = await info_sessions(session=session, call=call)
    if info_session_ids is not None:
        current = frozenset(e.id for e in sessions if e.id is not None)
        if set(info_session_ids) != current:
            sessions = await linkable_events(
                session=session, event_ids=info_session_ids, now=now, keep=current
            )
            changed.append("info_sessions")
    if not changed:
        return []
    check_texts(after.get("title", call.title), after.get("description", call.description))
    check_terms(
        after.get("priorities", call.priorities),
        after.get("applicant_types", call.applicant_types),
        after.get("min_amount", call.min_amount),
        after.get("max_amount", call.max_amount),
        after.get("cofinancing_pct", call.cofinancing_pct),
    )
    phases = {name: after.get(name, call.phase(name)) for name in PHASES}
    moved = {name for name in PHASES if name in after and after[name] is not None}
    live = [e.starts_at for e in sessions if e.status != EventStatus.CANCELLED]
    future = moved if call.status == GrantStatus.PUBLISHED else None
    check_phases(phases, now=now, future=future, sessions=live)
    before = {name: _jsonable(getattr(call, name)) for name in changed if name in EDITABLE}
    for name, value in after.items():
        setattr(call, name, value)
    if "applicant_types" in after:
        call.applicant_types = [t for t in APPLICANT_TYPES if t in after["applicant_types"]]
    if "info_sessions" in changed:
        await link_sessions(session, call, [e.id for e in sessions if e.id is not None])
    call.updated_at = now
    if call.status == GrantStatus.PUBLISHED and NOTIFYING & set(changed):
        call.sequence += 1
    session.add(call)
    await session.flush()
    await audit_call(
        session,
        "grant.edit",
        call,
        actor,
        {
            "changed": changed,
            "before": before,
            "after": {k: _jsonable(v) for k, v in after.items()},
        },
    )
    return changed
