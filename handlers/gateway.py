"""SMS Gateway for Android: its webhooks at POST /sms/gateway, start-up registration, monitor.

Inbound SMS (`sms:received`) take the same path as Twilio's (bot.sms.inbound), with the
webhook *event id* as the provider message id: the app retries a webhook with the same id
(processed once), while its `messageId` is a content hash and is not unique. Delivery states
(`sms:sent` / `sms:delivered` / `sms:failed`) move outbox rows; Android's own refusal over its
SMS limit puts the row back in the queue instead. SMS from operator short codes (balance,
top-up notices) go to the secretariat's inbox and are never answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.delivery import MAX_ATTEMPTS, record_delivery_report
from bot.runtime import Runtime
from bot.sms.gateway_gate import GatewayGate
from bot.sms.gateway_provider import WEBHOOK_PATH, GatewayProvider, verify_signature
from bot.sms.inbound import process_inbound
from bot.sms.providers import InboundSms
from models.base import utcnow
from models.gateway import (
    LIMIT_EXCEEDED,
    gateway_status,
    in_flight,
    record_contact,
    record_error,
    record_webhooks,
    release_waiting,
    requeue_refused,
)
from models.inbound import record_inbound
from models.members import InvalidPhone, mask_phone, normalize_phone

ORDER = 20
log = logging.getLogger(__name__)

STATE_EVENTS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}
MONITOR_INTERVAL = 60.0  # seconds between monitor checks
PROBE_AFTER = timedelta(minutes=5)  # probe the phone when nothing was heard for this long
REGISTER_TIMEOUT = 15.0
STATE_PATIENCE = 5.0  # seconds a delivery state waits for its row, then the app retries
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def gateway_of(rt: Runtime) -> GatewayProvider | None:
    provider = rt.sms_providers.get("gateway")
    return provider if isinstance(provider, GatewayProvider) else None


def webhook_url(rt: Runtime) -> str | None:
    base = rt.settings.public_base_url
    return base.rstrip("/") + WEBHOOK_PATH if base else None


# -- POST /sms/gateway --------------------------------------------------------------------
async def gateway_webhook(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    provider = gateway_of(rt)
    if provider is None:
        return PlainTextResponse("sms gateway is not configured", status_code=404)
    body = await request.body()
    if provider.signing_key:
        refused = verify_signature(
            body,
            request.headers.get("X-Timestamp"),
            request.headers.get("X-Signature"),
            provider.signing_key,
        )
        if refused is not None:
            log.warning("gateway webhook refused: %s", refused)
            if refused.startswith("timestamp"):
                async with rt.db.session() as session:
                    await record_error(session=session, reason=f"webhook refused: {refused}")
            return PlainTextResponse("forbidden", status_code=403)
    elif rt.settings.environment == "production":
        log.error("unsigned gateway webhook refused: set SMS_GATEWAY_SIGNING_KEY")
        return PlainTextResponse("forbidden", status_code=403)
    try:
        envelope = json.loads(body)
        event, event_id = str(envelope["event"]), str(envelope["id"])
        payload: dict[str, Any] = envelope.get("payload") or {}
        assert isinstance(payload, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        return PlainTextResponse("bad webhook body", status_code=400)
    device = envelope.get("deviceId")
    async with rt.db.session() as session:
        await record_contact(session=session, kind=event, device_id=str(device) if device else None)
    if event == "sms:received":
        await _received(rt, event_id, payload)
    elif event in STATE_EVENTS and not await _state(rt, event, payload):
        return PlainTextResponse("message not known yet; retry", status_code=503)
    return JSONResponse({"ok": True})


async def _received(rt: Runtime, event_id: str, payload: dict[str, Any]) -> None:
    sender = str(payload.get("phoneNumber") or payload.get("sender") or "")
    text = str(payload.get("message") or "")
    try:
        phone = normalize_phone(sender, region="GE")
    except InvalidPhone:
        # The operator's short codes and names (balance, top-up): for people, not for replies.
        async with rt.db.session() as session:
            inbound = await record_inbound(
                session=session,
                provider="gateway",
                provider_message_id=event_id,
                channel="sms",
                address=sender[:40] or None,
                text=text,
            )
            if inbound is not None:
                inbound.status, inbound.handled_by = "inbox", "gateway.service"
                session.add(inbound)
        log.info("SMS from service sender %s kept for the secretariat", mask_phone(sender))
        return
    recipient = payload.get("recipient")
    await process_inbound(
        rt,
        InboundSms(
            provider="gateway",
            provider_message_id=event_id,
            phone=phone,
            text=text,
            to=str(recipient) if recipient else None,
        ),
    )


async def _state(rt: Runtime, event: str, payload: dict[str, Any]) -> bool:
    """Apply a delivery state; False when its row may still be being handed to the phone.

    The phone can report before the sender has written the message id to its row: the
    report then waits a moment (bot.delivery.record_delivery_report), and if the row is still
    unknown while a send is in flight, the app is asked to retry (503) rather than lose it.
    """
    message_id = str(payload.get("messageId") or "")
    reason = str(payload["reason"])[:500] if payload.get("reason") else None
    if event == "sms:failed" and reason == LIMIT_EXCEEDED:
        return await _refused(rt, message_id)
    row = await record_delivery_report(
        rt,
        provider="gateway",
        provider_message_id=message_id,
        status=STATE_EVENTS[event],
        error_code=reason[:40] if reason else None,
        reason=reason,
        patience=STATE_PATIENCE,
    )
    if row is not None:
        return True
    async with rt.db.session() as session:
        return not await in_flight(session=session, provider="gateway")


async def _refused(rt: Runtime, message_id: str) -> bool:
    """Android refused a send over its own limit: pause the phone and queue the row again."""
    gate = rt.delivery.gates.get("gateway")
    if isinstance(gate, GatewayGate):
        gate.saturate(utcnow())
    async with rt.db.session() as session:
        await record_error(
            session=session,
            reason="Android refused an SMS over its limit: it is lower than "
            "GATEWAY_RATE_PER_WINDOW (raise it on the phone)",
        )
    deadline = time.monotonic() + STATE_PATIENCE
    while True:
        async with rt.db.session() as session:
            row = await requeue_refused(
                session=session,
                provider="gateway",
                provider_message_id=message_id,
                until=utcnow() + timedelta(seconds=rt.settings.gateway_rate_window_seconds),
                reason="Android refused: over its SMS limit (raise it on the phone)",
                max_attempts=MAX_ATTEMPTS,
            )
            pending = row is None and await in_flight(session=session, provider="gateway")
        if row is not None:
            rt.delivery.touch(row.broadcast_id)
            rt.delivery.wake("sms")
            return True
        if not pending:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)


# -- start-up: webhooks, the pacing gate, the monitor --------------------------------------
async def register_webhooks(rt: Runtime) -> tuple[list[str], list[str]] | None:
    """List the app's webhooks and add what is missing; None when it could not be done."""
    provider, url = gateway_of(rt), webhook_url(rt)
    if provider is None:
        return None
    if url is None:
        log.warning("PUBLIC_BASE_URL is not set: the phone cannot post SMS to lagbot")
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in LOOPBACK:
        log.warning("the gateway app posts only to https:// (or 127.0.0.1); %s will fail", url)
    try:
        added, present = await asyncio.wait_for(provider.ensure_webhooks(url), REGISTER_TIMEOUT)
    except Exception as exc:
        log.warning("could not register the gateway webhooks yet: %r", exc)
        async with rt.db.session() as session:
            await record_error(session=session, reason=f"webhook registration: {exc!r}")
        return None
    async with rt.db.session() as session:
        await record_webhooks(session=session, url=url)
    if added:
        log.info("gateway webhooks added for %s", ", ".join(added))
    return added, present


class GatewayMonitor:
    """Every minute: retries webhook registration, probes the phone when it is quiet, keeps
    what it learnt in the status row, and has the secretariat alerted (handlers.gateway_health).
    """

    def __init__(self, rt: Runtime, provider: GatewayProvider) -> None:
        self.rt = rt
        self.provider = provider
        self.registered = False
        self._task: asyncio.Task[None] | None = None
        self._saved_error_at: datetime | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_INTERVAL)
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("gateway monitor check failed")

    async def check_once(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        if not self.registered:
            self.registered = await register_webhooks(self.rt) is not None
        link = self.provider.link
        async with self.rt.db.session() as session:
            status = await gateway_status(session=session)
            heard = status.last_contact_at or status.monitoring_since
        seen: datetime | None = None
        if link.is_down(now) or link.down_until is not None or now - heard > PROBE_AFTER:
            with contextlib.suppress(Exception):
                seen = await self.provider.ping()
        await self.save(seen)
        alerts = self.rt.hooks.get("gateway.alerts")
        if alerts is not None:
            await alerts()

    async def save(self, seen: datetime | None = None) -> None:
        """Write what the provider learnt in memory (contact, errors) to the status row."""
        link = self.provider.link
        async with self.rt.db.session() as session:
            if seen is not None:
                await record_contact(session=session, kind="api", at=seen)
            elif not self.provider.relay and link.last_ok_at is not None:
                # The phone's own server answered: that is contact with the phone.
                await record_contact(session=session, kind="api", at=link.last_ok_at)
            if link.last_error_at is not None and link.last_error_at != self._saved_error_at:
                await record_error(
                    session=session, reason=link.last_error or "", at=link.last_error_at
                )
                self._saved_error_at = link.last_error_at
        if link.ok_since_down:
            link.ok_since_down = False
            async with self.rt.db.session() as session:
                released = await release_waiting(session=session)
            log.info("the gateway phone answers again; %d SMS released", released)
            self.rt.delivery.wake("sms")


def setup(rt: Runtime) -> None:
    provider = gateway_of(rt)
    rt.web_routes.append(Route(WEBHOOK_PATH, gateway_webhook, methods=["POST"]))
    if provider is None:
        return
    gate = GatewayGate(rt)
    rt.delivery.gates["gateway"] = gate
    monitor = GatewayMonitor(rt, provider)
    rt.hooks["gateway.monitor"] = monitor.check_once

    async def _start() -> None:
        await gate.seed()
        monitor.registered = await register_webhooks(rt) is not None
        monitor.start()

    rt.on_start.append(_start)
    rt.on_stop.append(monitor.stop)
