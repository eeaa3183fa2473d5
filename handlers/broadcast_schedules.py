"""Scheduled and recurring broadcasts: the scheduler provider that publishes their runs, and
`/scheduled` (list, pause, resume, cancel) for the secretariat.

The provider plugs into the scheduler's tick (scheduler.providers) but publishes each due run
itself, as one Broadcast with its own tracking (a run is one transaction for all recipients,
reported like any broadcast), so it hands no per-member items back to the engine. A run goes
once: its `occurrence_key` is unique, and on PostgreSQL the schedule row is locked while it
is published. The secretariat member who scheduled it is told on their channel.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Outgoing, queue_for_member
from bot.roles import Access, add_command, telegram_member
from bot.runtime import runtime_of
from bot.settings import Settings
from handlers._secretariat import secretariat_or_refuse
from handlers.broadcast_preview import when_text
from models.audit import record_audit
from models.broadcast_costs import CostEstimate
from models.broadcast_schedules import (
    BroadcastSchedule,
    RunOutcome,
    ScheduleStatus,
    due_schedules,
    listed_schedules,
    run_schedule,
    set_status,
)
from models.broadcasts import Broadcast
from models.members import Member
from models.outbox import Priority
from scheduler.providers import DueItem, Planned

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


def schedule_when(schedule: BroadcastSchedule) -> dict[str, object]:
    """The schedule in the Dialog's `when` shape (for when_text)."""
    if schedule.kind == "once":
        return {
            "kind": "once",
            "at": schedule.next_run_at.isoformat() if schedule.next_run_at else "",
        }
    return {
        "kind": schedule.kind,
        "weekdays": schedule.weekdays,
        "month_day": schedule.month_day,
        "time": schedule.local_time,
    }


class ScheduledBroadcasts:
    """A scheduler provider: publishes the runs that came due; returns no items itself."""

    name = "broadcasts"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        # Own short transactions: the caller's session stays untouched, so on SQLite it holds
        # no write lock while each run is published in its own transaction.
        async with self.rt.db.session() as own:
            schedules = await due_schedules(session=own, now=now)
        published = False
        for schedule_id in [s.id for s in schedules if s.id is not None]:
            try:
                published |= await self.run(schedule_id, now)
            except Exception:
                log.exception("scheduled broadcast S%s failed", schedule_id)
        if published:
            self.rt.delivery.wake()
        return []

    async def planned(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[Planned]:
        """The next run of each active schedule before `until`, for /reminders."""
        from models.audiences import Audience, audience_reach

        found = []
        for schedule in await listed_schedules(session=session):
            at = schedule.next_run_at
            if schedule.status != ScheduleStatus.ACTIVE or at is None or at > until:
                continue
            reach = await audience_reach(
                session=session, audience=Audience.from_json(schedule.audience), now=now,
                urgent=schedule.urgent, youth_min=settings.youth_min_age,
                youth_max=settings.youth_max_age,
            )  # fmt: skip
            snippet = schedule.texts.get("ka", "").replace("\n", " ")[:60]
            found.append(
                Planned(
                    send_at=at,
                    title=f"S{schedule.id} «{snippet}»",
                    recipients=reach.total,
                    manage="/scheduled",
                    ref=f"schedule:{schedule.id}",
                )
            )
        return found

    async def run(self, schedule_id: int, now: datetime) -> bool:
        settings = self.rt.settings
        async with self.rt.db.session() as session:
            query = select(BroadcastSchedule).where(
                col(BroadcastSchedule.id) == schedule_id,
                col(BroadcastSchedule.status) == ScheduleStatus.ACTIVE,
                col(BroadcastSchedule.next_run_at) <= now,
            )
            if self.rt.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            schedule = (await session.execute(query)).scalars().first()
            if schedule is None:
                return False  # another process has it, or it changed meanwhile
            run_at = schedule.next_run_at
            outcome, result = await run_schedule(
                session=session, settings=settings, schedule=schedule, now=now
            )
            log.info("scheduled broadcast S%s (%s): %s", schedule_id, run_at, outcome)
            await self._tell_creator(session, schedule, outcome, result, run_at)
        return outcome == RunOutcome.PUBLISHED

    async def _tell_creator(
        self,
        session: AsyncSession,
        schedule: BroadcastSchedule,
        outcome: RunOutcome,
        result: object,
        run_at: datetime | None,
    ) -> None:
        creator = await session.get(Member, schedule.created_by) if schedule.created_by else None
        if creator is None or not creator.is_active or outcome == RunOutcome.ALREADY:
            return
        language = creator.language
        local = run_at.astimezone(self.rt.settings.tz).strftime("%d.%m %H:%M") if run_at else ""
        if outcome == RunOutcome.PUBLISHED and isinstance(result, Broadcast):
            text = t(
                "broadcasts.run_published",
                language,
                schedule=schedule.id,
                id=result.id,
                recipients=result.recipients,
            )
        elif outcome == RunOutcome.PAUSED_BUDGET and isinstance(result, CostEstimate):
            text = t(
                "broadcasts.run_paused_budget",
                language,
                schedule=schedule.id,
                spent=f"{result.month_spent:.2f}",
                cost=f"{result.cost:.2f}",
                budget=f"{result.budget:.2f}",
                currency=result.currency,
            )
        else:
            text = t("broadcasts.run_skipped", language, schedule=schedule.id, at=local)
        await queue_for_member(
            session=session,
            settings=self.rt.settings,
            member=creator,
            message=Outgoing(text=text),
            kind="broadcast_notice",
            priority=Priority.NOTICE,
        )


def schedule_text(schedule: BroadcastSchedule, settings: Settings, language: str) -> str:
    status = t(f"broadcasts.schedule_{schedule.status}", language)
    upcoming = (
        schedule.next_run_at.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
        if schedule.next_run_at and schedule.status == ScheduleStatus.ACTIVE
        else "—"
    )
    snippet = schedule.texts.get("ka", "").replace("\n", " ")[:80]
    return t(
        "broadcasts.schedule_line",
        language,
        id=schedule.id,
        status=status,
        when=when_text(schedule_when(schedule), settings, language),
        next=upcoming,
        runs=schedule.runs,
        text=snippet,
    )


def schedule_markup(schedule: BroadcastSchedule, language: str) -> InlineKeyboardMarkup | None:
    if schedule.status not in (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED):
        return None
    toggle = (
        InlineKeyboardButton(
            t("broadcasts.pause", language), callback_data=f"bcs:pause:{schedule.id}"
        )
        if schedule.status == ScheduleStatus.ACTIVE
        else InlineKeyboardButton(
            t("broadcasts.resume", language), callback_data=f"bcs:resume:{schedule.id}"
        )
    )
    cancel = InlineKeyboardButton(
        t("broadcasts.cancel_schedule", language), callback_data=f"bcs:cancel:{schedule.id}"
    )
    return InlineKeyboardMarkup([[toggle, cancel]])


async def scheduled_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    async with rt.db.session() as session:
        schedules = await listed_schedules(session=session)
    if not schedules:
        await message.reply_text(t("broadcasts.no_schedules", language))
        return
    await message.reply_text(t("broadcasts.schedules_title", language, count=len(schedules)))
    for schedule in schedules:
        await message.reply_text(
            schedule_text(schedule, rt.settings, language),
            reply_markup=schedule_markup(schedule, language),
        )


async def on_schedule_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """bcs:pause|resume|cancel|cancel!|keep:<id>."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await secretariat_or_refuse(rt, update, "/scheduled")
    if member is None:
        return
    assert member is not None and isinstance(query.message, Message)
    language = member.language
    _, action, raw_id = query.data.split(":")
    if action == "cancel":  # ask first: cancelling cannot be undone
        await query.answer()
        await query.message.edit_reply_markup(
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            t("broadcasts.cancel_yes", language),
                            callback_data=f"bcs:cancel!:{raw_id}",
                        ),
                        InlineKeyboardButton(
                            t("broadcasts.cancel_no", language), callback_data=f"bcs:keep:{raw_id}"
                        ),
                    ]
                ]
            )
        )
        return
    target = {
        "pause": ScheduleStatus.PAUSED,
        "resume": ScheduleStatus.ACTIVE,
        "cancel!": ScheduleStatus.CANCELLED,
    }.get(action)
    async with rt.db.session() as session:
        schedule = await session.get(BroadcastSchedule, int(raw_id))
        if schedule is None:
            await query.answer(t("broadcasts.stale_button", language))
            return
        changed = target is not None and await set_status(
            session=session, settings=rt.settings, schedule=schedule, status=target
        )
        if changed:
            await record_audit(
                session=session,
                action=f"broadcast.schedule_{schedule.status}",
                actor_member_id=member.id,
                actor_label=f"telegram:{user.id}",
                target=f"schedule:{schedule.id}",
            )
    if target is not None and not changed:
        await query.answer(t("broadcasts.schedule_unchanged", language), show_alert=True)
    else:
        await query.answer()
    await query.message.edit_text(
        schedule_text(schedule, rt.settings, language),
        reply_markup=schedule_markup(schedule, language),
    )


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "scheduled",
        scheduled_command,
        description_key="broadcasts.cmd_scheduled",
        access=Access.SECRETARIAT,
    )
    rt.add_telegram_handler(
        CallbackQueryHandler(on_schedule_button, pattern=r"^bcs:(pause|resume|cancel!?|keep):\d+$")
    )
    if rt.scheduler is not None:
        rt.scheduler.register(ScheduledBroadcasts(rt))
