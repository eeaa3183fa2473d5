"""The bot simulator's data: a reserved phone range, simulated members, and the one-button wipe.

The simulator sends SMS "from" numbers in SIMULATOR_RANGE (+995 500 00 0000 – 0999) through
the very same inbound path as a real SMS (provider "simulator"; the answers are captured,
never sent). These numbers are reserved for the simulator: a member saved with one is
always `is_simulated` (a mapper hook below, whichever capability created the row), so the
member is left out of every count, audience and export; an SMS queued to such a number is
always captured by the simulator's provider, never sent (another hook); and `wipe_simulated`
removes the member and every row that points at them.

Transcript: the inbound rows (provider "simulator") and the outbox rows to that number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, delete, event, or_
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlmodel import SQLModel, col, select

from models.audit import AuditLog
from models.dialogs import Dialog
from models.inbound import InboundMessage
from models.members import Member
from models.outbox import OutboxMessage

SIMULATOR_PREFIX = "+995500000"  # + three digits: +995 500 00 0000 … +995 500 00 0999
SIMULATOR_RANGE = "+995 500 00 0000 – +995 500 00 0999"
PROVIDER = "simulator"


def is_simulator_phone(phone: str | None) -> bool:
    return (
        phone is not None
        and phone.startswith(SIMULATOR_PREFIX)
        and len(phone) == len(SIMULATOR_PREFIX) + 3
        and phone[len(SIMULATOR_PREFIX) :].isdigit()
    )


def simulator_phone(text: str) -> str | None:
    """The E.164 number for what the secretariat typed, when it is in the reserved range.

    Accepts `+995 500 00 0001`, `500000001`, `0001` (the last digits alone), `1`.
    """
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return None
    if len(digits) <= 4:  # the last digits alone: "7", "007", "0007"
        digits = SIMULATOR_PREFIX[1:-1] + digits.zfill(4)
    elif len(digits) == 9:
        digits = "995" + digits
    phone = "+" + digits
    return phone if is_simulator_phone(phone) else None


def _mark_simulated(_mapper: Mapper[Any], _connection: Connection, target: Member) -> None:
    if is_simulator_phone(target.phone):
        target.is_simulated = True


def _capture_simulated(
    _mapper: Mapper[Any], _connection: Connection, target: OutboxMessage
) -> None:
    """An SMS to a simulator number is captured, never sent, whoever queued it."""
    if target.channel == "sms" and is_simulator_phone(target.address):
        target.provider = PROVIDER


event.listen(Member, "before_insert", _mark_simulated)
event.listen(Member, "before_update", _mark_simulated)
event.listen(OutboxMessage, "before_insert", _capture_simulated)
event.listen(OutboxMessage, "before_update", _capture_simulated)


@dataclass
class TranscriptLine:
    at: datetime
    direction: str  # in | out
    text: str
    status: str
    kind: str


async def transcript(
    *, session: AsyncSession, phone: str, limit: int = 200
) -> list[TranscriptLine]:
    """What this simulated number said and what the bot answered, oldest first."""
    inbound = await session.execute(
        select(InboundMessage)
        .where(col(InboundMessage.provider) == PROVIDER, col(InboundMessage.address) == phone)
        .order_by(col(InboundMessage.id).desc())
        .limit(limit)
    )
    outbound = await session.execute(
        select(OutboxMessage)
        .where(col(OutboxMessage.channel) == "sms", col(OutboxMessage.address) == phone)
        .order_by(col(OutboxMessage.id).desc())
        .limit(limit)
    )
    lines = [
        TranscriptLine(m.received_at, "in", m.text or "", m.status, m.handled_by or "")
        for m in inbound.scalars()
    ] + [TranscriptLine(o.created_at, "out", o.text, o.status, o.kind) for o in outbound.scalars()]
    lines.sort(key=lambda line: (line.at, line.direction != "in"))
    return lines[-limit:]


async def simulated_numbers(*, session: AsyncSession) -> list[tuple[str, Member | None]]:
    """Numbers the simulator has used, with the simulated member when one registered."""
    used = await session.execute(
        select(col(InboundMessage.address))
        .where(col(InboundMessage.provider) == PROVIDER)
        .group_by(col(InboundMessage.address))
    )
    members = {
        m.phone: m
        for m in (
            await session.execute(select(Member).where(col(Member.is_simulated).is_(True)))
        ).scalars()
        if m.phone
    }
    phones = {str(p) for p in used.scalars() if p} | set(members)
    return [(phone, members.get(phone)) for phone in sorted(phones)]


def _references(table: Table) -> list[tuple[Table, Column[Any], Column[Any]]]:
    """(child table, child column, parent column) for every foreign key pointing at `table`."""
    found = []
    for child in SQLModel.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is table:
                assert isinstance(fk.parent, Column)
                found.append((child, fk.parent, fk.column))
    return found


async def _delete_where(
    session: AsyncSession, table: Table, condition: Any, seen: frozenset[str]
) -> int:
    """Delete matching rows and, first, every row that points at them (any capability)."""
    removed = 0
    for child, child_col, parent_col in _references(table):
        if child.name in seen:
            continue
        keys = core_select(parent_col).where(condition).scalar_subquery()
        removed += await _delete_where(session, child, child_col.in_(keys), seen | {table.name})
    result = await session.execute(delete(table).where(condition))
    return removed + int(result.rowcount or 0)  # type: ignore[attr-defined]


async def wipe_simulated(*, session: AsyncSession) -> dict[str, int]:
    """Remove every simulated member and all their data; returns what went, by kind."""
    member_table = Member.__table__  # type: ignore[attr-defined]
    assert isinstance(member_table, Table)
    ids = [
        i
        for i in (
            await session.execute(select(col(Member.id)).where(col(Member.is_simulated).is_(True)))
        ).scalars()
    ]
    audit = await session.execute(
        delete(AuditLog).where(
            or_(
                col(AuditLog.actor_member_id).in_(ids),
                col(AuditLog.target).in_([f"member:{i}" for i in ids]),
            )
        )
    )
    by_address = 0
    for model, address_col, extra in (
        (Dialog, Dialog.address, Dialog.channel == "sms"),
        (InboundMessage, InboundMessage.address, InboundMessage.provider == PROVIDER),
        (OutboxMessage, OutboxMessage.address, OutboxMessage.channel == "sms"),
    ):
        result = await session.execute(
            delete(model).where(extra, col(address_col).like(SIMULATOR_PREFIX + "%"))  # type: ignore[arg-type]
        )
        by_address += int(result.rowcount or 0)  # type: ignore[attr-defined]
    rows = await _delete_where(session, member_table, member_table.c.id.in_(ids), frozenset())
    await session.flush()
    return {
        "members": len(ids),
        "rows": rows - len(ids) + by_address,
        "audit": int(audit.rowcount or 0),  # type: ignore[attr-defined]
    }
