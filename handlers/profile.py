"""/profile: a member sees every field and changes any of them, one at a time.

Buttons: `prof:e:<field>` opens a field, `prof:s:<field>:<code>` sets a choice. Typed fields
(name, phone, village, birth year) open a Dialog of flow `profile` whose step is the field.
"""

from __future__ import annotations

import contextlib

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, _language_of, add_command
from bot.runtime import Runtime, runtime_of
from handlers._members_common import inline_rows, markup, notify_secretariat
from handlers.core import language_keyboard, set_member_commands
from models.base import utcnow
from models.communities import Community, list_communities
from models.dialogs import Dialog, end_dialog, start_dialog
from models.member_fields import (
    Choice,
    FieldError,
    community_choices,
    gender_choices,
    interest_choices,
    sector_choices,
)
from models.members import Member, MemberStatus, SmsScript, member_by_telegram
from models.profile import ALL_FIELDS, TEXT_FIELDS, change_field, refusal_notices
from models.profile_text import profile_lines
from models.registration_prompts import Contact, field_label, village_name

ORDER = 12
FLOW = "profile"
ASK = {
    "name": "registration.ask_name",
    "phone": "registration.ask_phone",
    "village": "registration.ask_village",
    "birth_year": "registration.ask_birth_year",
}


async def _load(rt: Runtime, update: Update) -> Member | None:
    user = update.effective_user
    assert user is not None
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
    return member if member is not None and member.status != MemberStatus.ERASED else None


async def _show(
    rt: Runtime,
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    member: Member,
    *,
    prefix: str = "",
) -> None:
    language = member.language
    async with rt.db.session() as session:
        lines = await profile_lines(
            session=session, settings=rt.settings, member=member, language=language
        )
    text = "\n".join(
        [t("members.profile_title", language), "", *lines, "", t("members.profile_hint", language)]
    )
    if prefix:
        text = prefix + "\n\n" + text
    fields = [Choice(name, "✏️ " + field_label(name, language)) for name in ALL_FIELDS]
    keyboard = markup(inline_rows(fields, "prof:e", per_row=2))
    await context.bot.send_message(member.telegram_id or 0, text, reply_markup=keyboard)


async def profile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await _load(rt, update)
    if member is None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            t("core.not_registered", _language_of(update, rt))
        )
        return
    await _show(rt, update, context, member)


async def _choices(rt: Runtime, member: Member, name: str) -> list[Choice]:
    language = member.language
    if name == "community":
        async with rt.db.session() as session:
            return community_choices(await list_communities(session=session), language)
    if name == "sector":
        return sector_choices(language)
    if name == "gender":
        return [
            *gender_choices(language),
            Choice("remove", t("members.btn_gender_remove", language)),
        ]
    if name == "sms_script":
        return [
            Choice(SmsScript.NATIVE, t("registration.script_native", language)),
            Choice(SmsScript.LATIN, t("registration.script_latin", language)),
        ]
    if name == "consent_ann":
        return [
            Choice("yes", t("registration.btn_yes", language)),
            Choice("no", t("registration.btn_no", language)),
        ]
    if name == "village":
        async with rt.db.session() as session:
            community = (
                await session.get(Community, member.community_id) if member.community_id else None
            )
        villages = community.village_list if community else []
        return [Choice(f"v{i}", village_name(v, language)) for i, v in enumerate(villages)]
    return []


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    member = await _load(rt, update)
    if member is None:
        return
    parts = query.data.split(":")
    language = member.language
    if parts[1] == "e" and len(parts) == 3 and parts[2] in ALL_FIELDS:
        await _open(rt, update, context, member, parts[2])
    elif parts[1] == "s" and len(parts) == 4:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        await _set(rt, update, context, member, parts[2], choice=parts[3])
    elif parts[1] == "i" and len(parts) == 3:
        await _toggle_interest(rt, update, member, parts[2])
    elif parts[1] == "done":
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        await _show(rt, update, context, member, prefix=t("members.saved", language))


async def _open(
    rt: Runtime, update: Update, context: ContextTypes.DEFAULT_TYPE, member: Member, name: str
) -> None:
    language = member.language
    chat = member.telegram_id or 0
    if name == "language":
        await context.bot.send_message(
            chat, t("core.choose_language", language), reply_markup=language_keyboard()
        )
        return
    if name == "interests":
        choices = interest_choices(rt.settings.interests_file, language, list(member.interests))
        rows = inline_rows(choices, "prof:i", per_row=2, tick=True)
        rows += inline_rows([Choice("done", t("registration.btn_done", language))], "prof")
        await context.bot.send_message(
            chat, t("registration.ask_interests", language), reply_markup=markup(rows)
        )
        return
    if name in TEXT_FIELDS:
        async with rt.db.session() as session:
            await start_dialog(
                session=session,
                channel="telegram",
                address=str(chat),
                flow=FLOW,
                step=name,
                member_id=member.id,
            )
        text = (
            t(ASK[name], language, consent_age=rt.settings.consent_age)
            + "\n"
            + t("members.profile_cancel_hint", language)
        )
        keyboard: object = None
        if name == "phone":
            button = KeyboardButton(
                t("registration.btn_share_phone", language), request_contact=True
            )
            keyboard = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
        elif name == "village":
            choices = await _choices(rt, member, name)
            keyboard = markup(inline_rows(choices, "prof:s:village", per_row=2))
        await context.bot.send_message(chat, text, reply_markup=keyboard)  # type: ignore[arg-type]
        return
    prompt = t("members.profile_choose", language, field=field_label(name, language))
    rows = inline_rows(
        await _choices(rt, member, name), f"prof:s:{name}", per_row=2 if name == "community" else 1
    )
    await context.bot.send_message(chat, prompt, reply_markup=markup(rows))


async def _set(
    rt: Runtime,
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    member: Member,
    name: str,
    *,
    text: str | None = None,
    choice: str | None = None,
    contact: Contact | None = None,
) -> bool:
    """Store one answer; on success show the profile again, else say why."""
    language = member.language
    error: FieldError | None = None
    note: str | None = None
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id, with_for_update=True)
        assert fresh is not None
        try:
            result = await change_field(
                session=session,
                settings=rt.settings,
                member=fresh,
                name=name,
                now=utcnow(),
                text=text,
                choice=choice,
                contact=contact,
            )
            note = result.note
            await end_dialog(session=session, channel="telegram", address=str(fresh.telegram_id))
        except FieldError as exc:
            error = exc
            for notice in refusal_notices(exc):
                await notify_secretariat(rt, session, notice.key, notice.values)
    chat = member.telegram_id or 0
    if error is not None:
        if refusal_notices(error):
            rt.delivery.wake()
        await context.bot.send_message(chat, "⚠️ " + t(error.key, language, **error.values))
        return False
    if name == "phone":
        await context.bot.send_message(
            chat, t("members.saved", language), reply_markup=ReplyKeyboardRemove()
        )
    prefix = t(note, language) if note else t("members.saved", language)
    await _show(rt, update, context, fresh, prefix=prefix)
    if name == "phone":  # a verified listed number may have made them secretariat
        await set_member_commands(rt, fresh)
    return True


async def _toggle_interest(rt: Runtime, update: Update, member: Member, code: str) -> None:
    query = update.callback_query
    assert query is not None
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id, with_for_update=True)
        assert fresh is not None
        try:
            await change_field(
                session=session,
                settings=rt.settings,
                member=fresh,
                name="interests",
                now=utcnow(),
                choice=code,
            )
        except FieldError:
            return
    language = member.language
    choices = interest_choices(rt.settings.interests_file, language, list(fresh.interests))
    rows = inline_rows(choices, "prof:i", per_row=2, tick=True)
    rows += inline_rows([Choice("done", t("registration.btn_done", language))], "prof")
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(markup(rows))


async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """Typed text (or a shared contact) for the field being edited."""
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    member = await _load(rt, update)
    if member is None:
        async with rt.db.session() as session:
            await end_dialog(session=session, channel="telegram", address=str(user.id))
        return
    contact = None
    if message.contact is not None:
        contact = Contact(message.contact.phone_number, message.contact.user_id == user.id)
    await _set(rt, update, context, member, dialog.step, text=message.text or "", contact=contact)


def setup(rt: Runtime) -> None:
    add_command(rt, "profile", profile, description_key="members.cmd_profile", access=Access.PUBLIC)
    rt.telegram_step(FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^prof:"))
