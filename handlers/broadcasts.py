"""/broadcast: the secretariat writes one message to an audience, step by step.

The draft lives in a Dialog (flow "broadcast"), so a restart loses nothing:

    text_ka → languages (⇄ text_az / text_ru / text_en) → audience → urgency → when
      when: now | send_at (a date and time) | weekdays → weekly_time | monthly
    → preview (per language, SMS parts and cost) → [over budget → confirm_budget] → sent

Buttons carry `bc:<action>`; a button from an older screen is refused politely. Every
action checks the secretariat role again; publishing and scheduling are audited.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import LANGUAGE_NAMES, t
from bot.outbound import Button
from bot.roles import Access, add_command, allowed, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers import audience_picker as picker
from handlers import broadcast_preview as preview
from handlers._secretariat import secretariat_or_refuse
from models.broadcast_schedules import parse_hhmm, parse_when
from models.broadcasts import MAX_TEXT
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.members import Member

ORDER = 40
FLOW = "broadcast"
PICKER = picker.Picker("bc:a")
TRANSLATIONS = ("az", "ru", "en")
WEEKDAY_KEYS = (
    "broadcasts.mon",
    "broadcasts.tue",
    "broadcasts.wed",
    "broadcasts.thu",
    "broadcasts.fri",
    "broadcasts.sat",
    "broadcasts.sun",
)


def inline(rows: list[list[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


def cancel_row(language: str) -> list[Button]:
    return [Button(t("broadcasts.cancel", language), "bc:cancel")]


async def broadcast_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start a new broadcast draft (replacing any other open flow of this chat)."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message, user = update.effective_message, update.effective_user
    assert member is not None and message is not None and user is not None
    async with rt.db.session() as session:
        await start_dialog(
            session=session,
            channel="telegram",
            address=str(user.id),
            flow=FLOW,
            step="text_ka",
            data={"texts": {}, "audience": {}, "urgent": False, "when": {"kind": "now"}},
            member_id=member.id,
        )
    language = member.language
    await message.reply_text(
        t("broadcasts.ask_text_ka", language, limit=MAX_TEXT),
        reply_markup=inline([cancel_row(language)]),
    )


# -- screens -----------------------------------------------------------------------------------
def languages_screen(data: dict[str, Any], language: str) -> tuple[str, InlineKeyboardMarkup]:
    texts: dict[str, str] = data.get("texts", {})
    lines = [t("broadcasts.languages_title", language)]
    for code in ("ka", *TRANSLATIONS):
        mark = "✓" if texts.get(code) else "—"
        lines.append(f"{mark} {LANGUAGE_NAMES[code]}")
    lines.append(t("broadcasts.languages_hint", language))
    buttons = [
        Button(("✎ " if texts.get(code) else "+ ") + LANGUAGE_NAMES[code], f"bc:lang:{code}")
        for code in TRANSLATIONS
    ]
    rows = [buttons, [Button(t("broadcasts.continue", language), "bc:next")], cancel_row(language)]
    return "\n".join(lines), inline(rows)


def urgency_screen(language: str) -> tuple[str, InlineKeyboardMarkup]:
    return t("broadcasts.urgency_title", language), inline(
        [
            [Button(t("broadcasts.normal", language), "bc:u:0")],
            [Button(t("broadcasts.urgent", language), "bc:u:1")],
            cancel_row(language),
        ]
    )


def when_screen(language: str) -> tuple[str, InlineKeyboardMarkup]:
    return t("broadcasts.when_title", language), inline(
        [
            [Button(t("broadcasts.when_now", language), "bc:w:now")],
            [Button(t("broadcasts.when_at", language), "bc:w:at")],
            [
                Button(t("broadcasts.when_weekly", language), "bc:w:week"),
                Button(t("broadcasts.when_monthly", language), "bc:w:month"),
            ],
            cancel_row(language),
        ]
    )


def weekdays_screen(data: dict[str, Any], language: str) -> tuple[str, InlineKeyboardMarkup]:
    chosen = set(data.get("when", {}).get("weekdays", []))
    days = [
        Button(("✓ " if day in chosen else "") + t(key, language), f"bc:d:{day}")
        for day, key in enumerate(WEEKDAY_KEYS)
    ]
    rows = [days[:4], days[4:], [Button(t("broadcasts.continue", language), "bc:next")]]
    return t("broadcasts.weekdays_title", language), inline([*rows, cancel_row(language)])


async def show(
    target: Message, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool
) -> Message:
    """Edit the screen in place (button presses) or answer with a new one (typed text)."""
    if edit:
        try:
            result = await target.edit_text(text, reply_markup=markup)
            return result if isinstance(result, Message) else target
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return target
    return await target.reply_text(text, reply_markup=markup)


# -- typed text ---------------------------------------------------------------------------------
async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    member = await telegram_member(rt, update)
    if not allowed(member, Access.SECRETARIAT):
        async with rt.db.session() as session:
            await end_dialog(session=session, channel="telegram", address=str(user.id))
        return
    assert member is not None
    language, step, typed = member.language, dialog.step, (message.text or "").strip()
    if step.startswith("text_"):
        await _take_text(rt, message, dialog, member, step.removeprefix("text_"), typed)
        return
    if step == "audience" and picker.is_naming(dialog.data):
        async with rt.db.session() as session:
            updates, answer = await picker.take_name(
                session, dialog.data, typed, member, language, f"telegram:{user.id}"
            )
            dialog = await advance_dialog(session=session, dialog=dialog, step=step, **updates)
        await message.reply_text(answer)
        await _show_audience(rt, message, dialog, language, edit=False)
        return
    when = dict(dialog.data.get("when", {}))
    if step == "send_at":
        at = parse_when(typed, rt.settings, message.date)
        if at is None or at <= message.date:
            await message.reply_text(t("broadcasts.bad_when", language))
            return
        when.update(kind="once", at=at.isoformat())
    elif step == "weekly_time":
        clock = parse_hhmm(typed)
        if clock is None:
            await message.reply_text(t("broadcasts.bad_time", language))
            return
        when.update(time=clock.strftime("%H:%M"))
    elif step == "monthly":
        day, _, clock_text = typed.partition(" ")
        clock = parse_hhmm(clock_text)
        if not day.isdigit() or not 1 <= int(day) <= 31 or clock is None:
            await message.reply_text(t("broadcasts.bad_monthly", language))
            return
        when.update(kind="monthly", month_day=int(day), time=clock.strftime("%H:%M"))
    else:
        await message.reply_text(t("broadcasts.use_buttons", language))
        return
    async with rt.db.session() as session:
        dialog = await advance_dialog(session=session, dialog=dialog, step="preview", when=when)
    await preview.show_preview(rt, message, dialog, member, edit=False)


async def _take_text(
    rt: Runtime, message: Message, dialog: Dialog, member: Member, code: str, typed: str
) -> None:
    language = member.language
    texts = dict(dialog.data.get("texts", {}))
    if not message.text:
        await message.reply_text(t("broadcasts.text_only", language))
        return
    if code != "ka" and typed == "-":
        texts.pop(code, None)
    elif not typed:
        await message.reply_text(t("broadcasts.text_only", language))
        return
    elif len(typed) > MAX_TEXT:
        await message.reply_text(
            t("broadcasts.too_long", language, limit=MAX_TEXT, length=len(typed))
        )
        return
    else:
        texts[code] = typed
    async with rt.db.session() as session:
        dialog = await advance_dialog(session=session, dialog=dialog, step="languages", texts=texts)
    text, markup = languages_screen(dialog.data, language)
    await message.reply_text(text, reply_markup=markup)


# -- buttons ------------------------------------------------------------------------------------
async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await secretariat_or_refuse(rt, update, "/broadcast")
    if member is None:
        return
    assert isinstance(query.message, Message)
    language = member.language
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
    if dialog is None or dialog.flow != FLOW:
        await query.answer(t("broadcasts.expired", language), show_alert=True)
        return
    action = query.data.removeprefix("bc:")
    if action == "cancel":
        async with rt.db.session() as session:
            await end_dialog(session=session, channel="telegram", address=str(user.id))
        await query.answer()
        await show(query.message, t("broadcasts.cancelled", language), None, edit=True)
        return
    handled = await _dispatch(rt, query.message, dialog, member, action)
    await query.answer(handled if isinstance(handled, str) else None)


async def _dispatch(
    rt: Runtime, screen: Message, dialog: Dialog, member: Member, action: str
) -> bool | str:
    """Run one button press for the current step; a string is a short notice to show."""
    language, step = member.language, dialog.step
    data = dialog.data
    if step == "languages" and action.startswith("lang:") and action[5:] in TRANSLATIONS:
        code = action[5:]
        await _advance(rt, dialog, f"text_{code}")
        key = (
            "broadcasts.ask_translation_replace"
            if data["texts"].get(code)
            else ("broadcasts.ask_translation")
        )
        await show(
            screen,
            t(key, language, language=LANGUAGE_NAMES[code], limit=MAX_TEXT),
            inline([cancel_row(language)]),
            edit=True,
        )
        return True
    if step == "languages" and action == "next":
        dialog = await _advance(rt, dialog, "audience", aud_view="main")
        return await _show_audience(rt, screen, dialog, language)
    if step == "audience" and (action.startswith("a:") or action == "next"):
        if action == "next":
            async with rt.db.session() as session:
                reach = await picker.reach_for(session, rt.settings, data["audience"], urgent=False)
            if reach.total == 0:
                return t("broadcasts.nobody", language)
            await _advance(rt, dialog, "urgency")
            await show(screen, *urgency_screen(language), edit=True)
            return True
        async with rt.db.session() as session:
            updates, notice = await picker.press(session, PICKER, data, action[2:], language)
        dialog = await _advance(rt, dialog, "audience", **updates)
        await _show_audience(rt, screen, dialog, language)
        return notice or True
    if step == "urgency" and action in ("u:0", "u:1"):
        await _advance(rt, dialog, "when", urgent=action == "u:1")
        await show(screen, *when_screen(language), edit=True)
        return True
    if step == "when" and action.startswith("w:"):
        return await _choose_when(rt, screen, dialog, member, action[2:])
    if step == "weekdays" and action.startswith("d:") and action[2:].isdigit():
        day = int(action[2:])
        days = set(data["when"].get("weekdays", [])) ^ {day}
        when = {**data["when"], "kind": "weekly", "weekdays": sorted(d for d in days if 0 <= d < 7)}
        dialog = await _advance(rt, dialog, "weekdays", when=when)
        await show(screen, *weekdays_screen(dialog.data, language), edit=True)
        return True
    if step == "weekdays" and action == "next":
        if not data["when"].get("weekdays"):
            return t("broadcasts.pick_a_day", language)
        await _advance(rt, dialog, "weekly_time")
        await show(
            screen, t("broadcasts.ask_time", language), inline([cancel_row(language)]), edit=True
        )
        return True
    if step in ("preview", "confirm_budget") and action in ("send", "force"):
        return await preview.confirm(rt, screen, dialog, member, force=action == "force")
    return t("broadcasts.stale_button", language)


async def _advance(rt: Runtime, dialog: Dialog, step: str, **updates: Any) -> Dialog:
    async with rt.db.session() as session:
        return await advance_dialog(session=session, dialog=dialog, step=step, **updates)


async def _show_audience(
    rt: Runtime, screen: Message, dialog: Dialog, language: str, *, edit: bool = True
) -> bool:
    def finish(_: object) -> list[list[Button]]:
        return [
            [
                Button(t("broadcasts.continue", language), "bc:next"),
                Button(t("broadcasts.cancel", language), "bc:cancel"),
            ]
        ]

    async with rt.db.session() as session:
        text, buttons = await picker.screen(
            session,
            rt.settings,
            PICKER,
            dialog.data,
            language,
            title=t("broadcasts.audience_title", language),
            finish=finish,
        )
    await show(screen, text, inline(buttons), edit=edit)
    return True


async def _choose_when(
    rt: Runtime, screen: Message, dialog: Dialog, member: Member, choice: str
) -> bool | str:
    language = member.language
    if choice == "now":
        dialog = await _advance(rt, dialog, "preview", when={"kind": "now"})
        await preview.show_preview(rt, screen, dialog, member, edit=True)
        return True
    prompts = {
        "at": ("send_at", "broadcasts.ask_when"),
        "month": ("monthly", "broadcasts.ask_monthly"),
    }
    if choice in prompts:
        step, key = prompts[choice]
        await _advance(rt, dialog, step)
        await show(
            screen,
            t(key, language, timezone=rt.settings.timezone),
            inline([cancel_row(language)]),
            edit=True,
        )
        return True
    if choice == "week":
        dialog = await _advance(rt, dialog, "weekdays", when={"kind": "weekly", "weekdays": []})
        await show(screen, *weekdays_screen(dialog.data, language), edit=True)
        return True
    return t("broadcasts.stale_button", language)


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "broadcast",
        broadcast_command,
        description_key="broadcasts.cmd_broadcast",
        access=Access.SECRETARIAT,
    )
    rt.telegram_step(FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^bc:"))
