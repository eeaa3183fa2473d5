"""Shared by the secretariat's button handlers (broadcasts, schedules, inbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update

from bot.roles import Access, member_with_access
from models.members import Member

if TYPE_CHECKING:
    from bot.runtime import Runtime


async def secretariat_or_refuse(rt: Runtime, update: Update, target: str) -> Member | None:
    """The pressing member if secretariat; otherwise audit the try, say no, and None."""
    return await member_with_access(rt, update, Access.SECRETARIAT, target=target)
