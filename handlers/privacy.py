"""Data rights and opt-out: /mydata, /forget, /stop, /resume, and SMS MYDATA / FORGET.

These are open to anyone who has data with us, whatever their status (a registration
awaiting a guardian's consent may be erased too), so they check membership themselves.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from telegram import BotCommandScopeChat, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, _language_of, add_command
from bot.runtime import Runtime, runtime_of
from handlers._members_common import inline_rows, markup
from models.audit import record_audit
from models.base import utcnow
from models.dialogs import end_dialog, get_dialog
from models.member_fields import Choice
from models.members import Member, MemberStatus, member_by_telegram, record_consent
from models.privacy import (
    erase_member,
    member_data,
    section_counts,
)
from models.profile_text import profile_lines

ORDER = 12
log = logging.getLogger(__name__)
# SMS MYDATA names the other parts in a word each when the /mydata labels take too much room.
SMS_LABELS = {
    "grant_applications": "members.sms_mydata_grant_applications",
    "youth_signups": "members.sms_mydata_youth_signups",
    "youth_proposals": "members.sms_mydata_youth_proposals",
    "event_answers": "members.sms_mydata_event_answers",
    "poll_votes": "members.sms_mydata_poll_votes",
}


async def _member(rt: Runtime, update: Update) -> Member | None:
    user = update.effective_user
    assert user is not None
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
    return member if member is not None and member.status != MemberStatus.ERASED else None


# -- /mydata ----------------------------------------------------------------------------------


async def mydata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Everything stored about the member: a readable message and a JSON file."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await _member(rt, update)
    if member is None:
        await message.reply_text(t("members.mydata_none", _language_of(update, rt)))
        return
    language = member.language
    async with rt.db.session() as session:
        data = await member_data(session=session, member=member)
        lines = await profile_lines(
            session=session, settings=rt.settings, member=member, language=language
        )
    text = "\n".join(
        [
            t("members.mydata_title", language),
            "",
            *lines,
            "",
            t(
                "members.mydata_counts",
                language,
                consents=len(data["consents"]),
                received=len(data["messages_from_you"]),
                sent=len(data["messages_to_you"]),
            ),
            *_section_counts(data, language),
            t("members.mydata_file", language),
        ]
    )
    await message.reply_text(text)
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await message.reply_document(
        InputFile(content, filename=f"lagbot-mydata-{member.id}.json"),
        caption=t("members.mydata_caption", language),
    )


def _section_counts(data: dict[str, Any], language: str) -> list[str]:
    """One line naming what else the file holds (grant applications 1, event answers 3, …)."""
    counts = named_counts(data, language)
    return [t("members.mydata_sections", language, sections=counts)] if counts else []


def named_counts(data: dict[str, Any], language: str, *, short: bool = False) -> str:
    """`grant applications: 1; event answers: 3` — the same parts /mydata and MYDATA name;
    `short`: a word each (`grants 1, events 3`) for an SMS."""

    if short:
        return ", ".join(
            f"{t(SMS_LABELS.get(section.name, section.label_key), language)} {count}"
            for section, count in section_counts(data)
        )
    return "; ".join(
        f"{t(section.label_key, language)}: {count}" for section, count in section_counts(data)
    )


# -- /forget ----------------------------------------------------------------------------------


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask before erasing; a registration draft is simply deleted."""
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    member = await _member(rt, update)
    if member is None:
        async with rt.db.session() as session:
            draft = await get_dialog(session=session, channel="telegram", address=str(user.id))
            if draft is not None:
                await end_dialog(session=session, channel="telegram", address=str(user.id))
        key = "members.forget_draft" if draft is not None else "members.forget_none"
        await message.reply_text(t(key, _language_of(update, rt)))
        return
    language = member.language
    choices = [
        Choice("yes", t("members.btn_forget_yes", language)),
        Choice("no", t("members.btn_forget_no", language)),
    ]
    await message.reply_text(
        t("members.forget_confirm", language), reply_markup=markup(inline_rows(choices, "fgt"))
    )


async def on_forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    await query.answer()
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)
    language = _language_of(update, rt)
    erased = False
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        if member is not None and query.data == "fgt:yes":
            language = member.language
            await erase_member(session=session, member=member, channel="telegram")
            erased = True
        elif member is not None:
            language = member.language
    key = "members.forget_done" if erased else "members.forget_kept"
    if member is None:
        key = "members.forget_none"
    await context.bot.send_message(user.id, t(key, language))
    if erased and rt.telegram_bot is not None:
        with contextlib.suppress(TelegramError):
            await rt.telegram_bot.delete_my_commands(scope=BotCommandScopeChat(user.id))


# -- /stop and /resume ------------------------------------------------------------------------


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """No more announcements on Telegram; members with SMS choose whether SMS stops too."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await _member(rt, update)
    if member is None:
        await message.reply_text(t("core.not_registered", _language_of(update, rt)))
        return
    language = member.language
    if member.sms_reachable():
        choices = [
            Choice("tg", t("members.btn_stop_telegram", language)),
            Choice("all", t("members.btn_stop_all", language)),
        ]
        await message.reply_text(
            t("members.stop_which", language), reply_markup=markup(inline_rows(choices, "stop"))
        )
        return
    await _stop(rt, member.id or 0, everywhere=False)
    await message.reply_text(t("members.stopped_telegram", language))


async def on_stop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None
    await query.answer()
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)
    member = await _member(rt, update)
    if member is None or member.id is None:
        return
    everywhere = query.data == "stop:all"
    await _stop(rt, member.id, everywhere=everywhere)
    key = "members.stopped_all" if everywhere else "members.stopped_telegram"
    await context.bot.send_message(member.telegram_id or 0, t(key, member.language))


async def _stop(rt: Runtime, member_id: int, *, everywhere: bool) -> None:
    async with rt.db.session() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        now = utcnow()
        version = rt.settings.consent_text_version
        member.telegram_opt_out_at = member.telegram_opt_out_at or now
        await record_consent(
            session=session,
            member=member,
            kind="announcements_telegram",
            given=False,
            channel="telegram",
            text_version=version,
        )
        if everywhere and member.sms_opt_out_at is None:
            member.sms_opt_out_at = now
            await record_consent(
                session=session,
                member=member,
                kind="announcements_sms",
                given=False,
                channel="telegram",
                text_version=version,
            )
        member.updated_at = now
        session.add(member)
        await record_audit(
            session=session,
            action="optout.telegram",
            actor_member_id=member.id,
            actor_label="telegram",
            target=f"member:{member.id}",
            details={"everywhere": everywhere},
        )


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Announcements on Telegram again (SMS come back with START sent by SMS)."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    found = await _member(rt, update)
    if found is None:
        await message.reply_text(t("core.not_registered", _language_of(update, rt)))
        return
    async with rt.db.session() as session:
        member = await session.get(Member, found.id)
        assert member is not None
        version = rt.settings.consent_text_version
        member.telegram_opt_out_at = None
        member.telegram_unreachable_at = None
        await record_consent(
            session=session,
            member=member,
            kind="announcements_telegram",
            given=True,
            channel="telegram",
            text_version=version,
        )
        if not member.consent_announcements:
            member.consent_announcements = True
            await record_consent(
                session=session,
                member=member,
                kind="announcements",
                given=True,
                channel="telegram",
                text_version=version,
            )
        member.updated_at = utcnow()
        session.add(member)
        sms_stopped = member.phone is not None and member.sms_opt_out_at is not None
    key = "members.resumed_sms_stopped" if sms_stopped else "members.resumed"
    await message.reply_text(t(key, member.language))


def setup(rt: Runtime) -> None:
    add_command(rt, "mydata", mydata, description_key="members.cmd_mydata", access=Access.PUBLIC)
    add_command(rt, "forget", forget, description_key="members.cmd_forget", access=Access.PUBLIC)
    add_command(rt, "stop", stop, description_key="members.cmd_stop", access=Access.MEMBER)
    add_command(rt, "resume", resume, description_key="members.cmd_resume", access=Access.MEMBER)
    rt.add_telegram_handler(CallbackQueryHandler(on_forget_button, pattern=r"^fgt:(yes|no)$"))
    rt.add_telegram_handler(CallbackQueryHandler(on_stop_button, pattern=r"^stop:(tg|all)$"))
