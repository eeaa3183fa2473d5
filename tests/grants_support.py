"""Shared steps for the grant competition tests: members on each channel, the secretariat, and a
call created and published the way /newgrant's "Publish" does it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.runtime import Runtime
from handlers.grants_notify import publish_and_announce
from models.base import utcnow
from models.grants import GrantCall, GrantDraft, create_call
from models.grants_applicants import GrantApplicant, register_interest, set_stage
from models.members import Member, Role
from models.outbox import OutboxMessage
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot

TBILISI = ZoneInfo("Asia/Tbilisi")
TITLE = {"ka": "მცირე გრანტები სოფლის მეურნეობისთვის", "en": "Small grants for farming"}
DESCRIPTION = {
    "ka": "ფინანსდება მცირე ფერმერული და გადამამუშავებელი პროექტები.",
    "en": "Small farming and food-processing projects are funded.",
}
# Seconds to wait for the bot's messages: bulk Telegram sends are paced per chat, and the
# machine running the suite may be busy.
QUEUED = 20.0
# No SMS quiet hours, so an announcement goes out whatever hour the tests run at.
DAYTIME: dict[str, Any] = {"sms_quiet_weekdays": "00:00-00:00", "sms_quiet_weekends": "00:00-00:00"}


def local(text: str) -> datetime:
    """`2027-06-18 18:00` in Tbilisi → aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=TBILISI).astimezone(ZoneInfo("UTC"))


def draft(
    *, now: datetime | None = None, idea: datetime | None = None, shortlist: bool = True,
    **overrides: Any,
) -> GrantDraft:  # fmt: skip
    """A call whose idea deadline is 20 days ahead and full deadline 60 days ahead."""
    now = now or utcnow()
    idea = idea or (now + timedelta(days=20)).replace(microsecond=0)
    values: dict[str, Any] = {
        "title": dict(TITLE),
        "description": dict(DESCRIPTION),
        "priorities": ["agriculture"],
        "applicant_types": ["individual", "cooperative", "ngo"],
        "min_amount": 1000,
        "max_amount": 20000,
        "cofinancing_pct": 10,
        "manual_url": "https://lag.ge/grants/manual.pdf",
        "idea_deadline": idea,
        "shortlist_at": idea + timedelta(days=10) if shortlist else None,
        "training_at": idea + timedelta(days=20),
        "full_deadline": idea + timedelta(days=40),
        "results_at": idea + timedelta(days=60),
        "contract_at": idea + timedelta(days=70),
    }
    values.update(overrides)
    return GrantDraft(**values)


async def published(
    rt: Runtime, *, now: datetime | None = None, actor: Member | None = None, **kwargs: Any
) -> GrantCall:
    """Create and publish a call (announcements queued, delivery woken)."""
    now = now or utcnow()
    async with rt.db.session() as session:
        call = await create_call(session=session, draft=draft(now=now, **kwargs), actor=actor,
                                 now=now)  # fmt: skip
        await publish_and_announce(rt, session, call, actor, now)
    rt.delivery.wake()
    return call


async def interested(
    rt: Runtime, call: GrantCall, member: Member, *, now: datetime | None = None,
    kind: str = "cooperative", idea: str = "თხილის საშრობი", village: str = "კაბალი",
) -> GrantApplicant:  # fmt: skip
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        outcome = await register_interest(
            session=session, call=fresh, member=member, applicant_type=kind, idea_title=idea,
            village=village, channel="telegram", now=now or utcnow(),
        )  # fmt: skip
    return outcome.applicant


async def tg_member(
    bot: RunningBot, *, language: str = "ka", **fields: Any
) -> tuple[VirtualUser, Member]:
    """A registered member who uses Telegram (and has a phone)."""
    user = bot.tg.user(language_code=language)
    async with bot.rt.db.session() as session:
        member = await make_member(session, telegram=user.id, language=language, **fields)
    return user, member


async def sms_member(bot: RunningBot | Runtime, *, language: str = "ka", **fields: Any) -> Member:
    """A registered member on SMS only (a basic phone)."""
    rt = bot.rt if isinstance(bot, RunningBot) else bot
    async with rt.db.session() as session:
        return await make_member(session, telegram=False, language=language, **fields)


async def secretariat(bot: RunningBot, *, language: str = "ka") -> tuple[VirtualUser, Member]:
    return await tg_member(bot, language=language, role=Role.SECRETARIAT, name="თამარ სამდივნო")


async def outbox_rows(rt: Runtime, *, kind: str | None = None) -> list[OutboxMessage]:
    async with rt.db.session() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.execute(query)).scalars())


async def applicant_row(rt: Runtime, member: Member) -> GrantApplicant | None:
    async with rt.db.session() as session:
        query = select(GrantApplicant).where(GrantApplicant.member_id == member.id)
        return (await session.execute(query)).scalars().first()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until an async condition holds (e.g. a row written after the reply went out)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.02)


async def settle(bot: RunningBot, call: GrantCall, *users: VirtualUser) -> None:
    """Wait until each user has the call's announcement, then read past it."""
    for user in users:
        await bot.tg.wait_until(lambda u=user: any(call.code in m.text for m in u.inbox), QUEUED)  # type: ignore[misc]
        user.skip_unread()


async def to_stage(bot: RunningBot, member: Member, *stages: str) -> None:
    """Move the member's application through `stages`, as the secretariat would."""
    async with bot.rt.db.session() as session:
        query = select(GrantApplicant).where(GrantApplicant.member_id == member.id)
        row = (await session.execute(query)).scalars().one()
        call = await session.get(GrantCall, row.grant_id)
        assert call is not None
        for stage in stages:
            await set_stage(session=session, call=call, applicant=row, stage=stage, actor=None,
                            now=row.stage_at)  # fmt: skip
