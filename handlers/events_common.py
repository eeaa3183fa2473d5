"""Helpers shared by the secretariat's event handlers: the role check with an audited refusal,
sending into the chat, stale-button answers, and loading a non-draft event."""

from __future__ import annotations

from telegram import CallbackQuery, Update

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, _language_of, allowed, telegram_member
from bot.runtime import Runtime
from handlers.events_render import markup
from models.audit import record_audit
from models.events import (
    Event,
    EventStatus,
    get_event,
)
from models.members import Member


# -- helpers shared by the secretariat's event handlers -------------------------------------
async def admin_member(rt: Runtime, update: Update) -> Member | None:
    """The secretariat member behind this update, or None after a refusal (audited)."""
    member = await telegram_member(rt, update)
    if allowed(member, Access.SECRETARIAT):  # the same rule as every secretariat command
        return member
    language = member.language if member else _language_of(update, rt)
    key = "core.not_registered" if member is None else "core.not_allowed"
    if update.callback_query is not None:
        await update.callback_query.answer(t(key, language), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(t(key, language))
    user = update.effective_user
    async with rt.db.session() as session:
        await record_audit(
            session=session,
            action="access.refused",
            actor_member_id=member.id if member else None,
            actor_label=f"telegram:{user.id}" if user else "telegram",
            target="events",
        )
    return None


async def chat_send(update: Update, text: str, rows: list[list[Button]]) -> None:
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(text, reply_markup=markup(rows))


async def answer_stale(query: CallbackQuery, language: str) -> None:
    await query.answer(t("events.step_over", language))


async def load_event(
    rt: Runtime, update: Update, member: Member, event_id: int | None
) -> Event | None:
    if event_id is None:
        return None
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=event_id)
    if event is None or event.status == EventStatus.DRAFT:
        await chat_send(update, t("events.unknown_event", member.language), [])
        return None
    return event
