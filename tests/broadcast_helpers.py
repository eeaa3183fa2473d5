"""Helpers for the delivery and broadcast tests: members with virtual Telegram users, rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlmodel import col, select

from bot.outbound import Outgoing, queue_for_member
from models.members import Member
from models.outbox import PENDING_STATUSES as PENDING
from models.outbox import OutboxMessage
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot, running_bot

# Tests must not depend on the wall clock: no SMS quiet hours unless a test sets them.
NO_QUIET = {"sms_quiet_weekdays": "00:00-00:00", "sms_quiet_weekends": "00:00-00:00"}


@asynccontextmanager
async def delivery_bot(db_url: str, **overrides: Any) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **{**NO_QUIET, **overrides}) as bot:
        yield bot


async def member_for(bot: RunningBot, user: VirtualUser | None = None, **fields: Any) -> Member:
    """A registered member; with `user`, their Telegram is that virtual user."""
    async with bot.rt.db.session() as session:
        if user is not None:
            fields.setdefault("telegram", user.id)
        return await make_member(session, **fields)


async def queue_bulk(
    bot: RunningBot,
    members: list[Member],
    text: str,
    *,
    broadcast_id: int | None = None,
    urgent: bool = False,
    **kwargs: Any,
) -> list[OutboxMessage]:
    rows: list[OutboxMessage] = []
    async with bot.rt.db.session() as session:
        for member in members:
            rows += await queue_for_member(
                session=session,
                settings=bot.settings,
                member=member,
                message=Outgoing(text=text),
                kind="broadcast",
                urgent=urgent,
                broadcast_id=broadcast_id,
                dedupe_key=f"t:{broadcast_id}:m:{member.id}" if broadcast_id else None,
                **kwargs,
            )
    bot.rt.delivery.wake()
    return rows


async def outbox(bot: RunningBot, **where: Any) -> list[OutboxMessage]:
    async with bot.rt.db.session() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await session.execute(query)).scalars())


async def wait_rows(
    bot: RunningBot,
    ready: Callable[[list[OutboxMessage]], bool] | None = None,
    *,
    timeout: float = 20.0,
    **where: Any,
) -> list[OutboxMessage]:
    """Wait until the outbox rows (filtered by `where`) satisfy `ready` (default: none waits)."""
    check = ready or (lambda rows: bool(rows) and not any(r.status in PENDING for r in rows))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await outbox(bot, **where)
        if check(rows):
            return rows
        if asyncio.get_running_loop().time() > deadline:
            states = [(r.id, r.channel, r.status, r.error_reason) for r in rows
                      if r.status not in ("delivered", "sent")]  # fmt: skip
            raise AssertionError(f"outbox not ready after {timeout}s: {states}")
        bot.rt.delivery.wake()
        await asyncio.sleep(0.05)


async def reload(bot: RunningBot, member: Member) -> Member:
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None
        return fresh
