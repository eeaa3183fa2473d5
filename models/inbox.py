"""The secretariat's inbox: what members wrote that no command or keyword understood.

An InboundMessage (models.inbound) in status `inbox` waits here::

    inbox ──a secretariat member answers──> answered   (the answer goes back on the
      │                                                  member's channel, as a reply)
      └──"done, no answer needed"──> closed

The answer goes where the question came from: Telegram to the chat, an SMS through the
provider it arrived on, in the member's SMS script. If the member has since blocked the bot,
the answer goes by SMS when there is a number. It is a reply, not an announcement: it carries
no "how to stop" line and is not held back by quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.settings import Settings
from models.inbound import InboundMessage
from models.members import Member
from models.outbox import OutboxMessage, Priority, enqueue

INBOX = "inbox"
ANSWERED = "answered"
CLOSED = "closed"


@dataclass(frozen=True)
class InboxItem:
    message: InboundMessage
    member: Member | None


async def pending(*, session: AsyncSession, limit: int = 5) -> tuple[list[InboxItem], int]:
    """The oldest waiting messages and how many wait in all."""
    total = (
        await session.execute(
            select(func.count()).select_from(InboundMessage).where(InboundMessage.status == INBOX)
        )
    ).scalar_one()
    result = await session.execute(
        select(InboundMessage, Member)
        .join(Member, col(Member.id) == col(InboundMessage.member_id), isouter=True)
        .where(InboundMessage.status == INBOX)
        .order_by(col(InboundMessage.id))
        .limit(limit)
    )
    return [InboxItem(message, member) for message, member in result.all()], int(total)


async def get_item(*, session: AsyncSession, inbound_id: int) -> InboxItem | None:
    message = await session.get(InboundMessage, inbound_id)
    if message is None:
        return None
    member = await session.get(Member, message.member_id) if message.member_id else None
    return InboxItem(message, member)


class AlreadyHandled(Exception):
    """Someone else answered or closed it first."""


async def answer(
    *,
    session: AsyncSession,
    settings: Settings,
    inbound_id: int,
    text: str,
    by: Member,
    prefix: str,
) -> OutboxMessage:
    """Queue the answer on the member's channel and mark the message answered."""
    from bot.outbound import sms_body, sms_provider_for  # bot.outbound imports models

    item = await get_item(session=session, inbound_id=inbound_id)
    if item is None or item.message.status != INBOX:
        raise AlreadyHandled(inbound_id)
    message, member = item.message, item.member
    body = f"{prefix}{text}"
    channel = message.channel
    if channel == "telegram" and member is not None and member.telegram_unreachable_at:
        channel = "sms" if member.phone else "telegram"  # blocked since: try SMS instead
    if channel == "telegram":
        row = await enqueue(
            session=session, channel="telegram", provider="telegram",
            address=str(member.telegram_id if member and member.telegram_id else message.address),
            text=body, member_id=message.member_id, kind="inbox_answer", priority=Priority.REPLY,
        )  # fmt: skip
    else:
        phone = message.address if message.channel == "sms" else (member.phone if member else None)
        assert phone is not None
        provider = message.provider if message.channel == "sms" else sms_provider_for(settings)
        row = await enqueue(
            session=session, channel="sms", provider=provider, address=phone,
            text=sms_body(member, body), member_id=message.member_id, kind="inbox_answer",
            priority=Priority.REPLY,
        )  # fmt: skip
    message.status, message.answer, message.answered_by = ANSWERED, text[:5000], by.id
    session.add(message)
    return row


async def close(*, session: AsyncSession, inbound_id: int, by: Member) -> None:
    message = await session.get(InboundMessage, inbound_id)
    if message is None or message.status != INBOX:
        raise AlreadyHandled(inbound_id)
    message.status, message.answered_by = CLOSED, by.id
    session.add(message)
