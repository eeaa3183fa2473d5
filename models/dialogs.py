"""Multi-step conversations kept in the database, so a restart never loses a step.

One row per (channel, address): the flow (`registration`, `newevent`, ...), its current
step and the answers so far. Telegram and SMS share the same flows; both adapters look
the row up before anything else (the SMS router's precedence step 3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, select

from models.base import UTCDateTime, utcnow


class Dialog(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_dialog_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)  # telegram | sms
    address: str = Field(max_length=40)  # Telegram user id or E.164 phone
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    flow: str = Field(max_length=40)
    step: str = Field(max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


async def get_dialog(*, session: AsyncSession, channel: str, address: str) -> Dialog | None:
    result = await session.execute(
        select(Dialog).where(Dialog.channel == channel, Dialog.address == address)
    )
    return result.scalars().first()


async def start_dialog(
    *,
    session: AsyncSession,
    channel: str,
    address: str,
    flow: str,
    step: str,
    data: dict[str, Any] | None = None,
    member_id: int | None = None,
) -> Dialog:
    """Begin a flow, replacing whatever flow this address was in."""
    dialog = await get_dialog(session=session, channel=channel, address=address)
    if dialog is None:
        dialog = Dialog(channel=channel, address=address, flow=flow, step=step)
    dialog.flow, dialog.step = flow, step
    dialog.data = dict(data or {})
    dialog.member_id = member_id
    dialog.updated_at = utcnow()
    session.add(dialog)
    await session.flush()
    return dialog


async def advance_dialog(
    *, session: AsyncSession, dialog: Dialog, step: str, **updates: Any
) -> Dialog:
    # A new dict, so SQLAlchemy sees the JSON column change.
    dialog.data = {**dialog.data, **updates}
    dialog.step = step
    dialog.updated_at = utcnow()
    session.add(dialog)
    await session.flush()
    return dialog


async def end_dialog(*, session: AsyncSession, channel: str, address: str) -> None:
    await session.execute(
        delete(Dialog).where(Dialog.channel == channel, Dialog.address == address)  # type: ignore[arg-type]
    )
