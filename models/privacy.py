"""Data rights: everything stored about a member (/mydata, MYDATA) and erasure (/forget).

Export: `member_data` gathers the profile, consents and messages, then every capability's own
part (`register_exporter`: grant applications, youth sign-ups and proposals, event answers,
votes in named polls), each kept beside its tables in models/<domain>.

Erasure (one transaction)::

    member   name, phone, Telegram id and username, birth year, gender, village,
             organisation, interests → empty; status `erased`; community, sector, how they
             joined and when stay (anonymous counts for reports)
    consents details emptied; a withdrawal of the data consent is recorded
    dialogs  every open flow of the member's addresses → deleted
    inbound  their messages: text, address and the secretariat's answer → emptied
    outbox   messages to them: text, address, payload → emptied; unsent ones cancelled
    audit    any trace of the erased values in labels, targets or details → "[erased]"
    others   every other table's text and JSON columns are searched for the same values,
             and capabilities may register their own eraser (`register_eraser`)

The erasure itself is audited (`member.erased`) with counts only, never the erased data.
A message that must still reach the address (the SMS receipt of FORGET YES) is queued with
kind `erasure_receipt` and emptied once sent (`redact_sent_receipts`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Table, Text, cast, func, literal, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, delete, select

from models.audit import AuditLog, record_audit
from models.base import utcnow
from models.communities import Community
from models.dialogs import Dialog
from models.inbound import InboundMessage
from models.members import Consent, Member, MemberStatus, Role
from models.outbox import OutboxMessage, OutStatus

ERASED = "[erased]"
RECEIPT_KIND = "erasure_receipt"
Eraser = Callable[[AsyncSession, int, list[str]], Awaitable[int]]
_erasers: list[Eraser] = []
# (session, member_id) → JSON-able rows of that capability about the member.
Exporter = Callable[[AsyncSession, int], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class ExportSection:
    name: str  # the key in the JSON file
    label_key: str  # i18n: how /mydata names it in the message
    exporter: Exporter


_exporters: dict[str, ExportSection] = {}
# Tables handled above, or that hold no personal data.
_SKIP_GENERIC = {"member", "consent", "dialog", "auditlog", "community", "alembic_version"}


def register_eraser(eraser: Eraser) -> None:
    """A capability's own clean-up: called with (session, member_id, erased values)."""
    if eraser not in _erasers:
        _erasers.append(eraser)


def register_exporter(name: str, exporter: Exporter, *, label_key: str) -> None:
    """A capability's part of /mydata: rows about the member under `name` in the JSON file."""
    _exporters[name] = ExportSection(name, label_key, exporter)


def export_sections() -> list[ExportSection]:
    return [_exporters[name] for name in sorted(_exporters)]


def section_counts(data: dict[str, Any]) -> list[tuple[ExportSection, int]]:
    """The capabilities' parts that hold something about the member, with their row counts:
    what /mydata and SMS MYDATA both name (`member_data`'s result)."""
    return [
        (section, len(data.get(section.name) or []))
        for section in export_sections()
        if data.get(section.name)
    ]


def iso(value: datetime | None) -> str | None:
    """A timestamp as exporters write it."""
    return value.isoformat() if value else None


# -- what is stored ---------------------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def member_data(*, session: AsyncSession, member: Member) -> dict[str, Any]:
    """Everything lagbot stores about this member, as plain JSON-able data."""
    assert member.id is not None
    community = await session.get(Community, member.community_id) if member.community_id else None
    profile = {
        "id": member.id,
        "status": member.status,
        "name": member.name,
        "phone": member.phone,
        "phone_verified": member.phone_verified,
        "telegram_id": member.telegram_id,
        "telegram_username": member.telegram_username,
        "language": member.language,
        "sms_script": member.sms_script,
        "community": community.name_en if community else None,
        "village": member.village,
        "sector": member.sector,
        "birth_year": member.birth_year,
        "gender": member.gender,
        "interests": list(member.interests or []),
        "role": member.role,
        "lag_member": member.is_lag_member,
        "lag_member_since": _when(member.lag_member_since),
        "organisation": member.organisation,
        "joined_via": member.joined_via,
        "registered_at": _when(member.created_at),
        "updated_at": _when(member.updated_at),
        "announcements": member.consent_announcements,
        "telegram_stopped_at": _when(member.telegram_opt_out_at),
        "sms_stopped_at": _when(member.sms_opt_out_at),
        "telegram_unreachable_since": _when(member.telegram_unreachable_at),
    }
    consents = (
        await session.execute(
            select(Consent).where(col(Consent.member_id) == member.id).order_by(col(Consent.id))
        )
    ).scalars()
    received = (
        await session.execute(
            select(InboundMessage)
            .where(col(InboundMessage.member_id) == member.id)
            .order_by(col(InboundMessage.id))
        )
    ).scalars()
    sent = (
        await session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.member_id) == member.id)
            .order_by(col(OutboxMessage.id))
        )
    ).scalars()
    data: dict[str, Any] = {
        "controller": "Lagodekhi Local Action Group (LAG)",
        "exported_at": utcnow().isoformat(),
        "profile": profile,
        "consents": [
            {
                "kind": c.kind,
                "given": c.given,
                "channel": c.channel,
                "text_version": c.text_version,
                "at": _when(c.at),
            }
            for c in consents
        ],
        "messages_from_you": [
            {"at": _when(m.received_at), "channel": m.channel, "text": m.text, "answer": m.answer}
            for m in received
        ],
        "messages_to_you": [
            {
                "at": _when(m.created_at),
                "channel": m.channel,
                "kind": m.kind,
                "status": m.status,
                "text": m.text,
            }
            for m in sent
        ],
    }
    for section in export_sections():
        data[section.name] = await section.exporter(session, member.id)
    return data


# -- erasure ----------------------------------------------------------------------------------


def needles_of(member: Member) -> list[str]:
    """The values that identify this person, as they may appear in free text."""
    values = [member.phone, member.telegram_username]
    if member.name and len(member.name) >= 6:  # shorter ones would hit unrelated words
        values.append(member.name)
    if member.telegram_id is not None:
        values.append(str(member.telegram_id))
    if member.phone and member.phone.startswith("+995"):
        values.append(member.phone[1:])  # 995599... as some providers write it
    return sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True)


def scrub(value: Any, needles: list[str]) -> Any:
    """`value` with every needle replaced, inside strings, lists and dicts."""
    if isinstance(value, str):
        for needle in needles:
            if needle in value:
                value = value.replace(needle, ERASED)
        return value
    if isinstance(value, list):
        return [scrub(v, needles) for v in value]
    if isinstance(value, dict):
        return {scrub(k, needles): scrub(v, needles) for k, v in value.items()}
    return value


def _contains(value: Any, needles: list[str]) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return any(n in text for n in needles)


async def erase_member(
    *, session: AsyncSession, member: Member, channel: str, now: datetime | None = None
) -> dict[str, int]:
    """Erase the member's personal data everywhere; returns what was touched, by kind."""
    assert member.id is not None
    now = now or utcnow()
    member_id = member.id
    needles = needles_of(member)
    addresses = [a for a in (member.phone, str(member.telegram_id or "")) if a]
    counts: dict[str, int] = {}

    dialogs = await session.execute(
        delete(Dialog).where(
            or_(col(Dialog.member_id) == member_id, col(Dialog.address).in_(addresses))
        )
    )
    counts["dialogs"] = int(dialogs.rowcount or 0)  # type: ignore[attr-defined]
    inbound = await session.execute(
        update(InboundMessage)
        .where(
            or_(
                col(InboundMessage.member_id) == member_id,
                col(InboundMessage.address).in_(addresses),
            )
        )
        .values(
            text=None,
            address=None,
            answer=None,
            provider_message_id=literal("erased:", String) + cast(col(InboundMessage.id), String),
        )
        .execution_options(synchronize_session="fetch")
    )
    counts["inbound"] = int(inbound.rowcount or 0)  # type: ignore[attr-defined]
    to_them = or_(
        col(OutboxMessage.member_id) == member_id, col(OutboxMessage.address).in_(addresses)
    )
    await session.execute(
        update(OutboxMessage)
        .where(to_them, col(OutboxMessage.status) == OutStatus.QUEUED)
        .values(status=OutStatus.CANCELLED, final_at=now)
        .execution_options(synchronize_session=False)
    )
    outbox = await session.execute(
        update(OutboxMessage)
        .where(to_them)
        .values(text="", address="", payload={})
        .execution_options(synchronize_session=False)
    )
    counts["outbox"] = int(outbox.rowcount or 0)  # type: ignore[attr-defined]
    await session.execute(
        update(Consent)
        .where(col(Consent.member_id) == member_id)
        .values(details={})
        .execution_options(synchronize_session=False)
    )
    counts["audit"] = await _scrub_audit(session, member_id, needles)
    counts["other"] = await _scrub_other_tables(session, needles)
    for eraser in _erasers:
        counts["other"] += await eraser(session, member_id, needles)

    member.name = None
    member.phone = None
    member.phone_verified = False
    member.telegram_id = None
    member.telegram_username = None
    member.birth_year = None
    member.gender = None
    member.village = None
    member.organisation = None
    member.interests = []
    member.role = Role.MEMBER
    member.is_lag_member = False
    member.lag_member_since = None
    member.consent_announcements = False
    member.status = MemberStatus.ERASED
    member.erased_at = now
    member.updated_at = now
    session.add(member)
    session.add(
        Consent(
            member_id=member_id,
            kind="data",
            given=False,
            channel=channel,
            text_version="erasure",
            at=now,
        )
    )
    await session.flush()
    await record_audit(
        session=session,
        action="member.erased",
        actor_member_id=member_id,
        actor_label=channel,
        target=f"member:{member_id}",
        details={"channel": channel, "counts": counts},
    )
    return counts


async def _scrub_audit(session: AsyncSession, member_id: int, needles: list[str]) -> int:
    if not needles:
        return 0
    touched = 0
    rows = (await session.execute(select(AuditLog).order_by(col(AuditLog.id)))).scalars()
    for row in rows:
        if not (
            _contains(row.actor_label, needles)
            or _contains(row.target, needles)
            or _contains(row.details, needles)
        ):
            continue
        row.actor_label = scrub(row.actor_label, needles)[:120]
        row.target = scrub(row.target, needles)[:120]
        row.details = scrub(row.details, needles)
        session.add(row)
        touched += 1
    return touched


async def _scrub_other_tables(session: AsyncSession, needles: list[str]) -> int:
    """Every other table: text columns with the values replaced, JSON rewritten in Python."""
    if not needles:
        return 0
    touched = 0
    for table in SQLModel.metadata.sorted_tables:
        if table.name in _SKIP_GENERIC:
            continue
        touched += await _scrub_table(session, table, needles)
    return touched


async def _scrub_table(session: AsyncSession, table: Table, needles: list[str]) -> int:
    touched = 0
    key = list(table.primary_key.columns)
    for column in table.columns:
        if column.primary_key or column.foreign_keys:
            continue
        if isinstance(column.type, String | Text):
            replaced: Any = column
            for needle in needles:
                replaced = func.replace(replaced, needle, ERASED)
            result = await session.execute(
                update(table)
                .where(or_(*(column.contains(n, autoescape=True) for n in needles)))
                .values({column.name: replaced})
            )
            touched += int(result.rowcount or 0)  # type: ignore[attr-defined]
        elif isinstance(column.type, JSON) and len(key) == 1:
            forms = needles + [json.dumps(n)[1:-1] for n in needles]
            matches = or_(*(cast(column, Text).contains(f, autoescape=True) for f in forms))
            rows = (await session.execute(select(key[0], column).where(matches))).all()
            for pk, value in rows:
                await session.execute(
                    update(table).where(key[0] == pk).values({column.name: scrub(value, needles)})
                )
                touched += 1
    return touched


async def redact_sent_receipts(*, session: AsyncSession) -> int:
    """Empty erasure receipts once they left (their address is the erased phone)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.kind) == RECEIPT_KIND,
            col(OutboxMessage.status).not_in([OutStatus.QUEUED, OutStatus.SENDING]),
            col(OutboxMessage.address) != "",
        )
        .values(address="", text="", payload={})
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
