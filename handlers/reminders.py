"""/reminders: what the scheduler will send (item, audience size, local time), send now or skip.

Secretariat only. The list is computed from the providers each time (nothing is cached);
buttons carry a short hash of the item's ref, looked up again when pressed, so a reminder
that went in the meantime answers "no longer waiting" instead of going twice.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from datetime import datetime, timedelta

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import quiet_until
from bot.roles import Access, add_command, member_with_access, telegram_member
from bot.runtime import Runtime, runtime_of
from bot.settings import Settings
from models.audit import record_audit
from models.base import utcnow
from models.members import Member
from models.reminders import get_lease
from scheduler.engine import PendingGroup, Scheduler
from scheduler.leader import LEASE_NAME
from scheduler.timing import Move

ORDER = 60
DEFAULT_DAYS = 7
MAX_DAYS = 60
PAGE_SIZE = 8

_MOVED_KEYS = {
    (Move.LATER, "quiet"): "reminders.moved_later_quiet",
    (Move.LATER, "holiday"): "reminders.moved_later_holiday",
    (Move.EARLIER, "quiet"): "reminders.moved_earlier_quiet",
    (Move.EARLIER, "holiday"): "reminders.moved_earlier_holiday",
}


def ref_hash(ref: str) -> str:
    return hashlib.sha256(ref.encode("utf-8")).hexdigest()[:16]


def _scheduler(rt: Runtime) -> Scheduler:
    assert rt.scheduler is not None
    return rt.scheduler


def _when(rt: Runtime, moment: datetime, language: str) -> str:
    local = moment.astimezone(rt.settings.tz)
    return format_datetime(local, "EEE d MMM, HH:mm", locale=language)


def group_title(group: PendingGroup, language: str) -> str:
    if group.title_key:
        return t(group.title_key, language)
    return group.title or group.ref


async def status_line(rt: Runtime, language: str) -> str:
    async with rt.db.session() as session:
        lease = await get_lease(session=session, name=LEASE_NAME)
    if lease is None or lease.last_tick_at is None:
        return t("reminders.status_never", language)
    when = _when(rt, lease.last_tick_at, language)
    stale_after = timedelta(seconds=max(300.0, 3 * rt.settings.scheduler_tick_seconds))
    if utcnow() - lease.last_tick_at > stale_after:
        return t("reminders.status_stale", language, when=when)
    return t("reminders.status_running", language, when=when)


def describe(rt: Runtime, group: PendingGroup, number: int, language: str) -> str:
    line = t(
        "reminders.item_line",
        language,
        number=number,
        when=_when(rt, group.send_at, language),
        title=group_title(group, language),
        count=group.recipients,
    )
    marks = []
    moved = _MOVED_KEYS.get((group.move, group.reason))
    if moved:
        marks.append(t(moved, language))
    if group.urgent:
        marks.append(t("reminders.mark_urgent", language))
    if group.skipped:
        marks.append(t("reminders.mark_skipped", language))
    return line + ("\n   (" + "; ".join(marks) + ")" if marks else "")


async def planned_lines(rt: Runtime, language: str, days: int) -> list[str]:
    """What goes without a button (scheduled broadcasts): when, what, where to change it."""
    planned = await _scheduler(rt).planned(days=days)
    if not planned:
        return []
    lines = ["", t("reminders.planned_title", language)]
    for item in planned:
        lines.append(
            t(
                "reminders.planned_line",
                language,
                when=_when(rt, item.send_at, language),
                title=item.title,
                count="?" if item.recipients is None else item.recipients,
                manage=item.manage,
            )
        )
    return lines


async def render_list(
    rt: Runtime, language: str, days: int, page: int, note: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    groups = await _scheduler(rt).pending(days=days)
    pages = max(1, (len(groups) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    lines = [note, ""] if note else []
    lines.append(await status_line(rt, language))
    lines.append("")
    planned = await planned_lines(rt, language, days)
    if not groups:
        lines.append(t("reminders.list_empty", language, days=days))
        return "\n".join(lines + planned), None
    lines.append(t("reminders.list_title", language, days=days))
    keyboard: list[list[InlineKeyboardButton]] = []
    first = page * PAGE_SIZE
    for number, group in enumerate(groups[first : first + PAGE_SIZE], start=first + 1):
        lines.append(describe(rt, group, number, language))
        h = ref_hash(group.ref)
        if group.skipped:
            keyboard.append(
                [_button("reminders.button_restore", language, f"r:{days}:{h}", number=number)]
            )
        else:
            keyboard.append(
                [
                    _button("reminders.button_send", language, f"n:{days}:{h}", number=number),
                    _button("reminders.button_skip", language, f"s:{days}:{h}", number=number),
                ]
            )
    lines += planned
    if pages > 1:
        lines.append("")
        lines.append(t("reminders.page", language, page=page + 1, pages=pages))
        nav = []
        if page > 0:
            nav.append(_button("reminders.button_prev", language, f"p:{days}:{page - 1}"))
        if page < pages - 1:
            nav.append(_button("reminders.button_next", language, f"p:{days}:{page + 1}"))
        keyboard.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(keyboard)


def _button(key: str, language: str, data: str, **values: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(key, language, **values), callback_data=f"rem:{data}")


async def reminders_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reminders [days]: the coming reminders and digest, with send now / skip."""
    rt = runtime_of(context)
    message = update.effective_message
    member = await telegram_member(rt, update)
    assert message is not None and member is not None
    language = member.language
    args = context.args or []
    days = DEFAULT_DAYS
    if args:
        if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_DAYS:
            await message.reply_text(t("reminders.bad_days", language))
            return
        days = int(args[0])
    text, markup = await render_list(rt, language, days, 0)
    await message.reply_text(text, reply_markup=markup)


async def _find(rt: Runtime, days: int, h: str) -> PendingGroup | None:
    for group in await _scheduler(rt).pending(days=days):
        if ref_hash(group.ref) == h:
            return group
    return None


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    target = f"button:{query.data[:60]}"
    member = await member_with_access(rt, update, Access.SECRETARIAT, target=target)
    if member is None:
        return
    assert member is not None
    language = member.language
    try:
        _, action, days_text, arg = query.data.split(":")
        days = min(max(int(days_text), 1), MAX_DAYS)
    except ValueError:
        await query.answer()
        return
    if action == "p":
        await query.answer()
        await _show(query, *await render_list(rt, language, days, int(arg) if arg.isdigit() else 0))
        return
    group = await _find(rt, days, arg)
    if group is None or group.skipped != (action == "r"):  # gone, or a stale/forged button
        await query.answer()
        await _show(query, *await render_list(rt, language, days, 0, t("reminders.gone", language)))
        return
    title = group_title(group, language)
    if action == "n":
        await query.answer()
        await _show(query, *_confirm_screen(rt, language, days, arg, group, title))
        return
    note = await _act(rt, member, user.id, action, group, title, language)
    await query.answer()
    await _show(query, *await render_list(rt, language, days, 0, note))


def _confirm_screen(
    rt: Runtime, language: str, days: int, arg: str, group: PendingGroup, title: str
) -> tuple[str, InlineKeyboardMarkup]:
    """Send now? At night, also: SMS in the morning (default) or tonight (wakes villagers)."""
    text = t("reminders.confirm_send", language, title=title, count=group.recipients)
    cancel = _button("reminders.button_cancel", language, f"p:{days}:0")
    until = None if group.urgent else quiet_until(rt.settings, _scheduler(rt).clock())
    if until is None:
        send = _button("reminders.button_confirm_send", language, f"y:{days}:{arg}")
        return text, InlineKeyboardMarkup([[send, cancel]])
    morning = until.astimezone(rt.settings.tz).strftime("%H:%M")
    text += "\n\n" + t("reminders.confirm_quiet", language, until=morning)
    keyboard = [
        [_button("reminders.button_send_sms_morning", language, f"y:{days}:{arg}", until=morning)],
        [_button("reminders.button_send_sms_tonight", language, f"u:{days}:{arg}")],
        [cancel],
    ]
    return text, InlineKeyboardMarkup(keyboard)


async def _act(
    rt: Runtime, member: Member, user_id: int, action: str, group: PendingGroup, title: str,
    language: str,
) -> str | None:  # fmt: skip
    scheduler = _scheduler(rt)
    if action in ("y", "u"):
        count = await scheduler.send_now(group, sms_tonight=action == "u")
        audit, note = (
            "reminders.send_now",
            t("reminders.sent_now", language, title=title, count=count),
        )
        details: dict[str, object] = {"recipients": count, "sms_tonight": action == "u"}
    elif action == "s":
        await scheduler.skip(group, actor_member_id=member.id)
        audit, note = "reminders.skip", t("reminders.skipped", language, title=title)
        details = {"recipients": group.recipients}
    elif action == "r":
        await scheduler.restore(group)
        audit, note = "reminders.restore", t("reminders.restored", language, title=title)
        details = {"recipients": group.recipients}
    else:
        return None
    async with rt.db.session() as session:
        await record_audit(
            session=session, action=audit, actor_member_id=member.id,
            actor_label=f"telegram:{user_id}", target=group.ref[:120],
            details={"provider": group.provider, "title": title[:200], **details},
        )  # fmt: skip
    return note


async def _show(query: object, text: str, markup: InlineKeyboardMarkup | None) -> None:
    from telegram import CallbackQuery

    assert isinstance(query, CallbackQuery)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:  # "message is not modified" when nothing changed
        if "not modified" not in str(exc).lower():
            raise


# -- lagbot reminders (the same list on a terminal) -----------------------------------------
def _cli(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_print_list(settings, args.days, args.language))


async def _print_list(settings: Settings, days: int, language: str) -> int:
    rt = Runtime(settings)
    try:
        print(await status_line(rt, language))
        groups = await _scheduler(rt).pending(days=days)
        if not groups:
            print(t("reminders.list_empty", language, days=days))
        for number, group in enumerate(groups, start=1):
            print(describe(rt, group, number, language))
        for line in await planned_lines(rt, language, days):
            print(line)
    finally:
        await rt.db.dispose()
    return 0


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"a number of days from 1 to {MAX_DAYS}")
    return int(text)


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("reminders", help="list what the scheduler will send")
    parser.add_argument("--days", type=_days, default=DEFAULT_DAYS, help="days ahead (1-60)")
    parser.add_argument("--language", default="en", choices=("ka", "az", "ru", "en"))
    parser.set_defaults(func=_cli)


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "reminders",
        reminders_command,
        description_key="reminders.cmd_reminders",
        access=Access.SECRETARIAT,
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^rem:[a-z]:\d+:[0-9a-f]+$"))
