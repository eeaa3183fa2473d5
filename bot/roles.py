"""Who may do what, checked in one place for every command (Telegram) and page (web)."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, ContextTypes

from bot.i18n import t
from models.audit import record_audit
from models.members import Member, member_by_telegram

if TYPE_CHECKING:
    from bot.runtime import Runtime

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class Access(enum.StrEnum):
    PUBLIC = "public"  # anyone, registered or not
    MEMBER = "member"  # an active registered member
    BOARD = "board"  # board or secretariat
    SECRETARIAT = "secretariat"


@dataclass(frozen=True)
class CommandInfo:
    name: str
    description_key: str
    access: Access
    menu: bool = True


def allowed(member: Member | None, access: Access) -> bool:
    if access == Access.PUBLIC:
        return True
    if member is None or not member.is_active:
        return False
    if access == Access.MEMBER:
        return True
    if access == Access.BOARD:
        return member.is_board
    return member.is_admin


async def telegram_member(rt: Runtime, update: Update) -> Member | None:
    user = update.effective_user
    if user is None:
        return None
    async with rt.db.session() as session:
        return await member_by_telegram(session=session, telegram_id=user.id)


async def member_with_access(
    rt: Runtime, update: Update, access: Access, *, target: str, alert: bool = True
) -> Member | None:
    """The member behind a button or message if they have `access`; otherwise the try is
    audited (for staff-only access), refused in their language (an alert for a button), and None.

    Buttons need this as much as commands: a forwarded message or a forged callback reaches anyone.
    """
    member = await telegram_member(rt, update)
    if allowed(member, access):
        return member
    user = update.effective_user
    # Audit first: once the refusal is read, the record of the attempt exists.
    if access in (Access.SECRETARIAT, Access.BOARD):
        async with rt.db.session() as session:
            await record_audit(
                session=session,
                action="access.refused",
                actor_member_id=member.id if member else None,
                actor_label=f"telegram:{user.id}" if user else "telegram",
                target=target[:120],
            )
    language = member.language if member else _language_of(update, rt)
    key = "core.not_registered" if member is None else "core.not_allowed"
    if alert and update.callback_query is not None:
        await update.callback_query.answer(t(key, language), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(t(key, language))
    return None


def guarded(rt: Runtime, access: Access, name: str, callback: Callback) -> Callback:
    """Refuse, in the user's language, anyone without `access`; audit refused admin tries."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        refused = access != Access.PUBLIC and (
            # A guarded button answers in the chat, like its command.
            await member_with_access(rt, update, access, target=f"/{name}", alert=False) is None
        )
        if refused:
            raise ApplicationHandlerStop
        await callback(update, context)
        # Handled: the unknown-command hint in a later handler group must not answer too.
        raise ApplicationHandlerStop

    return wrapper


def _language_of(update: Update, rt: Runtime) -> str:
    code = (update.effective_user.language_code or "") if update.effective_user else ""
    code = code.split("-")[0]
    return code if code in ("ka", "az", "ru", "en") else rt.settings.default_language


def add_command(
    rt: Runtime,
    name: str,
    callback: Callback,
    *,
    description_key: str,
    access: Access = Access.MEMBER,
    menu: bool = True,
    **handler_kwargs: Any,
) -> None:
    """Register a Telegram command with its access rule, /help line and menu entry."""
    rt.commands.append(CommandInfo(name, description_key, access, menu))
    rt.add_telegram_handler(
        CommandHandler(name, guarded(rt, access, name, callback), **handler_kwargs)
    )
