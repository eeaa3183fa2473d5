"""Youth initiatives in another language, on Telegram (the lead and the secretariat):
/initiative_text Y4 az — the next message is the title (first line) and the description (the
rest), saved through models.youth.set_initiative_text (audited).

Split from handlers.youth_admin; the same ORDER, and the module name sorts after it, so the
command is registered (and listed in /help and the menu) exactly where it was.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import LANGUAGES, t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers._youth_common import initiative_from_args, refuse_unless_lead
from handlers.youth_notify import refusal
from models.base import utcnow
from models.dialogs import Dialog, end_dialog, start_dialog
from models.youth import YouthRefused, get_initiative, may_manage, set_initiative_text

ORDER = 63  # as handlers.youth_admin, which sorts first
TEXT_FLOW = "youth_text"


async def text_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/initiative_text Y4 az: the next message is the title (first line) and description."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    target = (context.args[1] if context.args and len(context.args) > 1 else "").lower()
    if target not in LANGUAGES:
        await message.reply_text(t("youth.text_usage", language))
        return
    async with rt.db.session() as session:
        initiative = await initiative_from_args(
            update, context, session, language, "youth.text_usage"
        )
        if initiative is None:
            return
        if not await refuse_unless_lead(update, session, member, initiative, what="text"):
            return
        await start_dialog(
            session=session,
            channel="telegram",
            address=str(member.telegram_id),
            flow=TEXT_FLOW,
            step="text",
            data={"initiative": initiative.id, "language": target},
            member_id=member.id,
        )
    await message.reply_text(
        t("youth.text_ask", language, code=initiative.code, language=target.upper())
    )


async def on_text_translation(
    update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog
) -> None:
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await telegram_member(rt, update)
    if member is None:
        return
    language, raw = member.language, (message.text or "").strip()
    title, _, description = raw.partition("\n")
    async with rt.db.session() as session:
        await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
        initiative = await get_initiative(
            session=session, initiative_id=int(dialog.data.get("initiative", 0))
        )
        if initiative is None or not may_manage(member, initiative) or not raw:
            await message.reply_text(t("youth.text_not_saved", language))
            return
        try:
            await set_initiative_text(
                session=session,
                initiative=initiative,
                language=str(dialog.data.get("language")),
                actor=member,
                now=utcnow(),
                title=title.strip(),
                description=description.strip() if description.strip() else None,
            )
        except YouthRefused as exc:
            await message.reply_text(refusal(exc, language, initiative.code))
            return
    await message.reply_text(
        t(
            "youth.text_saved",
            language,
            code=initiative.code,
            language=str(dialog.data.get("language")).upper(),
        )
    )


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "initiative_text",
        text_command,
        description_key="youth.cmd_text",
        access=Access.MEMBER,
    )
    rt.telegram_step(TEXT_FLOW, on_text_translation)
