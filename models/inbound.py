"""Every message a member sends: de-duplication of provider retries and the secretariat inbox.

Status::

    received --(a command/keyword handled it)--> handled
    received --(nothing understood it)--> inbox --(secretariat answered)--> answered
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, select

from models.base import UTCDateTime, insert_if_absent, utcnow


class InboundMessage(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("provider", "provider_message_id", name="uq_inbound_dedup"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)  # twilio | gateway | telegram | simulator
    provider_message_id: str = Field(max_length=100)
    channel: str = Field(max_length=20)  # sms | telegram
    address: str | None = Field(default=None, max_length=40)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    text: str | None = Field(default=None, max_length=5000)
    status: str = Field(default="received", max_length=20, index=True)
    handled_by: str | None = Field(default=None, max_length=40)
    answered_by: int | None = Field(default=None, foreign_key="member.id")
    answer: str | None = Field(default=None, max_length=5000)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


async def record_inbound(
    *,
    session: AsyncSession,
    provider: str,
    provider_message_id: str,
    channel: str,
    address: str | None,
    text: str | None,
    member_id: int | None = None,
) -> InboundMessage | None:
    """Store an incoming message; None when this provider message id was seen already."""
    existing = await session.execute(
        select(InboundMessage.id).where(
            InboundMessage.provider == provider,
            InboundMessage.provider_message_id == provider_message_id,
        )
    )
    if existing.first() is not None:
        return None
    values = {
        "provider": provider,
        "provider_message_id": provider_message_id,
        "channel": channel,
        "address": address,
        "text": (text or "")[:5000],
        "member_id": member_id,
        "status": "received",
        "received_at": utcnow(),
    }
    new_id = await insert_if_absent(
        session, InboundMessage, values, ["provider", "provider_message_id"]
    )
    if new_id is None:
        return None  # a concurrent retry of the same webhook won the race
    return await session.get(InboundMessage, new_id)


async def inbox(*, session: AsyncSession, limit: int = 20) -> list[InboundMessage]:
    result = await session.execute(
        select(InboundMessage)
        .where(InboundMessage.status == "inbox")
        .order_by(InboundMessage.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    return list(result.scalars())
