"""Test data: members as registration would leave them, without going through the dialog."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from models.base import utcnow
from models.communities import Community
from models.members import Member, Role

_phones = itertools.count(100001)
_telegram_ids = itertools.count(900001)


async def community_id(session: AsyncSession, code: str = "lagodekhi") -> int:
    result = await session.execute(select(Community).where(Community.code == code))
    community = result.scalars().one()
    assert community.id is not None
    return community.id


async def make_member(
    session: AsyncSession,
    *,
    name: str = "ნინო ბერიძე",
    telegram: bool | int = True,
    phone: bool | str = True,
    community: str = "lagodekhi",
    language: str = "ka",
    role: str = Role.MEMBER,
    **fields: Any,
) -> Member:
    """An active, consenting member; `telegram=False` / `phone=False` for one channel only."""
    telegram_id = (
        telegram if isinstance(telegram, int) and telegram is not True else next(_telegram_ids)
    )
    number = phone if isinstance(phone, str) else f"+995599{next(_phones):06d}"
    values: dict[str, Any] = {
        "name": name,
        "telegram_id": telegram_id if telegram else None,
        "phone": number if phone else None,
        "phone_verified": bool(phone),
        "language": language,
        "community_id": await community_id(session, community),
        "village": None,
        "sector": "civil",
        "birth_year": 1980,
        "gender": "female",
        "interests": ["agriculture"],
        "role": role,
        "consent_data_at": utcnow(),
        "consent_announcements": True,
    }
    values.update(fields)
    member = Member(**values)
    session.add(member)
    await session.flush()
    return member
