"""What the delivery engine does with a row after a failed send, and the send-time re-check.

Failures (see the state machine in models.outbox):

- retryable (Telegram 429 after waiting in place, 5xx, timeouts; Twilio 20429, 5xx) → back
  to the queue with backoff, at most MAX_ATTEMPTS sends in all, then failed with the reason;
- Twilio 5xx may mean "accepted and charged": the provider is asked first (Messages list by
  To and time) and the row is only re-sent if the message is not there;
- Telegram 403 (blocked) → skipped, Telegram marked unreachable, the SMS version queued;
  400 chat not found → failed with the reason, and the SMS version queued the same way;
- Twilio 21610 → skipped, the member's SMS opt-out recorded (with a consent record);
  21211 / 21614 → failed, the number marked invalid.

Bulk rows are re-checked when claimed: a member who opted out, withdrew consent or was
erased after the broadcast was published is skipped; one who blocked the bot gets the SMS.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.outbound import Outgoing, queue_for_member
from bot.senders import SendAborted
from bot.sms.providers import SendError
from models.audit import record_audit
from models.base import utcnow
from models.members import Member, mask_phone, record_consent
from models.outbox import OutboxMessage, OutStatus, Priority, apply_delivery_report

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Sends of one row in all before it fails for good: with the backoff below a row keeps trying
# for about a quarter of an hour (2, 4, 8 … 256, 300 s), enough to ride out a short outage.
MAX_ATTEMPTS = 10
BACKOFF_BASE = 2.0  # seconds before the 2nd send; doubling, at most 5 minutes


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300.0, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


PHONE = re.compile(r"\+?\d[\d ]{7,}\d")


def scrub(reason: str) -> str:
    """A provider's error text without the full phone number it may quote (logs, reports)."""
    return PHONE.sub(lambda m: mask_phone(m.group(0).replace(" ", "")), reason)


def _never() -> bool:
    return False


@dataclass
class Flight:
    """One claimed row in the engine's hands."""

    row: OutboxMessage
    started: bool = False  # a provider call for it went out (or was about to)
    started_at: datetime | None = None
    done: bool = False
    abort_if: Callable[[], bool] = field(default=_never)

    def mark(self) -> None:
        """Called right before each provider call: the last moment to stop cleanly."""
        if self.abort_if():
            raise SendAborted()
        if not self.started:
            self.started, self.started_at = True, utcnow()


@dataclass(frozen=True)
class Outcome:
    status: str
    fallback: bool = False


def _where(row: OutboxMessage) -> str:
    return (
        mask_phone(row.address)
        if row.channel == "sms"
        else f"telegram chat of member {row.member_id}"
    )


async def handle_failure(
    rt: Runtime,
    row: OutboxMessage,
    exc: SendError,
    flight: Flight,
    *,
    token: str,
    aborted: bool = False,
) -> Outcome:
    now = utcnow()
    reason = scrub(exc.reason)
    found: str | None = None
    if exc.maybe_sent and row.channel == "sms" and not aborted:
        provider = rt.sms_providers.get(row.provider)
        if provider is not None:
            try:
                found = await provider.find_sent(
                    to=row.address, body=row.text, since=flight.started_at or row.claimed_at or now
                )
            except Exception:
                log.warning(
                    "could not look up outbox %s at %s before re-sending", row.id, row.provider
                )
    async with rt.db.session() as session:
        fresh = await session.get(OutboxMessage, row.id)
        if fresh is None or fresh.status != OutStatus.SENDING or fresh.claimed_by != token:
            return Outcome(fresh.status if fresh is not None else "gone")
        progress = getattr(exc, "progress", 0)
        if progress:
            fresh.payload = {**fresh.payload, "_progress": progress}
            fresh.provider_message_id = getattr(exc, "provider_message_id", None)
        if aborted:
            fresh.status, fresh.next_attempt_at = OutStatus.QUEUED, now
            fresh.attempts = max(0, fresh.attempts - 1)
            fresh.claimed_at = fresh.claimed_by = None
            session.add(fresh)
            return Outcome(OutStatus.QUEUED)
        fresh.error_code, fresh.error_reason = exc.code, reason[:500]
        if found:
            fresh.status, fresh.provider_message_id, fresh.sent_at = OutStatus.SENT, found, now
            session.add(fresh)
            log.info(
                "outbox %s had been accepted despite the error (%s): not re-sent",
                row.id,
                reason,
            )
            return Outcome(OutStatus.SENT)
        if exc.retryable and fresh.attempts < MAX_ATTEMPTS:
            delay = (
                timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(fresh.attempts)
            )
            fresh.status, fresh.next_attempt_at = OutStatus.QUEUED, now + delay
            fresh.claimed_by = None
            session.add(fresh)
            return Outcome(OutStatus.QUEUED)
        member = await session.get(Member, row.member_id) if row.member_id else None
        fresh.status = OutStatus.FAILED
        if exc.retryable:
            fresh.error_reason = f"gave up after {fresh.attempts} attempts: {reason}"[:500]
        if exc.kind in ("blocked", "opted_out"):
            fresh.status = OutStatus.SKIPPED
        if member is not None:
            await _mark_member(rt, session, member, exc.kind, now)
        fresh.final_at = now
        session.add(fresh)
        fallback = False
        if exc.kind in ("blocked", "chat_not_found") and member is not None:
            fallback = await sms_fallback(rt, session, fresh, member)
        log.info("outbox %s to %s ended %s: %s", row.id, _where(row), fresh.status, reason)
        return Outcome(fresh.status, fallback)


async def _mark_member(
    rt: Runtime, session: AsyncSession, member: Member, kind: str | None, now: datetime
) -> None:
    if kind in ("blocked", "chat_not_found"):
        member.telegram_unreachable_at = now
    elif kind == "opted_out" and member.sms_opt_out_at is None:
        member.sms_opt_out_at = now
        await record_consent(
            session=session,
            member=member,
            kind="announcements_sms",
            given=False,
            channel="sms",
            text_version=rt.settings.consent_text_version,
            details={"source": "provider opt-out (Twilio 21610)"},
        )
        await record_audit(
            session=session,
            action="optout.sms.provider",
            actor_label="twilio",
            target=f"member:{member.id}",
        )
    elif kind == "invalid_number":
        member.sms_invalid_at = now
    else:
        return
    session.add(member)


async def sms_fallback(
    rt: Runtime, session: AsyncSession, row: OutboxMessage, member: Member
) -> bool:
    """The SMS version of a Telegram row the member cannot get; False if there is one already."""
    if row.channel != "telegram" or not member.is_active or not member.sms_reachable():
        return False
    key = row.dedupe_key
    base = (
        key.removesuffix(":telegram") if key and key.endswith(":telegram") else f"fallback:{row.id}"
    )
    exists = await session.execute(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == f"{base}:sms")
    )
    if exists.first() is not None:
        return False  # an urgent message already went by SMS too
    sms_text = row.payload.get("sms_text") if isinstance(row.payload, dict) else None
    rows = await queue_for_member(
        session=session,
        settings=rt.settings,
        member=member,
        message=Outgoing(text=str(sms_text or row.text), stop_line=False),
        kind=row.kind,
        priority=row.priority,
        urgent=row.urgent,
        channel="sms",
        broadcast_id=row.broadcast_id,
        dedupe_key=base,
    )
    return bool(rows)


def _skip_reason(row: OutboxMessage, member: Member) -> tuple[str, str, str] | None:
    """(status, code, reason) when a bulk row must not go any more; None to send it."""
    if not member.is_active or not member.consent_announcements:
        return OutStatus.SKIPPED, "opted_out", "no consent to announcements any more"
    if row.channel == "telegram":
        if member.telegram_opt_out_at is not None:
            return OutStatus.SKIPPED, "opted_out", "opted out of Telegram messages"
        if member.telegram_unreachable_at is not None:
            return OutStatus.SKIPPED, "blocked", "the member blocked the bot"
    elif row.channel == "sms":
        if member.sms_opt_out_at is not None:
            return OutStatus.SKIPPED, "opted_out", "opted out of SMS (STOP)"
        if member.sms_invalid_at is not None:
            return OutStatus.FAILED, "invalid_number", "the number is not a valid mobile number"
    return None


async def recheck_claimed(
    rt: Runtime, session: AsyncSession, rows: list[OutboxMessage], now: datetime
) -> tuple[list[OutboxMessage], set[int]]:
    """Bulk rows just claimed: drop (and record) those the member no longer wants."""
    ids = {r.member_id for r in rows if r.member_id is not None and r.priority >= Priority.BULK}
    if not ids:
        return rows, set()
    result = await session.execute(select(Member).where(col(Member.id).in_(ids)))
    members = {m.id: m for m in result.scalars()}
    keep: list[OutboxMessage] = []
    moved: set[int] = set()
    for row in rows:
        member = members.get(row.member_id) if row.priority >= Priority.BULK else None
        reason = _skip_reason(row, member) if member is not None else None
        if reason is None or member is None:
            keep.append(row)
            continue
        status, code, text = reason
        fresh = await session.get(OutboxMessage, row.id)
        if fresh is None:
            continue
        fresh.status, fresh.error_code, fresh.error_reason = status, code, text
        fresh.final_at, fresh.claimed_by = now, None
        fresh.attempts = max(0, fresh.attempts - 1)
        session.add(fresh)
        if code == "blocked":
            await sms_fallback(rt, session, fresh, member)
        if row.broadcast_id is not None:
            moved.add(row.broadcast_id)
    return keep, moved


async def record_delivery_report(
    rt: Runtime,
    *,
    provider: str,
    provider_message_id: str,
    status: str,
    error_code: str | None = None,
    reason: str | None = None,
    patience: float = 3.0,
) -> OutboxMessage | None:
    """A provider's status callback; it can arrive before the send's own result is recorded,
    so while a send through that provider is in flight, look again for up to `patience` s."""
    deadline = time.monotonic() + patience
    while True:
        async with rt.db.session() as session:
            row = await apply_delivery_report(
                session=session,
                provider=provider,
                provider_message_id=provider_message_id,
                status=status,
                error_code=error_code,
                reason=reason,
            )
        if row is not None:
            rt.delivery.touch(row.broadcast_id)
            return row
        if time.monotonic() > deadline or not rt.delivery.recording(provider):
            log.info("status report for an unknown %s message ignored", provider)
            return None
        await asyncio.sleep(0.05)
