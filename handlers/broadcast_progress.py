"""Following a broadcast: the secretariat's confirmation message edited live (sent /
delivered / failed, throttled), "Stop sending", `/broadcasts`, `/report <id>` with failures by
reason and a CSV, and `lagbot broadcast status` with a progress bar.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import TYPE_CHECKING

from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import runtime_of
from bot.settings import Settings
from handlers._secretariat import secretariat_or_refuse
from models.audit import record_audit
from models.broadcast_reports import Report, broadcast_report, report_csv
from models.broadcasts import (
    Broadcast,
    BroadcastStatus,
    Progress,
    broadcast_progress,
    cancel_broadcast,
    finish_if_done,
    recent_broadcasts,
)
from models.members import Member

if TYPE_CHECKING:
    from bot.runtime import Runtime

THROTTLE = 2.0  # seconds between two edits of one confirmation message
BAR = 20


def bar(done: int, total: int, width: int = BAR) -> str:
    filled = width if total <= 0 else round(width * done / total)
    return "█" * filled + "░" * (width - filled)


def progress_text(broadcast: Broadcast, progress: Progress, language: str) -> str:
    key = {
        BroadcastStatus.SENDING: "broadcasts.progress_sending",
        BroadcastStatus.DONE: "broadcasts.progress_done",
        BroadcastStatus.CANCELLED: "broadcasts.progress_cancelled",
    }[BroadcastStatus(broadcast.status)]
    lines = [
        t(key, language, id=broadcast.id),
        f"{bar(progress.handled, progress.total)} {progress.handled}/{progress.total}",
        t(
            "broadcasts.progress_counts",
            language,
            sent=progress.sent,
            delivered=progress.delivered,
            failed=progress.failed,
            skipped=progress.skipped,
            waiting=progress.waiting,
        ),
    ]
    if broadcast.recipients == 0:
        lines.append(t("broadcasts.progress_nobody", language))
    if broadcast.status != BroadcastStatus.SENDING:
        lines.append(t("broadcasts.progress_report", language, id=broadcast.id))
    return "\n".join(lines)


def progress_markup(broadcast: Broadcast, language: str) -> InlineKeyboardMarkup | None:
    if broadcast.status != BroadcastStatus.SENDING:
        return None
    label = t("broadcasts.stop_sending", language)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"bcx:stop:{broadcast.id}")]]
    )


class ProgressNotifier:
    """Told by the delivery engine which broadcasts moved; edits their confirmations."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._last: dict[int, float] = {}
        self._shown: dict[int, str] = {}

    async def __call__(self, touched: set[int]) -> None:
        now = time.monotonic()
        due = {b for b in touched if now - self._last.get(b, 0.0) >= THROTTLE}
        for later in touched - due:
            self.rt.delivery.touch(later)  # asked again on a later round
        if not due:
            return
        for broadcast_id in due:
            self._last[broadcast_id] = now
        async with self.rt.db.session() as session:
            broadcasts = list(
                (
                    await session.execute(select(Broadcast).where(col(Broadcast.id).in_(due)))
                ).scalars()
            )
            progress = await broadcast_progress(session=session, broadcast_ids=list(due))
            languages: dict[int, str] = {}
            for broadcast in broadcasts:
                assert broadcast.id is not None
                await finish_if_done(
                    session=session, broadcast=broadcast, progress=progress[broadcast.id]
                )
                creator = (
                    await session.get(Member, broadcast.created_by)
                    if broadcast.created_by
                    else None
                )
                languages[broadcast.id] = (
                    creator.language if creator else self.rt.settings.default_language
                )
        for broadcast in broadcasts:
            assert broadcast.id is not None
            await self._edit(broadcast, progress[broadcast.id], languages[broadcast.id])
            if broadcast.status == BroadcastStatus.SENDING:
                self.rt.delivery.touch(broadcast.id)  # look again (throttled) until it is done

    async def _edit(self, broadcast: Broadcast, progress: Progress, language: str) -> None:
        bot = self.rt.telegram_bot
        if bot is None or not broadcast.notify_chat_id or not broadcast.notify_message_id:
            return
        assert broadcast.id is not None
        text = progress_text(broadcast, progress, language)
        if self._shown.get(broadcast.id) == text:
            return
        try:
            await bot.edit_message_text(
                text,
                chat_id=broadcast.notify_chat_id,
                message_id=broadcast.notify_message_id,
                reply_markup=progress_markup(broadcast, language),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                return
        except (Forbidden, TelegramError):
            self.rt.delivery.touch(broadcast.id)  # try again later
            return
        self._shown[broadcast.id] = text


async def on_stop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Stop sending": rows not yet taken are cancelled (rows on the wire still finish)."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await secretariat_or_refuse(rt, update, "/broadcasts")
    if member is None:
        return
    assert member is not None
    broadcast_id = int(query.data.rsplit(":", 1)[1])
    async with rt.db.session() as session:
        cancelled = await cancel_broadcast(session=session, broadcast_id=broadcast_id)
        await record_audit(
            session=session,
            action="broadcast.cancel",
            actor_member_id=member.id,
            actor_label=f"telegram:{user.id}",
            target=f"broadcast:{broadcast_id}",
            details={"cancelled_rows": cancelled},
        )
    await query.answer(t("broadcasts.stopped", member.language, count=cancelled))
    rt.delivery.touch(broadcast_id)


async def broadcasts_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The latest broadcasts with their totals."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    assert member is not None and update.effective_message is not None
    language = member.language
    async with rt.db.session() as session:
        broadcasts = await recent_broadcasts(session=session, limit=10)
        progress = await broadcast_progress(
            session=session, broadcast_ids=[b.id for b in broadcasts if b.id is not None]
        )
        for b in broadcasts:
            assert b.id is not None
            await finish_if_done(session=session, broadcast=b, progress=progress[b.id])
    if not broadcasts:
        await update.effective_message.reply_text(t("broadcasts.none_yet", language))
        return
    lines = [t("broadcasts.list_title", language)]
    for b in broadcasts:
        assert b.id is not None
        p = progress[b.id]
        when = b.created_at.astimezone(rt.settings.tz).strftime("%d.%m %H:%M")
        snippet = b.texts.get("ka", "").replace("\n", " ")[:40]
        lines.append(
            t(
                "broadcasts.list_line",
                language,
                id=b.id,
                when=when,
                status=t(f"broadcasts.status_{b.status}", language),
                total=p.total,
                delivered=p.delivered,
                sent=p.sent,
                failed=p.failed,
                waiting=p.waiting,
                text=snippet,
            )
        )
    lines.append(t("broadcasts.list_hint", language))
    await update.effective_message.reply_text("\n".join(lines))


def report_text(report: Report, language: str, settings: Settings) -> str:
    b, p = report.broadcast, report.progress
    when = b.created_at.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
    lines = [
        t("broadcasts.report_title", language, id=b.id, when=when, by=report.creator or "—"),
        t(
            "broadcasts.report_channels",
            language,
            telegram=p.by_channel.get("telegram", 0),
            sms=p.by_channel.get("sms", 0),
            unreachable=b.reach.get("unreachable", 0),
            opted_out=b.reach.get("opted_out", 0),
        ),
        t(
            "broadcasts.progress_counts",
            language,
            sent=p.sent,
            delivered=p.delivered,
            failed=p.failed,
            skipped=p.skipped,
            waiting=p.waiting,
        ),
        t(
            "broadcasts.report_more",
            language,
            no_report=p.no_report,
            cancelled=p.cancelled,
            parts=report.sms_parts,
            estimated=b.sms_parts,
        ),
    ]
    if report.failures:
        lines.append(t("broadcasts.report_failures", language))
        lines.extend(f"• {reason} — {count}" for reason, count in report.failures)
    if report.skipped:
        lines.append(t("broadcasts.report_skipped", language))
        lines.extend(f"• {reason} — {count}" for reason, count in report.skipped)
    return "\n".join(lines)


async def report_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/report <id>: totals per channel, failures by reason, and the CSV of every recipient."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    arg = (context.args or [""])[0].lstrip("#")
    if not arg.isdigit():
        await message.reply_text(t("broadcasts.report_usage", language))
        return
    async with rt.db.session() as session:
        report = await broadcast_report(session=session, broadcast_id=int(arg))
        if report is None:
            await message.reply_text(t("broadcasts.report_unknown", language, id=arg))
            return
        csv_bytes = await report_csv(session=session, broadcast_id=int(arg), settings=rt.settings)
    await message.reply_text(report_text(report, language, rt.settings))
    await message.reply_document(csv_bytes, filename=f"broadcast-{arg}.csv")


# -- lagbot broadcast status ------------------------------------------------------------------
def add_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("broadcast", help="broadcasts: progress of recent ones")
    sub = parser.add_subparsers(dest="broadcast_command", metavar="ACTION")
    status = sub.add_parser("status", help="progress bars of recent broadcasts (or one)")
    status.add_argument("id", nargs="?", type=int, help="one broadcast")
    status.add_argument("--watch", action="store_true", help="refresh until it is done")
    status.set_defaults(func=_cli_status)


def _cli_status(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_status(settings, args.id, watch=args.watch))


async def _status(settings: Settings, broadcast_id: int | None, *, watch: bool) -> int:
    from bot.db import Database

    db = Database(settings.database_url)
    try:
        while True:
            async with db.session() as session:
                if broadcast_id is None:
                    broadcasts = await recent_broadcasts(session=session, limit=5)
                else:
                    found = await session.get(Broadcast, broadcast_id)
                    broadcasts = [found] if found else []
                ids = [b.id for b in broadcasts if b.id is not None]
                progress = await broadcast_progress(session=session, broadcast_ids=ids)
            if not broadcasts:
                print("no such broadcast" if broadcast_id else "no broadcasts yet")
                return 1 if broadcast_id else 0
            for b in broadcasts:
                assert b.id is not None
                p = progress[b.id]
                percent = 100 if p.total == 0 else round(100 * p.handled / p.total)
                print(
                    f"#{b.id} {b.status:<9} [{bar(p.handled, p.total, 30)}] {percent:3d}% "
                    f"{p.handled}/{p.total}  sent {p.sent} · delivered {p.delivered} · "
                    f"failed {p.failed} · skipped {p.skipped} · waiting {p.waiting}"
                )
            if not watch or all(progress[i].finished for i in ids):
                return 0
            await asyncio.sleep(1.0)
            print()
    finally:
        await db.dispose()


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "broadcasts",
        broadcasts_command,
        description_key="broadcasts.cmd_broadcasts",
        access=Access.SECRETARIAT,
    )
    add_command(
        rt,
        "report",
        report_command,
        description_key="broadcasts.cmd_report",
        access=Access.SECRETARIAT,
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_stop_button, pattern=r"^bcx:stop:\d+$"))
    rt.delivery.progress_listeners.append(ProgressNotifier(rt))
