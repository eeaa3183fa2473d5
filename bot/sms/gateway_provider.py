"""SMS Gateway for Android (capcom6/android-sms-gateway): SMS through a local SIM in a phone.

The phone runs the app; lagbot talks to its API with the official `android-sms-gateway`
client, either to the phone's local server on the LAN (`http://PHONE:8080`) or through the
app's cloud relay (`https://api.sms-gate.app/3rdparty/v1`) - the same API, HTTP Basic auth.

Sending: every message gets an id chosen here, so after an ambiguous failure (timeout, 5xx)
`find_sent` asks the phone whether that id exists instead of sending twice, and a 409
("id already exists") means an earlier attempt went through.

Link state: a connection failure marks the phone *down* for a growing cool-down; while it is
down the delivery gate (bot.sms.gateway_gate) keeps rows queued without spending their
attempts, and the monitor's probe (`ping`) brings it back up. Nothing here touches the
database: the web handler and the monitor persist what they learn (models.gateway).

Webhooks are verified with `verify_signature`: HMAC-SHA256(signing key, raw body +
X-Timestamp), lowercase hex, in X-Signature (the app's PayloadSigningPlugin). The app signs
each HTTP *attempt* anew, so a retry carries a fresh X-Timestamp: that is what lets us
enforce a timestamp window (`TIMESTAMP_TOLERANCE`) without refusing honest retries.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from android_sms_gateway import AsyncAPIClient, Message, TextMessage, Webhook, WebhookEvent
from android_sms_gateway.ahttp import HttpxAsyncHttpClient
from android_sms_gateway.errors import APIError, NotFoundError

from bot.settings import Settings
from bot.sms.encoding import sms_info
from bot.sms.providers import SendError, SendResult
from models.base import utcnow
from models.members import mask_phone

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/sms/gateway"
# What lagbot listens to: inbound SMS, delivery states, and the app's own heartbeat.
WEBHOOK_EVENTS: tuple[str, ...] = (
    "sms:received",
    "sms:sent",
    "sms:delivered",
    "sms:failed",
    "system:ping",
)
# X-Timestamp may differ from our clock by this much (the phone's clock is network-synced;
# a retry is re-signed with a fresh timestamp, so honest retries are never outside it).
TIMESTAMP_TOLERANCE = timedelta(minutes=15)
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAYBE_SENT_STATUS = {500, 502, 504}
DOWN_COOLDOWN_MIN = timedelta(seconds=30)
DOWN_COOLDOWN_MAX = timedelta(minutes=10)
ATTEMPT_MEMORY = timedelta(hours=6)


def webhook_signature(body: bytes, timestamp: str, signing_key: str) -> str:
    return hmac.new(signing_key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def verify_signature(
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    signing_key: str,
    *,
    now: datetime | None = None,
) -> str | None:
    """None when the webhook is genuine and fresh; otherwise why it is refused."""
    if not timestamp or not signature:
        return "missing signature"
    expected = webhook_signature(body, timestamp, signing_key)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return "bad signature"
    try:
        stamp = int(timestamp)
    except ValueError:
        return "bad timestamp"
    skew = abs((now or utcnow()).timestamp() - stamp)
    if skew > TIMESTAMP_TOLERANCE.total_seconds():
        return f"timestamp {int(skew)} s off (is the phone's clock right?)"
    return None


def is_relay(base_url: str) -> bool:
    """The cloud (or a private) relay serves the API under /3rdparty/; the phone at its root."""
    return "/3rdparty/" in urlsplit(base_url).path + "/"


@dataclass
class LinkState:
    """What this process knows about reaching the gateway's API (in memory)."""

    last_ok_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    errors_in_row: int = 0
    down_until: datetime | None = None
    ok_since_down: bool = False  # flipped by a success after a down period (monitor wakes)

    def ok(self, now: datetime) -> None:
        if self.down_until is not None:
            self.ok_since_down = True
        self.last_ok_at, self.errors_in_row, self.down_until = now, 0, None

    def failed(self, reason: str, now: datetime, *, unreachable: bool) -> None:
        self.last_error_at, self.last_error = now, reason[:500]
        self.errors_in_row += 1
        if unreachable:
            cooldown = min(DOWN_COOLDOWN_MIN * 2 ** (self.errors_in_row - 1), DOWN_COOLDOWN_MAX)
            self.down_until = now + cooldown

    def is_down(self, now: datetime) -> bool:
        return self.down_until is not None and now < self.down_until


@dataclass
class _Attempt:
    message_id: str
    to: str
    body: str
    at: datetime


@dataclass
class GatewayProvider:
    """The SmsProvider for the phone; build it with `from_settings`."""

    base_url: str
    username: str
    password: str
    signing_key: str | None = None
    timeout: float = 20.0
    name: str = "gateway"
    link: LinkState = field(default_factory=LinkState)
    _attempts: list[_Attempt] = field(default_factory=list)
    _http: httpx.AsyncClient | None = None
    _client: AsyncAPIClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayProvider:
        assert settings.sms_gateway_url and settings.sms_gateway_username
        assert settings.sms_gateway_password is not None
        key = settings.sms_gateway_signing_key
        return cls(
            base_url=settings.sms_gateway_url.rstrip("/"),
            username=settings.sms_gateway_username,
            password=settings.sms_gateway_password.get_secret_value(),
            signing_key=key.get_secret_value() if key is not None else None,
        )

    @property
    def relay(self) -> bool:
        return is_relay(self.base_url)

    @property
    def api(self) -> AsyncAPIClient:
        if self._client is None:
            self._http = httpx.AsyncClient(timeout=self.timeout)
            self._client = AsyncAPIClient(
                self.username,
                self.password,
                base_url=self.base_url,
                http_client=HttpxAsyncHttpClient(self._http),
            )
        return self._client

    # -- sending ----------------------------------------------------------------------------
    async def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        message_id = secrets.token_urlsafe(15)
        now = utcnow()
        self._remember(_Attempt(message_id, to, body, now))
        message = Message(
            phone_numbers=[to],
            text_message=TextMessage(text=body),
            with_delivery_report=True,
            id=message_id,
        )
        try:
            state = await self.api.send(message)
        except APIError as exc:
            status = exc.status_code or 0
            if status == 409:  # an earlier attempt with this id was accepted
                self.link.ok(now)
                return SendResult(message_id, sms_info(body).parts, "sent")
            self.link.failed(f"HTTP {status}: {_api_message(exc)}", now, unreachable=False)
            raise _classify(exc) from exc
        except httpx.TransportError as exc:
            maybe = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            self.link.failed(f"unreachable: {exc!r}", now, unreachable=True)
            raise SendError(
                f"gateway unreachable: {exc!r}", code="network", retryable=True, maybe_sent=maybe
            ) from exc
        self.link.ok(now)
        log.debug("gateway accepted %s for %s", state.id, mask_phone(to))
        return SendResult(str(state.id), sms_info(body).parts, "sent")

    async def find_sent(self, *, to: str, body: str, since: datetime) -> str | None:
        """Ask the phone about the ids we tried for this text since `since` (none is resent)."""
        for attempt in reversed(self._attempts):
            if attempt.to != to or attempt.body != body or attempt.at < since:
                continue
            try:
                state = await self.api.get_state(attempt.message_id)
            except NotFoundError:
                continue
            except (APIError, httpx.HTTPError):
                return None
            return str(state.id)
        return None

    def _remember(self, attempt: _Attempt) -> None:
        cutoff = attempt.at - ATTEMPT_MEMORY
        self._attempts = [a for a in self._attempts if a.at >= cutoff][-500:]
        self._attempts.append(attempt)

    # -- the app's webhooks and health ------------------------------------------------------
    async def ensure_webhooks(self, url: str) -> tuple[list[str], list[str]]:
        """Register every event we need at `url`, once: (added, already there).

        Each lagbot webhook has a fixed id per event, so the app *replaces* it when lagbot
        moves to a new PUBLIC_BASE_URL, and two processes starting at once cannot duplicate
        it. Hooks of other integrations are left alone.
        """
        existing = await self._call(self.api.get_webhooks())
        added: list[str] = []
        present: list[str] = []
        for event in WEBHOOK_EVENTS:
            if any(h.url == url and _event_value(h.event) == event for h in existing):
                present.append(event)
                continue
            hook = Webhook(id=webhook_id(event), url=url, event=WebhookEvent(event))
            await self._call(self.api.create_webhook(hook))
            added.append(event)
        return added, present

    async def ping(self) -> datetime | None:
        """Probe the API; the phone's last-seen time when the relay reports it."""
        await self._call(self.api.health_check())
        if not self.relay:
            return utcnow()
        try:
            devices = await self.api.list_devices()
        except (APIError, httpx.HTTPError):
            return None
        seen = [d.last_seen for d in devices if d.last_seen is not None]
        return max(seen) if seen else None

    async def _call(self, awaitable: Any) -> Any:
        now = utcnow()
        try:
            result = await awaitable
        except APIError as exc:
            self.link.failed(
                f"HTTP {exc.status_code}: {_api_message(exc)}",
                now,
                unreachable=(exc.status_code or 0) in RETRYABLE_STATUS,
            )
            raise
        except httpx.HTTPError as exc:
            self.link.failed(f"unreachable: {exc!r}", now, unreachable=True)
            raise
        self.link.ok(now)
        return result

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._http = self._client = None


def webhook_id(event: str) -> str:
    return "lagbot-" + event.replace(":", "-")


def _event_value(event: object) -> str:
    return str(getattr(event, "value", event))


def _api_message(exc: APIError) -> str:
    response = exc.response if isinstance(exc.response, dict) else {}
    return str(response.get("message") or exc)[:300]


def _classify(exc: APIError) -> SendError:
    status = exc.status_code or 0
    message = _api_message(exc)
    reason = f"gateway {status}: {message}"
    if status == 400 and "phone" in message.lower():
        return SendError(reason, code="400", kind="invalid_number")
    if status in (401, 403):
        # Wrong SMS_GATEWAY_USERNAME/PASSWORD: keep the message for when it is fixed.
        return SendError(reason, code=str(status), retryable=True)
    if status in RETRYABLE_STATUS:
        return SendError(
            reason, code=str(status), retryable=True, maybe_sent=status in MAYBE_SENT_STATUS
        )
    return SendError(reason, code=str(status))
