"""The gateway phone's health: `/gateway` for the secretariat, lines for /stats and the
dashboard (`rt.hooks["stats.section.gateway"]`), and Telegram
alerts to the secretariat when the phone is silent for an hour, when sends fail, and when it
is back. The monitor (handlers.gateway) asks for alerts every minute; each incident is told
once per member (the outbox's unique dedupe key).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.outbound import Outgoing, queue_for_member
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
from models.outbox import OutboxMessage, Priority

ORDER = 21
ALERT_KIND = "gateway_alert"


def duration_text(span: timedelta, language: str) -> str:
    minutes = max(1, math.ceil(span.total_seconds() / 60)) if span > timedelta(0) else 0
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


async def _last_alert(session: AsyncSession, prefix: str) -> OutboxMessage | None:
    result = await session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == ALERT_KIND,
            col(OutboxMessage.dedupe_key).startswith(prefix),
        )
        .order_by(col(OutboxMessage.id).desc())
        .limit(1)
    )
    return result.scalars().first()


async def alert_episodes(
    *, session: AsyncSession, settings: Settings, now: datetime
) -> list[tuple[str, str, dict[str, object]]]:
    """What the secretariat must hear about now: (episode key, text key, values).

    An episode key names one incident (the silence since a given contact, the run of failures
    starting at a given row), so each incident is told once however often this is asked.
    """
    health = await gateway_health(session=session, now=now)
    status = await gateway_status(session=session)
    heard = status.last_contact_at or status.monitoring_since
    episodes: list[tuple[str, str, dict[str, object]]] = []
    if health.silent:
        when: dict[str, object] = {"when": local_time(settings, heard)}
        episodes.append((f"gateway:silent:{int(heard.timestamp())}", "gateway.alert_silent", when))
    else:
        last = await _last_alert(session, "gateway:silent:")
        if last is not None and last.dedupe_key is not None:
            since = int(last.dedupe_key.split(":")[2])
            if health.last_contact_at and health.last_contact_at.timestamp() > since:
                back: dict[str, object] = {"when": local_time(settings, health.last_contact_at)}
                episodes.append((f"gateway:back:{since}", "gateway.alert_back", back))
    start = now - FAILURES_WINDOW
    last_failing = await _last_alert(session, "gateway:failing:")
    if last_failing is not None and last_failing.created_at > start:
        start = last_failing.created_at
    failures = await failures_since(session=session, since=start)
    if len(failures) >= FAILURES_ALERT:
        newest = failures[-1]
        reason = newest.error_reason or newest.error_code or "?"
        episodes.append(
            (
                f"gateway:failing:{failures[0].id}",
                "gateway.alert_failing",
                {"count": len(failures), "reason": reason},
            )
        )
    return episodes


async def send_alerts(rt: Runtime, now: datetime | None = None) -> int:
    """Queue the alerts that are due, on Telegram, to every secretariat member; once each.

    Operational alerts are not reminders: they go at once, day or night, on Telegram only
    (an SMS about the SMS phone could go through that very phone).
    """
    now = now or utcnow()
    queued = 0
    async with rt.db.session() as session:
        episodes = await alert_episodes(session=session, settings=rt.settings, now=now)
        admins = await secretariat_on_telegram(session) if episodes else []
        for key, text_key, values in episodes:
            for member in admins:
                rows = await queue_for_member(
                    session=session,
                    settings=rt.settings,
                    member=member,
                    message=Outgoing(text=t(text_key, member.language, **values)),
                    kind=ALERT_KIND,
                    priority=Priority.NOTICE,
                    channel="telegram",
                    now=now,
                    dedupe_key=f"{key}:m{member.id}",
                    once=True,  # [] when told already
                )
                queued += len(rows)
    if queued:
        rt.delivery.wake("telegram")
    return queued


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

    async def _alerts() -> int:
        return await send_alerts(rt)

    async def _stats_section(session: AsyncSession, language: str) -> list[str]:
        return health_lines(await gateway_health(session=session), rt.settings, language)

    rt.hooks["stats.section.gateway"] = _stats_section
    rt.hooks["gateway.alerts"] = _alerts  # called by the monitor (handlers.gateway)
