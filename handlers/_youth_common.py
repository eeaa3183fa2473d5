"""Shared by the youth adapters (youth_admin, youth_texts, youth_edit): the "initiative lead or
secretariat" rule the shared role guard (bot.roles) cannot express, since it depends on the
initiative, and reading the initiative a command names.

The leading underscore keeps bot.runtime's plugin loader from taking this for a handler module.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from models.audit import record_audit
from models.members import Member
from models.youth import Initiative, get_initiative, initiative_id_from_code, may_manage


async def refuse_unless_lead(
    update: Update,
    session: AsyncSession,
    member: Member,
    initiative: Initiative | None,
    *,
    what: str,
    initiative_ref: int | str = "",
    rule: Callable[[Member | None, Initiative], bool] = may_manage,
    refusal_key: str = "youth.manage_not_allowed",
    alert: bool = False,
) -> bool:
    """True if `member` may do `what` to `initiative` (its lead or the secretariat, by `rule`).

    Otherwise the try is audited first ("access.refused", target `youth:<id>:<what>`; an unknown
    initiative is named by `initiative_ref`), answered with `refusal_key` in the member's
    language (an alert on the pressed button if `alert`, else a reply in the chat), and False.
    """
    if initiative is not None and rule(member, initiative):
        return True
    await record_audit(
        session=session,
        action="access.refused",
        actor_member_id=member.id,
        actor_label=f"member:{member.id}",
        target=f"youth:{initiative.id if initiative is not None else initiative_ref}:{what}",
    )
    text = t(refusal_key, member.language)
    if alert and update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return False


async def initiative_from_args(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    session: AsyncSession,
    language: str,
    usage_key: str,
) -> Initiative | None:
    """The initiative the command's first argument names (Y4); else the usage or "unknown"."""
    message = update.effective_message
    assert message is not None
    raw = context.args[0] if context.args else ""
    initiative_id = initiative_id_from_code(raw) if raw else None
    if initiative_id is None:
        await message.reply_text(t(usage_key, language))
        return None
    initiative = await get_initiative(session=session, initiative_id=initiative_id)
    if initiative is None:
        await message.reply_text(t("youth.refused_unknown", language, code=raw.upper()))
    return initiative
