"""Telegram side of registration: the questions of models.registration as chat messages.

Buttons carry `reg:<step>:<code>`; a button from an older question (pressed after the flow
moved on) is answered with a note and the current question is asked again. Typed text and
shared contacts arrive through `rt.telegram_step("registration", ...)` from handlers/core.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.i18n import t
from bot.roles import Access, _language_of, add_command
from bot.runtime import Runtime, runtime_of
from handlers._members_common import inline_rows, markup, notify_secretariat
from handlers.core import FALLBACK_GROUP, help_text, language_keyboard, set_member_commands
from models.base import utcnow
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog
from models.members import member_by_telegram
from models.registration import Outcome, answer, current_prompt, locked_dialog
from models.registration_finish import bootstrap_role
from models.registration_prompts import FLOW, TELEGRAM, Contact, Prompt

ORDER = 10
log = logging.getLogger(__name__)
PER_ROW = {"community": 2, "interests": 2, "summary": 2, "gender": 1, "village": 2}


def render(prompt: Prompt, language: str, *, prefix: str = "") -> tuple[str, object]:
    """The message text and keyboard for a question."""
    text = t(prompt.key, language, **prompt.values)
    if prompt.error is not None:
        text = "⚠️ " + t(prompt.error.key, language, **prompt.error.values) + "\n\n" + text
    if prefix:
        text = prefix + "\n\n" + text
    if prompt.step == "phone":
        button = KeyboardButton(t("registration.btn_share_phone", language), request_contact=True)
        keyboard = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
        return text, keyboard
    if not prompt.choices:
        return text, None
    rows = inline_rows(
        [c for c in prompt.choices if c.code != "confirm"],
        f"reg:{prompt.step}",
        per_row=PER_ROW.get(prompt.step, 1),
        tick=prompt.multi,
    )
    rows += inline_rows([c for c in prompt.choices if c.code == "confirm"], f"reg:{prompt.step}")
    return text, markup(rows)


async def _send(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, reply_markup: object = None
) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, reply_markup=reply_markup)  # type: ignore[arg-type]


async def _ask(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    prompt: Prompt,
    language: str,
    *,
    prefix: str = "",
    remove_keyboard: bool = False,
) -> None:
    text, keyboard = render(prompt, language, prefix=prefix)
    if remove_keyboard and keyboard is None:
        keyboard = ReplyKeyboardRemove()
    elif remove_keyboard:  # a reply keyboard must go before an inline one can come
        await _send(update, context, prefix or "✓", ReplyKeyboardRemove())
        text, keyboard = render(prompt, language)
    await _send(update, context, text, keyboard)


async def deliver(
    rt: Runtime,
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    outcome: Outcome,
    language: str,
    *,
    was_phone: bool = False,
) -> None:
    """Show the member what the answer led to (the next question, or the end)."""
    if outcome.kind == "ask":
        assert outcome.prompt is not None
        leaving_phone = was_phone and outcome.prompt.step != "phone"
        await _ask(
            update,
            context,
            outcome.prompt,
            language,
            prefix=outcome.answered or "",
            remove_keyboard=leaving_phone,
        )
        return
    member = outcome.member
    if outcome.kind == "refused" or member is None:
        await _send(
            update,
            context,
            t(outcome.key or "registration.declined", language),
            ReplyKeyboardRemove(),
        )
        return
    language = member.language
    text = t(outcome.key or "registration.done", language, name=member.name or "")
    if member.is_active:
        text += "\n\n" + help_text(rt, member, language)
    await _send(update, context, text, ReplyKeyboardRemove())
    await set_member_commands(rt, member)


async def _apply(
    rt: Runtime,
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    *,
    text: str | None = None,
    choice: str | None = None,
    contact: Contact | None = None,
    expected_step: str | None = None,
) -> None:
    """Apply one answer in one transaction, then (outside it) show what comes next."""
    user = update.effective_user
    assert user is not None
    stale: Prompt | None = None
    outcome: Outcome | None = None
    async with rt.db.session() as session:
        dialog = await locked_dialog(session=session, channel=TELEGRAM, address=str(user.id))
        if dialog is not None and dialog.flow == FLOW:
            language = str(dialog.data.get("language") or rt.settings.default_language)
            was_phone = dialog.step == "phone"
            if dialog.step == "language":
                pass
            elif expected_step is not None and expected_step != dialog.step:
                stale = await current_prompt(
                    session=session, settings=rt.settings, channel=TELEGRAM, dialog=dialog
                )
            else:
                outcome = await answer(
                    session=session,
                    settings=rt.settings,
                    channel=TELEGRAM,
                    dialog=dialog,
                    text=text,
                    choice=choice,
                    contact=contact,
                    now=utcnow(),
                )
                for notice in outcome.notices:
                    await notify_secretariat(rt, session, notice.key, notice.values)
    if dialog is None or dialog.flow != FLOW:
        await _closed(update, context, rt)
    elif stale is not None:
        await _ask(update, context, stale, language, prefix=t("registration.stale", language))
    elif outcome is None:
        await _send(update, context, t("core.choose_language", language), language_keyboard())
    else:
        if outcome.notices:
            rt.delivery.wake()
        await deliver(rt, update, context, outcome, language, was_phone=was_phone)


async def _closed(update: Update, context: ContextTypes.DEFAULT_TYPE, rt: Runtime) -> None:
    query = update.callback_query
    language = _language_of(update, rt)
    if query is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
    await _send(update, context, t("registration.over", language))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`reg:<step>:<code>` pressed."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":", 2)
    await query.answer()
    if len(parts) != 3:
        return
    _, step, code = parts
    if step == "interests" and code != "done":
        await _toggle(rt, update, context, code)
        return
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)
    await _apply(rt, update, context, choice=code, expected_step=step)


async def _toggle(
    rt: Runtime, update: Update, context: ContextTypes.DEFAULT_TYPE, code: str
) -> None:
    """An interest switched on or off: the same message, its ✓ marks updated in place."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    outcome: Outcome | None = None
    async with rt.db.session() as session:
        dialog = await locked_dialog(session=session, channel=TELEGRAM, address=str(user.id))
        if dialog is not None and dialog.flow == FLOW and dialog.step == "interests":
            language = str(dialog.data.get("language") or rt.settings.default_language)
            outcome = await answer(
                session=session,
                settings=rt.settings,
                channel=TELEGRAM,
                dialog=dialog,
                choice=code,
                now=utcnow(),
            )
    if outcome is None or outcome.prompt is None:  # an old message: ask what is current
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        await _apply(rt, update, context, choice=code, expected_step="interests")
        return
    _, keyboard = render(outcome.prompt, language)
    with contextlib.suppress(TelegramError):  # "message is not modified" is harmless
        await query.edit_message_reply_markup(keyboard)  # type: ignore[arg-type]


async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """Typed text or a shared contact while registering."""
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if message.contact is not None:
        contact = Contact(message.contact.phone_number, message.contact.user_id == user.id)
        await _apply(rt, update, context, contact=contact)
        return
    await _apply(rt, update, context, text=message.text or message.caption or "")


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE, language: str) -> None:
    """The language was chosen (handlers/core): show the consent screen, or resume."""
    rt = runtime_of(context)
    user = update.effective_user
    assert user is not None
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel=TELEGRAM, address=str(user.id))
        if dialog is None or dialog.flow != FLOW:
            return
        if user.username:
            await advance_dialog(
                session=session, dialog=dialog, step=dialog.step, telegram_username=user.username
            )
        prompt = await current_prompt(
            session=session, settings=rt.settings, channel=TELEGRAM, dialog=dialog
        )
    await _ask(update, context, prompt, language)


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """/start in the middle of registering: the same question again, nothing lost."""
    rt = runtime_of(context)
    async with rt.db.session() as session:
        fresh = await get_dialog(session=session, channel=TELEGRAM, address=dialog.address)
        if fresh is None:
            return
        language = str(fresh.data.get("language") or rt.settings.default_language)
        prompt = await current_prompt(
            session=session, settings=rt.settings, channel=TELEGRAM, dialog=fresh
        )
    await _ask(update, context, prompt, language, prefix=t("registration.resumed", language))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: leave whatever step-by-step flow is open; a registration draft is deleted."""
    rt = runtime_of(context)
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        dialog = await get_dialog(session=session, channel=TELEGRAM, address=str(user.id))
        language = member.language if member else _language_of(update, rt)
        if dialog is not None and not member:
            language = str(dialog.data.get("language") or language)
        if dialog is not None:
            await end_dialog(session=session, channel=TELEGRAM, address=str(user.id))
    if dialog is None:
        key = "registration.nothing_to_cancel"
    elif dialog.flow == FLOW:
        key = "registration.cancelled"
    else:
        key = "registration.cancelled_other"
    await message.reply_text(t(key, language), reply_markup=ReplyKeyboardRemove())


async def first_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any first message from someone unknown starts registration, like /start."""
    rt = runtime_of(context)
    user = update.effective_user
    if user is None or update.effective_chat is None or update.effective_chat.type != "private":
        return
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        dialog = await get_dialog(session=session, channel=TELEGRAM, address=str(user.id))
    if member is not None or dialog is not None:
        return
    from handlers.core import start

    await start(update, context)
    raise ApplicationHandlerStop


async def bootstrap_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Telegram id listed in SECRETARIAT_TELEGRAM_IDS becomes secretariat at first contact."""
    rt = runtime_of(context)
    user = update.effective_user
    if user is None or user.id not in rt.settings.secretariat_telegram_ids:
        return
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        if member is None:
            return
        promoted = await bootstrap_role(session=session, settings=rt.settings, member=member)
    if promoted:
        await set_member_commands(rt, member)


def setup(rt: Runtime) -> None:
    rt.hooks["registration.begin"] = begin
    rt.hooks["registration.resume"] = resume
    rt.telegram_step(FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^reg:"))
    if not any(info.name == "cancel" for info in rt.commands):
        add_command(
            rt,
            "cancel",
            cancel,
            description_key="registration.cmd_cancel",
            access=Access.PUBLIC,
            menu=False,
        )
    rt.add_telegram_handler(TypeHandler(Update, bootstrap_admin), group=-1)
    rt.add_telegram_handler(
        MessageHandler((filters.TEXT & ~filters.COMMAND) | filters.CONTACT, first_message),
        group=FALLBACK_GROUP - 1,
    )
