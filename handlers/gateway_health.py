"""The gateway phone's health: `/gateway` for the secretariat, lines for /stats and the
dashboard (`rt.hooks["gateway.health"]`, `rt.hooks["gateway.health_lines"]`), and Telegram
alerts to the secretariat when the phone is silent for an hour, when sends fail, and when it
is back. Alerts are scheduler items: each key goes once (models.reminders).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.outbound import Outgoing
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from bot.settings import Settings
from bot.sms.gateway_gate import expected_duration
from handlers.gateway import gateway_of, register_webhooks
from models.audit import record_audit
from models.base import utcnow
from models.gateway import (
    FAILURES_ALERT,
    FAILURES_WINDOW,
    GatewayHealth,
    failures_since,
    gateway_health,
    gateway_status,
)
from models.members import Member, MemberStatus, Role
from models.reminders import ReminderLog
from scheduler.providers import DueItem

ORDER = 21
ALERTS = "gateway_health"


def duration_text(span: timedelta, language: str) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes >= 60:
        return t("gateway.duration_hm", language, hours=minutes // 60, minutes=minutes % 60)
    return t("gateway.duration_m", language, minutes=minutes)


def local_time(settings: Settings, moment: datetime) -> str:
    return moment.astimezone(settings.tz).strftime("%d.%m %H:%M")


def health_lines(
    health: GatewayHealth, settings: Settings, language: str, now: datetime | None = None
) -> list[str]:
    """The health record as text lines, for /gateway, /stats and the dashboard."""
    now = now or utcnow()
    lines = [t("gateway.health_title", language)]
    if health.silent:
        lines.append(t("gateway.health_silent", language, ago=_ago(health, language)))
    elif health.failing:
        lines.append(t("gateway.health_failing", language, count=health.failed_1h))
    else:
        lines.append(t("gateway.health_ok", language))
    if health.last_contact_at is not None:
        when = local_time(settings, health.last_contact_at)
        lines.append(t("gateway.health_contact", language, when=when, ago=_ago(health, language)))
    else:
        lines.append(t("gateway.health_never", language, ago=_ago(health, language)))
    lines.append(t("gateway.health_queue", language, count=health.queued))
    if health.queued:
        drain = expected_duration(settings, "gateway", health.queued)
        lines.append(t("gateway.health_drain", language, duration=duration_text(drain, language)))
    lines.append(
        t(
            "gateway.health_counts",
            language,
            sent=health.sent_24h,
            delivered=health.delivered_24h,
            failed=health.failed_24h,
            waiting=health.awaiting_report,
        )
    )
    if health.last_failure_at is not None:
        lines.append(
            t(
                "gateway.health_last_failure",
                language,
                when=local_time(settings, health.last_failure_at),
                reason=health.last_failure_reason or "?",
            )
        )
    if health.last_error_at is not None and now - health.last_error_at < timedelta(days=1):
        lines.append(
            t(
                "gateway.health_error",
                language,
                when=local_time(settings, health.last_error_at),
                reason=health.last_error or "?",
            )
        )
    if health.webhooks_registered_at is None:
        lines.append(t("gateway.health_no_webhooks", language))
    return lines


def _ago(health: GatewayHealth, language: str) -> str:
    return duration_text(health.silent_for or timedelta(0), language)


# -- alerts --------------------------------------------------------------------------------
async def secretariat_on_telegram(session: AsyncSession) -> list[Member]:
    result = await session.execute(
        select(Member)
        .where(Member.role == Role.SECRETARIAT, Member.status == MemberStatus.ACTIVE)
        .order_by(col(Member.id))
    )
    return [m for m in result.scalars() if m.telegram_reachable()]


async def _last_alert(session: AsyncSession, prefix: str) -> ReminderLog | None:
    result = await session.execute(
        select(ReminderLog)
        .where(ReminderLog.provider == ALERTS, col(ReminderLog.key).startswith(prefix))
        .order_by(col(ReminderLog.id).desc())
        .limit(1)
    )
    return result.scalars().first()


class GatewayAlerts:
    """Scheduler provider: what the secretariat must hear about the phone, once per episode."""

    name = ALERTS

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        admins = await secretariat_on_telegram(session)
        if not admins:
            return []
        health = await gateway_health(session=session, now=now)
        status = await gateway_status(session=session)
        heard = status.last_contact_at or status.monitoring_since
        episodes: list[tuple[str, str, dict[str, object]]] = []  # (key, text key, values)
        if health.silent:
            episodes.append(
                (
                    f"gateway:silent:{int(heard.timestamp())}",
                    "gateway.alert_silent",
                    {"when": local_time(settings, heard)},
                )
            )
        else:
            last = await _last_alert(session, "gateway:silent:")
            if last is not None:
                since = int(last.key.split(":")[2])
                if health.last_contact_at and health.last_contact_at.timestamp() > since:
                    episodes.append(
                        (
                            f"gateway:back:{since}",
                            "gateway.alert_back",
                            {"when": local_time(settings, health.last_contact_at)},
                        )
                    )
        last_failing = await _last_alert(session, "gateway:failing:")
        start = now - FAILURES_WINDOW
        if last_failing is not None and last_failing.due_at > start:
            start = last_failing.due_at
        failures = await failures_since(session=session, since=start)
        if len(failures) >= FAILURES_ALERT:
            newest = failures[-1]
            episodes.append(
                (
                    f"gateway:failing:{failures[0].id}",
                    "gateway.alert_failing",
                    {
                        "count": len(failures),
                        "reason": newest.error_reason or newest.error_code or "?",
                    },
                )
            )
        return [
            DueItem(
                key=f"{key}:m{member.id}",
                member=member,
                message=Outgoing(text=t(text_key, member.language, **values)),
                due_at=now,
                kind="gateway_alert",
            )
            for key, text_key, values in episodes
            for member in admins
        ]

    async def upcoming(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[DueItem]:
        return []  # alerts answer what is happening now; nothing to list ahead


# -- /gateway ------------------------------------------------------------------------------
async def gateway_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The phone's health; `/gateway check` probes it now and re-registers the webhooks."""
    rt = runtime_of(context)
    message = update.effective_message
    member = await telegram_member(rt, update)
    assert message is not None and member is not None
    language = member.language
    provider = gateway_of(rt)
    if provider is None:
        await message.reply_text(t("gateway.not_configured", language))
        return
    if (context.args or [""])[0].lower() == "check":
        outcome = await register_webhooks(rt)
        monitor = rt.hooks.get("gateway.monitor")
        if monitor is not None:
            await monitor()
        async with rt.db.session() as session:
            await record_audit(
                session=session,
                action="gateway.check",
                actor_member_id=member.id,
                actor_label=f"telegram:{member.telegram_id}",
                target="gateway",
                details={"webhooks": "ok" if outcome is not None else "failed"},
            )
        if outcome is None:
            reason = provider.link.last_error or "?"
            await message.reply_text(t("gateway.check_failed", language, reason=reason))
        else:
            added, present = outcome
            await message.reply_text(
                t("gateway.check_ok", language, added=len(added), present=len(present))
            )
    async with rt.db.session() as session:
        health = await gateway_health(session=session)
    await message.reply_text("\n".join(health_lines(health, rt.settings, language)))


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "gateway",
        gateway_command,
        description_key="gateway.cmd_gateway",
        access=Access.SECRETARIAT,
    )
    if gateway_of(rt) is None:
        return

    async def _health() -> GatewayHealth:
        async with rt.db.session() as session:
            return await gateway_health(session=session)

    async def _lines(language: str) -> list[str]:
        return health_lines(await _health(), rt.settings, language)

    rt.hooks["gateway.health"] = _health
    rt.hooks["gateway.health_lines"] = _lines
    if rt.scheduler is not None:
        rt.scheduler.register(GatewayAlerts())
