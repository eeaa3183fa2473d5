"""Two workers creating the same row at once: one row, the loser told plainly, no error.

Each side runs in its own session, as two processes would (models.base.insert_if_absent: one
INSERT … ON CONFLICT DO NOTHING, no savepoint).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from bot.db import Database
from bot.settings import Settings
from models.communities import list_communities, sync_communities
from models.dialogs import Dialog
from models.gateway import GatewayStatus, gateway_status
from models.member_fields import FieldError
from models.members import Member
from models.outbox import AlreadyQueued, OutboxMessage, enqueue
from models.registration_finish import finish_registration
from models.simulator import PROVIDER as SIMULATOR_PROVIDER
from models.simulator import SIMULATOR_PREFIX

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PHONE = "+995599123456"


async def test_two_workers_asking_for_the_gateway_row_at_once_share_one(db: Database) -> None:
    async def ask() -> int | None:
        async with db.session() as session:
            return (await gateway_status(session=session)).id

    first, second = await asyncio.gather(ask(), ask())
    assert first is not None and first == second
    async with db.session() as session:
        rows = (await session.execute(select(func.count()).select_from(GatewayStatus))).scalar()
    assert rows == 1


async def test_two_people_finishing_registration_with_one_phone_make_one_member(
    db: Database, settings: Settings
) -> None:
    async with db.session() as session:
        await sync_communities(session=session, path=settings.communities_file)
        community = (await list_communities(session=session))[0]

    async def finish(telegram_id: str, name: str) -> tuple[Member, object] | FieldError:
        draft: dict[str, object] = {
            "language": "ka",
            "consent_data_at": NOW.isoformat(),
            "consent_ann": True,
            "name": name,
            "phone": PHONE,
            "sector": "civil",
            "birth_year": 1990,
            "community_id": community.id,
        }
        dialog = Dialog(
            channel="telegram", address=telegram_id, flow="registration", step="x", data=draft
        )
        async with db.session() as session:
            return await finish_registration(
                session=session, settings=settings, dialog=dialog, now=NOW
            )

    outcomes = await asyncio.gather(finish("71", "ნინო"), finish("72", "მარიამ"))
    refused = [o for o in outcomes if isinstance(o, FieldError)]
    assert len(refused) == 1 and refused[0].key == "registration.err_phone_taken_typed"
    async with db.session() as session:
        members = (await session.execute(select(Member).where(col(Member.phone) == PHONE))).all()
    assert len(members) == 1


async def test_a_row_queued_once_still_follows_the_models_insert_rules(db: Database) -> None:
    """INSERT … ON CONFLICT skips the ORM's before_insert listeners unless add_if_absent
    runs them: an SMS to the simulator's numbers must be captured, never sent for real."""

    async def alert(session: AsyncSession) -> OutboxMessage:
        return await enqueue(
            session=session,
            channel="sms",
            provider="twilio",
            address=SIMULATOR_PREFIX + "007",
            text="Gateway alert",
            dedupe_key="alert:once",
            once=True,
        )

    async with db.session() as session:
        assert (await alert(session)).provider == SIMULATOR_PROVIDER
        with pytest.raises(AlreadyQueued):
            await alert(session)
    async with db.session() as session:
        stored = (await session.execute(select(OutboxMessage))).scalars().all()
    assert [(r.provider, r.dedupe_key) for r in stored] == [(SIMULATOR_PROVIDER, "alert:once")]
