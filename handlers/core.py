"""The Telegram basics: /start, /help, /language, the menu, unknown text, blocked bots, errors."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, t
from bot.roles import Access, _language_of, add_command, allowed, telegram_member
from bot.runtime import Runtime, runtime_of
from models.base import utcnow
from models.dialogs import get_dialog, start_dialog
from models.inbound import record_inbound
from models.members import Member, MemberStatus, member_by_telegram
from models.profile import change_field

ORDER = 0  # first: the fallback text handler goes in a later group
FALLBACK_GROUP = 10
log = logging.getLogger(__name__)


def language_keyboard(prefix: str = "lang") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=f"{prefix}:{code}")]
         for code in LANGUAGES]
    )  # fmt: skip


def help_text(rt: Runtime, member: Member | None, language: str) -> str:
    lines = [t("core.help_title", language)]
    for info in rt.commands:
        if info.menu and allowed(member, info.access) and info.access != Access.SECRETARIAT:
            lines.append(f"/{info.name} — {t(info.description_key, language)}")
    admin = [i for i in rt.commands if i.access == Access.SECRETARIAT and allowed(member, i.access)]
    if admin:
        lines.append("")
        lines.append(t("core.help_admin", language))
        lines.extend(f"/{i.name} — {t(i.description_key, language)}" for i in admin)
    return "\n".join(lines)


def menu_commands(rt: Runtime, member: Member | None, language: str) -> list[BotCommand]:
    return [
        BotCommand(info.name, t(info.description_key, language)[:256])
        for info in rt.commands
        if info.menu and allowed(member, info.access)
    ]


async def set_member_commands(rt: Runtime, member: Member) -> None:
    """The command menu for one chat, in the member's chosen language (not the app's)."""
    bot = rt.telegram_bot
    if bot is None or member.telegram_id is None:
        return
    try:
        await bot.set_my_commands(
            menu_commands(rt, member, member.language),
            scope=BotCommandScopeChat(member.telegram_id),
        )
    except TelegramError:
        log.warning("could not set the command menu for member %s", member.id)


async def set_default_commands(rt: Runtime) -> None:
    bot = rt.telegram_bot
    assert bot is not None
    default = rt.settings.default_language
    await bot.set_my_commands(menu_commands(rt, None, default), scope=BotCommandScopeDefault())
    for language in LANGUAGES:
        await bot.set_my_commands(
            menu_commands(rt, None, language),
            scope=BotCommandScopeDefault(),
            language_code=language,
        )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet; a newcomer chooses a language, a member gets the main menu."""
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    member = await telegram_member(rt, update)
    if member is not None and member.status == MemberStatus.PENDING_GUARDIAN:
        # A minor's registration: not "welcome back" — say what is pending and what to do.
        await message.reply_text(t("core.welcome_pending", member.language, name=member.name or ""))
        return
    if member is not None and member.status != "erased":
        await message.reply_text(
            t("core.welcome_back", member.language, name=member.name or "")
            + "\n\n"
            + help_text(rt, member, member.language)
        )
        return
    async with rt.db.session() as session:
        draft = await get_dialog(session=session, channel="telegram", address=str(user.id))
    resume = rt.hooks.get("registration.resume")
    if draft is not None and draft.flow == "registration" and draft.step != "language" and resume:
        await resume(update, context, draft)  # half-way through: continue, nothing is lost
        return
    async with rt.db.session() as session:
        await start_dialog(
            session=session,
            channel="telegram",
            address=str(user.id),
            flow="registration",
            step="language",
        )
    await message.reply_text(t("core.choose_language", _language_of(update, rt)),
                             reply_markup=language_keyboard())  # fmt: skip


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remember the chosen language; newcomers continue into registration.

    A member's change goes through `models.profile.change_field` like every profile field
    (/profile, SMS PROFILE): the same validation and the same audit entry, channel telegram.
    """
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    language = query.data.split(":", 1)[1]
    if language not in LANGUAGES:
        await query.answer()
        return
    await query.answer(LANGUAGE_NAMES[language])
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        if member is not None:  # one path with /profile and SMS PROFILE: validated, audited
            await change_field(
                session=session,
                settings=rt.settings,
                member=member,
                name="language",
                now=utcnow(),
                choice=language,
                channel="telegram",
            )
        else:
            dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
            data = dict(dialog.data) if dialog else {}
            data["language"] = language
            await start_dialog(
                session=session,
                channel="telegram",
                address=str(user.id),
                flow="registration",
                step="language_chosen",
                data=data,
            )
    with _suppress_edit_errors():
        await query.edit_message_text(t("core.language_set", language))
    if member is not None:
        await set_member_commands(rt, member)
        return
    begin = rt.hooks.get("registration.begin")
    if begin is not None:
        await begin(update, context, language)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands this person may use, in their language."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    language = member.language if member else _language_of(update, rt)
    assert update.effective_message is not None
    await update.effective_message.reply_text(help_text(rt, member, language))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the four languages again."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    language = member.language if member else _language_of(update, rt)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        t("core.choose_language", language), reply_markup=language_keyboard()
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text or a contact: the open dialog's next step, else the inbox with a hint."""
    rt = runtime_of(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
    if dialog is not None and dialog.flow in rt.telegram_steps:
        await rt.telegram_steps[dialog.flow](update, context, dialog)
        return
    await to_inbox(rt, update)


async def to_inbox(rt: Runtime, update: Update) -> None:
    """Nothing understood this message: keep it for the secretariat and say so."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        text = message.text or message.caption or ""
        if message.photo:
            text = (text + " [photo]").strip()
        if message.document:
            text = (text + f" [file {message.document.file_name or ''}]").strip()
        if member is None:
            language = _language_of(update, rt)
            await message.reply_text(t("core.unknown_newcomer", language))
            return
        inbound = await record_inbound(
            session=session,
            provider="telegram",
            provider_message_id=f"{message.chat_id}:{message.message_id}",
            channel="telegram",
            address=str(user.id),
            text=text,
            member_id=member.id,
        )
        if inbound is not None:
            inbound.status = "inbox"
            session.add(inbound)
            arrived = rt.hooks.get("inbox.arrived")  # tells the secretariat (handlers/inbox.py)
            if arrived is not None:
                await arrived(session, inbound)
        language = member.language
    await message.reply_text(t("core.unknown_text", language))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command nobody registered: point to /help."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    language = member.language if member else _language_of(update, rt)
    assert update.effective_message is not None
    await update.effective_message.reply_text(t("core.unknown_command", language))


async def on_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The member blocked (or unblocked) the bot: Telegram is unreachable until they return."""
    rt = runtime_of(context)
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=change.from_user.id)
        if member is None:
            return
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            member.telegram_unreachable_at = utcnow()
        elif status == ChatMemberStatus.MEMBER:
            member.telegram_unreachable_at = None
        session.add(member)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every error; tell the person something went wrong; never crash the bot."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        rt = runtime_of(context)
        try:
            member = await telegram_member(rt, update)
            language = member.language if member else _language_of(update, rt)
            await update.effective_message.reply_text(t("core.error", language))
        except Exception:
            log.exception("could not report the error to the user")


class _suppress_edit_errors:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, TelegramError)


def setup(rt: Runtime) -> None:
    add_command(rt, "start", start, description_key="core.cmd_start", access=Access.PUBLIC)
    add_command(rt, "help", help_command, description_key="core.cmd_help", access=Access.PUBLIC)
    add_command(
        rt, "language", language_command, description_key="core.cmd_language", access=Access.PUBLIC
    )
    rt.add_telegram_handler(CallbackQueryHandler(choose_language, pattern=r"^lang:[a-z]{2}$"))
    rt.add_telegram_handler(ChatMemberHandler(on_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    rt.add_telegram_handler(
        MessageHandler(
            (filters.TEXT & ~filters.COMMAND)
            | filters.CONTACT
            | filters.PHOTO
            | filters.Document.ALL,
            on_text,
        ),
        group=FALLBACK_GROUP,
    )
    rt.add_telegram_handler(MessageHandler(filters.COMMAND, unknown_command), group=FALLBACK_GROUP)
    if rt.telegram_app is not None:
        rt.telegram_app.add_error_handler(on_error)

        async def _commands() -> None:
            await set_default_commands(rt)

        rt.on_telegram_start.append(_commands)
