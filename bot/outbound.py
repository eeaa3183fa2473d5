"""The channel-neutral way to send: text and optional choices to a member, through the outbox.

Capabilities call `queue_for_member`; it applies the channel policy, the member's SMS
script, quiet hours for bulk SMS, the "how to stop" line every bulk message carries (the
law treats LAG announcements as direct marketing), and writes outbox rows. Nothing here
talks to a network.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.settings import Settings
from bot.sms.translit import to_latin_sms
from models.audiences import channels_for
from models.members import Member, SmsScript
from models.outbox import AlreadyQueued, OutboxMessage, Priority, enqueue


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # callback_data (≤ 64 bytes): ids, never names


@dataclass
class Outgoing:
    """One message for one member, before a channel is chosen."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    sms_text: str | None = None  # a shorter SMS version (with reply hints) when given
    document: dict[str, str] | None = None  # {"filename", "content" (text), "mime"}
    extra: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # the language `text` is in (default: the member's)
    # The "how to stop" line: None = on bulk messages (Priority.BULK), True/False = always/never.
    stop_line: bool | None = None

    def telegram_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = dict(self.extra)
        if self.buttons:
            payload["buttons"] = [[[b.label, b.data] for b in row] for row in self.buttons]
        if self.document:
            payload["document"] = self.document
        return payload


def with_stop_line(text: str, language: str, channel: str) -> str:
    """The text with the short localized "how to stop" line for its channel."""
    if channel == "sms":
        return f"{text}\n{t('delivery.stop_sms', language)}"
    return f"{text}\n\n{t('delivery.stop_telegram', language)}"


def sms_body(member: Member | None, text: str, *, script: str | None = None) -> str:
    """The text as this member reads SMS: Latin letters when they chose the cheaper script."""
    chosen = script or (member.sms_script if member else SmsScript.NATIVE)
    return to_latin_sms(text) if chosen == SmsScript.LATIN else text


def _parse_window(window: str) -> tuple[time, time]:
    start, end = window.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def quiet_until(settings: Settings, moment: datetime) -> datetime | None:
    """If `moment` falls in SMS quiet hours, when they end (UTC); else None."""
    local = moment.astimezone(settings.tz)
    weekend = local.weekday() >= 5
    start, end = _parse_window(
        settings.sms_quiet_weekends if weekend else settings.sms_quiet_weekdays
    )
    now_t = local.time()
    in_quiet = (now_t >= start or now_t < end) if start > end else (start <= now_t < end)
    if not in_quiet:
        return None
    day = local.date() if now_t < end else local.date() + timedelta(days=1)
    # The morning end depends on whether *that* morning is a weekend.
    morning_weekend = day.weekday() >= 5
    _, morning_end = _parse_window(
        settings.sms_quiet_weekends if morning_weekend else settings.sms_quiet_weekdays
    )
    return datetime.combine(day, morning_end, tzinfo=settings.tz).astimezone(moment.tzinfo)


def sms_provider_for(settings: Settings) -> str:
    if settings.sms_outbound_provider == "gateway" and settings.gateway_enabled:
        return "gateway"
    if settings.twilio_enabled:
        return "twilio"
    if settings.gateway_enabled:
        return "gateway"
    return "twilio"  # queued; sent once a provider is configured


async def queue_for_member(
    *,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    message: Outgoing,
    kind: str,
    priority: int = Priority.BULK,
    urgent: bool = False,
    channel: str | None = None,
    sms_provider: str | None = None,
    now: datetime | None = None,
    broadcast_id: int | None = None,
    dedupe_key: str | None = None,
    once: bool = False,
) -> list[OutboxMessage]:
    """Queue `message` for `member` by the channel policy; [] when no channel can be used.

    `once`: a channel whose row (dedupe_key) is queued already is skipped, not an error.

    normal: Telegram when reachable there, else SMS. urgent: both. `channel` forces one.
    Opted-out and unreachable channels are never used. The Telegram row keeps the SMS text,
    so a member found blocked at send time gets the SMS version instead (bot.delivery).
    """
    assert member.id is not None
    if not member.is_active and kind != "reply":
        return []
    channels = [channel] if channel is not None else channels_for(member, urgent=urgent)
    stop = message.stop_line if message.stop_line is not None else priority >= Priority.BULK
    language = message.language or member.language
    telegram_text = with_stop_line(message.text, language, "telegram") if stop else message.text
    sms_text = message.sms_text or message.text
    if stop:
        sms_text = with_stop_line(sms_text, language, "sms")
    rows: list[OutboxMessage] = []
    for ch in channels:
        target: dict[str, Any]  # what differs by channel
        if ch == "telegram" and member.telegram_reachable():
            assert member.telegram_id is not None
            target = {
                "provider": "telegram",
                "address": str(member.telegram_id),
                "text": telegram_text,
                "payload": {**message.telegram_payload(), "sms_text": sms_text},
            }
        elif ch == "sms" and member.sms_reachable():
            assert member.phone is not None
            not_before = None
            if not urgent and priority == Priority.BULK:
                not_before = quiet_until(settings, now or datetime.now().astimezone())
            target = {
                "provider": sms_provider or sms_provider_for(settings),
                "address": member.phone,
                "text": sms_body(member, sms_text),
                "not_before": not_before,
            }
        else:
            continue
        with suppress(AlreadyQueued):  # once=True: queued before
            row = await enqueue(
                session=session,
                channel=ch,
                member_id=member.id,
                kind=kind,
                priority=priority,
                broadcast_id=broadcast_id,
                dedupe_key=f"{dedupe_key}:{ch}" if dedupe_key else None,
                urgent=urgent,
                once=once,
                **target,
            )
            rows.append(row)
    return rows
