"""/inbox: the secretariat reads what members wrote that nothing understood, and answers.

A new message is announced at once to every secretariat member on Telegram, with "Reply" and
"Done" buttons; `/inbox` lists what still waits, oldest first. "Reply" opens a one-step
Dialog (flow "inbox_reply"); the next text is the answer, queued back to the member on the
channel they wrote on (models.inbox). Both actions are audited.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button, Outgoing, queue_for_member
from bot.roles import Access, add_command, allowed, telegram_member
from bot.runtime import runtime_of
from handlers._secretariat import secretariat_or_refuse
from models.audit import record_audit
from models.communities import Community
from models.dialogs import Dialog, end_dialog, start_dialog
from models.inbound import InboundMessage
from models.inbox import AlreadyHandled, InboxItem, answer, close, get_item, pending
from models.members import Member, MemberStatus, Role
from models.outbox import Priority

if TYPE_CHECKING:
    from bot.runtime import Runtime

FLOW = "inbox_reply"
SHOWN = 5


async def sender(session: AsyncSession, item: InboxItem, language: str) -> str:
    """Who wrote: "Nino Beridze (Kabali)" or the number of someone not registered."""
    member, message = item.member, item.message
    if member is None:
        return t("inbox.unknown_sender", language, address=message.address or "?")
    community = await session.get(Community, member.community_id) if member.community_id else None
    where = f" ({community.name(language)})" if community else ""
    return f"{member.name or '—'}{where}"


def channel_name(channel: str, language: str) -> str:
    return t("inbox.via_sms" if channel == "sms" else "inbox.via_telegram", language)


async def item_text(rt: Runtime, session: AsyncSession, item: InboxItem, language: str) -> str:
    message = item.message
    when = message.received_at.astimezone(rt.settings.tz).strftime("%d.%m %H:%M")
    return t(
        "inbox.item",
        language,
        id=message.id,
        who=await sender(session, item, language),
        channel=channel_name(message.channel, language),
        when=when,
        text=message.text or "",
    )


def item_buttons(inbound_id: int, language: str) -> list[list[Button]]:
    return [
        [
            Button(t("inbox.reply", language), f"ibx:reply:{inbound_id}"),
            Button(t("inbox.done", language), f"ibx:done:{inbound_id}"),
        ]
    ]


def _markup(rows: list[list[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


async def announce(rt: Runtime, session: AsyncSession, inbound: InboundMessage) -> None:
    """Hook "inbox.arrived": tell every secretariat member on Telegram, in the same transaction."""
    await session.flush()
    assert inbound.id is not None
    result = await session.execute(
        select(Member).where(
            col(Member.role) == Role.SECRETARIAT,
            col(Member.status) == MemberStatus.ACTIVE,
            col(Member.telegram_id).is_not(None),
        )
    )
    item = InboxItem(
        inbound, await session.get(Member, inbound.member_id) if inbound.member_id else None
    )
    for admin in result.scalars():
        language = admin.language
        text = t("inbox.new", language) + "\n" + await item_text(rt, session, item, language)
        await queue_for_member(
            session=session,
            settings=rt.settings,
            member=admin,
            message=Outgoing(text=text, buttons=item_buttons(inbound.id, language)),
            kind="inbox_notice",
            priority=Priority.NOTICE,
            channel="telegram",
        )
    asyncio.get_running_loop().call_later(0.1, rt.delivery.wake, "telegram")  # after the commit


async def inbox_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    async with rt.db.session() as session:
        items, total = await pending(session=session, limit=SHOWN)
        texts = [(i.message.id, await item_text(rt, session, i, language)) for i in items]
    if not items:
        await message.reply_text(t("inbox.empty", language))
        return
    await message.reply_text(t("inbox.title", language, count=total))
    for inbound_id, text in texts:
        assert inbound_id is not None
        await message.reply_text(text, reply_markup=_markup(item_buttons(inbound_id, language)))
    if total > len(items):
        await message.reply_text(t("inbox.more", language, count=total - len(items)))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ibx:reply:<id> asks for the answer; ibx:done:<id> closes it without one."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await secretariat_or_refuse(rt, update, "/inbox")
    if member is None:
        return
    assert isinstance(query.message, Message)
    language = member.language
    _, action, raw_id = query.data.split(":")
    inbound_id = int(raw_id)
    async with rt.db.session() as session:
        item = await get_item(session=session, inbound_id=inbound_id)
        if item is None or item.message.status != "inbox":
            await query.answer(t("inbox.already_handled", language), show_alert=True)
            return
        who = await sender(session, item, language)
        if action == "reply":
            await start_dialog(
                session=session,
                channel="telegram",
                address=str(user.id),
                flow=FLOW,
                step="answer",
                data={"inbound_id": inbound_id},
                member_id=member.id,
            )
        else:
            await close(session=session, inbound_id=inbound_id, by=member)
            await record_audit(
                session=session,
                action="inbox.close",
                actor_member_id=member.id,
                actor_label=f"telegram:{user.id}",
                target=f"inbound:{inbound_id}",
            )
    await query.answer()
    if action == "reply":
        await query.message.reply_text(
            t(
                "inbox.ask_answer",
                language,
                who=who,
                channel=channel_name(item.message.channel, language),
            )
        )
    else:
        await query.message.edit_reply_markup(None)
        await query.message.reply_text(t("inbox.closed", language, id=inbound_id))


async def on_answer(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    member = await telegram_member(rt, update)
    async with rt.db.session() as session:
        await end_dialog(session=session, channel="telegram", address=str(user.id))
    if not allowed(member, Access.SECRETARIAT):
        return
    assert member is not None
    language, text = member.language, (message.text or "").strip()
    inbound_id = int(dialog.data["inbound_id"])
    if not text:
        async with rt.db.session() as session:
            await start_dialog(
                session=session,
                channel="telegram",
                address=str(user.id),
                flow=FLOW,
                step="answer",
                data=dialog.data,
                member_id=member.id,
            )
        await message.reply_text(t("inbox.text_only", language))
        return
    async with rt.db.session() as session:
        item = await get_item(session=session, inbound_id=inbound_id)
        try:
            recipient = item.member if item else None
            prefix = t("inbox.answer_prefix", recipient.language if recipient else None)
            row = await answer(
                session=session,
                settings=rt.settings,
                inbound_id=inbound_id,
                text=text,
                by=member,
                prefix=prefix,
            )
        except AlreadyHandled:
            await message.reply_text(t("inbox.already_handled", language))
            return
        assert item is not None
        who = await sender(session, item, language)
        await record_audit(
            session=session,
            action="inbox.answer",
            actor_member_id=member.id,
            actor_label=f"telegram:{user.id}",
            target=f"inbound:{inbound_id}",
            details={"channel": row.channel},
        )
    rt.delivery.wake(row.channel)
    await message.reply_text(
        t("inbox.answered", language, who=who, channel=channel_name(row.channel, language))
    )


def setup(rt: Runtime) -> None:
    add_command(
        rt, "inbox", inbox_command, description_key="inbox.cmd_inbox", access=Access.SECRETARIAT
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^ibx:(reply|done):\d+$"))
    rt.telegram_step(FLOW, on_answer)

    async def arrived(session: AsyncSession, inbound: InboundMessage) -> None:
        await announce(rt, session, inbound)

    rt.hooks["inbox.arrived"] = arrived
