"""Helpers shared by the secretariat's event handlers: the role check with an audited refusal,
sending into the chat, stale-button answers, and loading a non-draft event."""

from __future__ import annotations

from telegram import CallbackQuery, Update

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, member_with_access
from bot.runtime import Runtime
from handlers.events_render import markup
from models.events import (
    Event,
    EventStatus,
    get_event,
)
from models.members import Member


# -- helpers shared by the secretariat's event handlers -------------------------------------
async def admin_member(rt: Runtime, update: Update) -> Member | None:
    """The secretariat member behind this update, or None after a refusal (audited)."""
    return await member_with_access(rt, update, Access.SECRETARIAT, target="events")


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
