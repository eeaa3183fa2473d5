"""Helpers shared by the registration, profile, privacy and secretariat adapters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import t
from bot.outbound import Outgoing, queue_for_member
from bot.roles import _language_of
from models.member_fields import Choice
from models.members import Member, MemberStatus, Role
from models.outbox import Priority

if TYPE_CHECKING:
    from bot.runtime import Runtime


def inline_rows(
    choices: Sequence[Choice], prefix: str, *, per_row: int = 1, tick: bool = False
) -> list[list[InlineKeyboardButton]]:
    """Buttons for choices; callback data `prefix:code` (kept under Telegram's 64 bytes)."""
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for choice in choices:
        label = ("✓ " + choice.label) if tick and choice.selected else choice.label
        data = f"{prefix}:{choice.code}"
        assert len(data.encode()) <= 64, data
        row.append(InlineKeyboardButton(label[:60], callback_data=data))
        if len(row) == per_row:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return rows


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup(rows) if rows else None


def language_for(rt: Runtime, update: Update, member: Member | None) -> str:
    return member.language if member is not None else _language_of(update, rt)


async def secretariat(*, session: AsyncSession) -> list[Member]:
    result = await session.execute(
        select(Member)
        .where(col(Member.role) == Role.SECRETARIAT, col(Member.status) == MemberStatus.ACTIVE)
        .order_by(col(Member.id))
    )
    return list(result.scalars())


async def notify_secretariat(
    rt: Runtime, session: AsyncSession, key: str, values: dict[str, object]
) -> int:
    """Tell every secretariat member, each in their language (through the outbox)."""
    count = 0
    for admin in await secretariat(session=session):
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=admin,
            message=Outgoing(text=t(key, admin.language, **values)),
            kind="notice",
            priority=Priority.NOTICE,
        )
        count += len(rows)
    return count
