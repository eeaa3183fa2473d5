"""/audiences (secretariat): the saved audiences with their counts as of now; rename and
delete (after a confirmation). Saving happens in the picker ("💾 Save as…", handlers.
audience_picker). Every change is audited by models.audiences; refusals by bot.roles.

Buttons: `aud:rn:<id>` (rename: the next typed text, Dialog flow "audiences"), `aud:rm:<id>`
(asks), `aud:del:<id>` (deletes), `aud:keep`.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, add_command, member_with_access
from bot.runtime import Runtime, runtime_of
from handlers import audience_picker as picker
from models.audiences import (
    MAX_NAME,
    AudienceNameError,
    delete_saved,
    get_saved,
    list_saved,
    rename_saved,
)
from models.dialogs import Dialog, end_dialog, get_dialog, start_dialog

ORDER = 45
FLOW = "audiences"
TARGET = "/audiences"


async def listing(rt: Runtime, language: str) -> tuple[str, list[list[Button]]]:
    """Every saved audience: its filter in words and who it reaches now."""
    async with rt.db.session() as session:
        saved = await list_saved(session=session)
        if not saved:
            return t("audiences.list_empty", language), []
        lines, rows = [t("audiences.list_title", language)], []
        for number, item in enumerate(saved, start=1):
            reach = await picker.reach_for(session, rt.settings, item.filter, urgent=False)
            words = await picker.describe(session, rt.settings, item.filter, language)
            lines.append(
                t(
                    "audiences.list_line",
                    language,
                    number=number,
                    name=item.name,
                    audience=words,
                    reach=picker.reach_line(reach, language),
                )
            )
            rows.append(
                [
                    Button(t("audiences.btn_rename", language, number=number), f"aud:rn:{item.id}"),
                    Button(t("audiences.btn_delete", language, number=number), f"aud:rm:{item.id}"),
                ]
            )
    return "\n".join(lines), rows


async def audiences_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await member_with_access(rt, update, Access.SECRETARIAT, target=TARGET)
    message = update.effective_message
    if member is None or message is None:
        return
    text, rows = await listing(rt, member.language)
    await message.reply_text(text, reply_markup=picker.inline(rows) if rows else None)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await member_with_access(rt, update, Access.SECRETARIAT, target=TARGET)
    if member is None or not isinstance(query.message, Message):
        return
    language, (_, action, *rest) = member.language, query.data.split(":")
    if action == "keep":
        await query.answer()
        await query.message.edit_text(t("audiences.kept", language))
        return
    saved_id = int(rest[0]) if rest and rest[0].isdigit() else 0
    async with rt.db.session() as session:
        saved = await get_saved(session=session, saved_id=saved_id)
        if saved is None:
            await query.answer(t("audiences.stale", language), show_alert=True)
            return
        name = saved.name
        if action == "rn":
            await start_dialog(
                session=session,
                channel="telegram",
                address=str(user.id),
                flow=FLOW,
                step="rename",
                data={"saved_id": saved_id},
                member_id=member.id,
            )
        elif action == "del":
            await delete_saved(
                session=session, saved=saved, actor=member, actor_label=f"telegram:{user.id}"
            )
    await query.answer()
    if action == "rn":
        await query.message.reply_text(
            t("audiences.ask_rename", language, name=name, limit=MAX_NAME)
        )
    elif action == "rm":
        rows = [
            [Button(t("audiences.btn_confirm_delete", language), f"aud:del:{saved_id}")],
            [Button(t("audiences.btn_keep", language), "aud:keep")],
        ]
        await query.message.reply_text(
            t("audiences.confirm_delete", language, name=name), reply_markup=picker.inline(rows)
        )
    elif action == "del":
        await query.message.edit_text(t("audiences.deleted", language, name=name))


async def on_rename(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """The new name typed after ✎."""
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    member = await member_with_access(rt, update, Access.SECRETARIAT, target=TARGET)
    if member is None:
        async with rt.db.session() as session:
            await end_dialog(session=session, channel="telegram", address=str(user.id))
        return
    language = member.language
    async with rt.db.session() as session:
        fresh = await get_dialog(session=session, channel="telegram", address=str(user.id))
        saved_id = int((fresh.data if fresh else dialog.data).get("saved_id", 0))
        saved = await get_saved(session=session, saved_id=saved_id)
        if saved is None:
            await end_dialog(session=session, channel="telegram", address=str(user.id))
            answer = t("audiences.gone", language)
        else:
            before = saved.name
            try:
                await rename_saved(
                    session=session,
                    saved=saved,
                    name=message.text or "",
                    actor=member,
                    actor_label=f"telegram:{user.id}",
                )
            except AudienceNameError as error:
                await message.reply_text(t(error.key, language, **error.values))
                return
            await end_dialog(session=session, channel="telegram", address=str(user.id))
            answer = t("audiences.renamed", language, before=before, name=saved.name)
    await message.reply_text(answer)


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "audiences",
        audiences_command,
        description_key="audiences.cmd_audiences",
        access=Access.SECRETARIAT,
    )
    rt.telegram_step(FLOW, on_rename)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^aud:"))
