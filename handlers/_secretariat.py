"""Shared by the secretariat's button handlers (broadcasts, schedules, inbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update

from bot.i18n import t
from bot.roles import Access, allowed, telegram_member
from models.audit import record_audit
from models.members import Member

if TYPE_CHECKING:
    from bot.runtime import Runtime


async def secretariat_or_refuse(rt: Runtime, update: Update, target: str) -> Member | None:
    """The pressing member if secretariat; otherwise audit the try, say no, and None.

    Buttons need their own check: a forwarded message or a forged callback can reach anyone.
    """
    member = await telegram_member(rt, update)
    if allowed(member, Access.SECRETARIAT):
        return member
    user, query = update.effective_user, update.callback_query
    async with rt.db.session() as session:
        await record_audit(
            session=session,
            action="access.refused",
            actor_member_id=member.id if member else None,
            actor_label=f"telegram:{user.id}" if user else "telegram",
            target=target,
        )
    if query is not None:
        await query.answer(t("core.not_allowed", member.language if member else None))
    return None
