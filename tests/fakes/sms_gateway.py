"""A fake of the "SMS Gateway for Android" (capcom6/android-sms-gateway, sms-gate.app) HTTP API.

What was verified, and where:

* API paths and JSON, from the installed client ``android_sms_gateway`` 3.3.0 (the ground truth):
  ``constants.py`` DEFAULT_URL ``https://api.sms-gate.app/3rdparty/v1`` (cloud); the device's
  local server serves the same paths at its root. ``client.py``: send ``POST {base}/messages``
  (L158, async L587; query ``skipPhoneValidation``, ``deviceActiveWithin``), state
  ``GET {base}/messages/{id}`` (L196 / L628), cancel ``DELETE {base}/messages/{id}`` (L179),
  list ``GET {base}/messages`` (L226), webhooks ``GET|POST {base}/webhooks`` (L264, L283) and
  ``DELETE {base}/webhooks/{id}`` (L302 / L736), ``GET {base}/health`` (L418). Auth (L25-32):
  HTTP Basic ``login:password``, or ``Bearer`` when only a token is given (not faked).
  ``domain.py``: request ``Message.asdict`` camelCase (L84-105: phoneNumbers, textMessage.text,
  dataMessage, withDeliveryReport, simNumber, priority, ttl/validUntil, isEncrypted, id,
  deviceId); response ``MessageState.from_dict`` (L207-219: id, deviceId, state,
  recipients[phoneNumber, state, error], isHashed, isEncrypted, states); ``Webhook`` (L236-265:
  id, url, event, deviceId). ``enums.py``: ProcessState Pending/Processed/Sent/Delivered/Failed
  (+Cancelling/Cancelled), WebhookEvent ``sms:received``, ``sms:sent``, ``sms:delivered``,
  ``sms:failed``, ... ``errors.py``: 400/401/403/404/500/503/504 map to exception classes; any
  other status (429 too) raises the base ``APIError``. The default async HTTP backend is httpx
  (``ahttp.py`` L166-268).
* Status codes, from the app's OpenAPI file (capcom6/android-sms-gateway
  ``app/src/main/assets/api/swagger.json``): send answers 202 with the message state and a
  ``Location`` header, 409 for a reused id, 503 when queue limits are exceeded; ``POST
  /webhooks`` 201 (same id replaces), ``DELETE /webhooks/{id}`` 204; errors are
  ``{"code", "message", "data"}``.
* Webhook payload: ``{"deviceId", "event", "id", "payload", "webhookId"}`` (docs-web
  ``docs/features/webhooks.md`` "Receive the Payload"); ``id`` is a fresh NanoId per webhook and
  event (``WebHooksService.kt`` ``emit``). ``sms:received`` carries messageId, message,
  phoneNumber, simNumber, receivedAt (device-local time with offset) and, in newer app versions,
  sender/recipient; its messageId is ``InboxMessage.hashCode()`` as unsigned hex
  (``ReceiverService.kt``), so it is **not unique** - deduplicate on the event ``id``.
* Signing (``modules/webhooks/plugins/PayloadSingingPlugin.kt``): headers ``X-Timestamp`` (Unix
  seconds) and ``X-Signature`` = lowercase hex HMAC-SHA256(signing key, raw body + timestamp);
  no headers when no key is set. The plugin runs in ``transformRequestBody``, i.e. on every HTTP
  attempt, and ``WebhookQueueProcessorWorker.kt`` re-posts the stored payload on retry: a retry
  has the same body (same event ``id``) but a **new X-Timestamp and signature**. Retries back
  off exponentially, 14 times by default, on any non-2xx or no answer within 30 s (webhooks.md
  "Retry Policy"). :meth:`FakeSmsGateway.retry_last_webhook` replays byte-identical headers by
  default (a replay) and re-signs like the app with ``resign=True``.
* Android's own limit (AOSP ``SmsUsageMonitor``, from memory of its source, not re-checked here:
  30 SMS per 30 min per app by default, a multipart SMS counting each part): over it Android
  asks the user; unattended, the send waits (we keep the message ``Pending``) or is refused
  with ``RESULT_ERROR_LIMIT_EXCEEDED`` (docs-web ``docs/faq/errors.md``; we mark it ``Failed``
  and emit ``sms:failed``). Choose with ``android_limit_action``. The app's own send limits
  (settings ``messages.limit_*``) likewise leave messages ``Pending``.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import httpx
from android_sms_gateway.enums import ProcessState, WebhookEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from tests.fakes._server import BackgroundServer
from tests.fakes.sms_segments import segment_count

API_PREFIX = "/3rdparty/v1"
APP_USER_AGENT = "me.capcom.smsgateway/1.40.0"
LIMIT_EXCEEDED = "RESULT_ERROR_LIMIT_EXCEEDED"
GENERIC_FAILURE = "RESULT_ERROR_GENERIC_FAILURE"
DEVICE_TZ = timezone(timedelta(hours=4))  # the phone sits in Georgia: Asia/Tbilisi, no DST
WEBHOOK_EVENTS = frozenset(event.value for event in WebhookEvent)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_NANOID_ALPHABET = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The client's enums are the source of truth for the wire strings.
PENDING: str = ProcessState.Pending.value
PROCESSED: str = ProcessState.Processed.value
SENT: str = ProcessState.Sent.value
DELIVERED: str = ProcessState.Delivered.value
FAILED: str = ProcessState.Failed.value
CANCELLED: str = ProcessState.Cancelled.value
_STATE_OF_EVENT = {"sms:sent": SENT, "sms:delivered": DELIVERED, "sms:failed": FAILED}
_TIME_KEY_OF_EVENT = {
    "sms:sent": "sentAt",
    "sms:delivered": "deliveredAt",
    "sms:failed": "failedAt",
}


def nanoid(size: int = 21) -> str:
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))


def webhook_signature(body: bytes, timestamp: str, signing_key: str) -> str:
    """X-Signature for a webhook body sent with X-Timestamp ``timestamp``."""
    return hmac.new(signing_key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def verify_webhook(body: bytes, timestamp: str, signature: str, signing_key: str) -> bool:
    return hmac.compare_digest(webhook_signature(body, timestamp, signing_key), signature)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message, "data": None}, status_code=status)


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _device_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, DEVICE_TZ).isoformat(timespec="milliseconds")


@dataclass
class Recipient:
    phone_number: str
    state: str = PENDING
    error: str | None = None


@dataclass
class GatewayMessage:
    """One message sent through the fake (a snapshot when read through FakeSmsGateway)."""

    id: str
    device_id: str
    text: str | None
    recipients: list[Recipient]
    sim_number: int | None
    with_delivery_report: bool
    priority: int
    is_encrypted: bool
    created: float
    states: dict[str, str] = field(default_factory=dict)

    @property
    def parts(self) -> int:
        """SMS parts per recipient (a data message is one part)."""
        return max(segment_count(self.text), 1) if self.text is not None else 1

    @property
    def state(self) -> str:
        # Aggregation rules of docs-web docs/features/status-tracking.md (multiple recipients).
        states = [r.state for r in self.recipients]
        for waiting in (PENDING, PROCESSED):
            if waiting in states:
                return waiting
        if all(s == states[0] for s in states):
            return states[0]
        return SENT

    def state_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deviceId": self.device_id,
            "state": self.state,
            "isHashed": False,
            "isEncrypted": self.is_encrypted,
            "recipients": [
                {"phoneNumber": r.phone_number, "state": r.state, "error": r.error}
                for r in self.recipients
            ],
            "states": dict(self.states),
            "createdAt": _rfc3339(self.created),
        }

    def _mark(
        self, recipient: Recipient, state: str, when: float, error: str | None = None
    ) -> None:
        recipient.state, recipient.error = state, error
        self.states[state] = _rfc3339(when)


@dataclass(frozen=True)
class GatewayWebhook:
    id: str
    url: str
    event: str
    device_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "url": self.url, "event": self.event}
        if self.device_id is not None:
            data["deviceId"] = self.device_id
        return data


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST the fake made (or tried to make)."""

    url: str
    event: str
    body: bytes
    headers: dict[str, str]
    status_code: int | None
    error: str | None = None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class _State:
    messages: list[GatewayMessage] = field(default_factory=list)
    webhooks: dict[str, GatewayWebhook] = field(default_factory=dict)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    failures: list[tuple[int, str | None, bool]] = field(default_factory=list)
    sent_parts: deque[float] = field(default_factory=deque)


class FakeSmsGateway:
    """The gateway's API on 127.0.0.1; use ``with FakeSmsGateway(...) as gw:`` or start()/stop().

    ``base_url`` is the cloud-style API root to give ``APIClient``/``AsyncAPIClient`` as
    ``base_url``; ``local_url`` serves the same API at the root, like the phone's local server.
    """

    def __init__(
        self,
        username: str = "sms",
        password: str = "gateway-password",
        signing_key: str | None = "webhook-signing-key",
        *,
        device_id: str | None = None,
        device_phone: str | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.signing_key = signing_key
        self.device_id = device_id or nanoid()
        self.device_phone = device_phone
        # (max SMS parts, window seconds), e.g. (30, 1800) like stock Android; None = no limit.
        self.android_limit: tuple[int, int] | None = None
        self.android_limit_action: Literal["pending", "fail"] = "pending"
        # Events emitted by themselves after a message is handed to Android, e.g. ["sms:sent",
        # "sms:delivered"]; the matching webhooks are posted in the background.
        self.auto_events: list[str] = []
        self.auto_events_delay = 0.01
        self.clock: Callable[[], float] = time.time
        self._lock = threading.Lock()
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._server = BackgroundServer(self._build_app(), name="fake-sms-gateway")

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._server.url + API_PREFIX

    @property
    def local_url(self) -> str:
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection ------------------------------------------------------------------------

    @property
    def messages(self) -> list[GatewayMessage]:
        with self._lock:
            return [_copy_message(m) for m in self._state.messages]

    def get(self, message_id: str) -> GatewayMessage:
        with self._lock:
            return _copy_message(self._find(message_id))

    def messages_to(self, phone: str) -> list[GatewayMessage]:
        return [m for m in self.messages if any(r.phone_number == phone for r in m.recipients)]

    def counts(self) -> dict[str, int]:
        """Messages per recipient phone number."""
        result: dict[str, int] = {}
        for message in self.messages:
            for recipient in message.recipients:
                result[recipient.phone_number] = result.get(recipient.phone_number, 0) + 1
        return result

    def parts_total(self) -> int:
        return sum(m.parts * len(m.recipients) for m in self.messages)

    @property
    def webhooks(self) -> list[GatewayWebhook]:
        with self._lock:
            return list(self._state.webhooks.values())

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._state.deliveries)

    # -- behaviour control -----------------------------------------------------------------

    def fail_next(
        self, status: int, times: int = 1, *, message: str | None = None, any_request: bool = False
    ) -> None:
        """Answer the next ``times`` sends (or any API requests) with HTTP ``status``."""
        with self._lock:
            self._state.failures.extend([(status, message, any_request)] * times)

    def process_pending(self) -> list[str]:
        """Let the phone work through its queue again (e.g. after moving ``clock`` on).

        Returns the ids of messages whose state changed.
        """
        with self._lock:
            changed, failed = self._process_queue()
        self._after_processing(changed, failed)
        return [message_id for message_id, _ in changed + failed]

    # -- events towards the app ------------------------------------------------------------

    async def receive_sms(
        self,
        from_: str,
        text: str,
        *,
        event_id: str | None = None,
        message_id: str | None = None,
        forge: bool = False,
        timestamp: str | int | None = None,
        sim_number: int | None = 1,
        received_at: float | None = None,
    ) -> list[httpx.Response]:
        """An SMS arrives on the phone: POST ``sms:received`` to every webhook for it."""
        when = self.clock() if received_at is None else received_at
        content_hash = zlib.crc32(f"{from_}\x00{text}\x00{int(when * 1000)}".encode())
        payload: dict[str, Any] = {
            "messageId": message_id or format(content_hash, "x"),
            "message": text,
            "phoneNumber": from_,
            "sender": from_,
            "recipient": self.device_phone,
            "simNumber": sim_number,
            "receivedAt": _device_time(when),
        }
        return await self._emit(
            "sms:received", payload, event_id=event_id, forge=forge, timestamp=timestamp
        )

    async def emit_state(
        self,
        message_id: str,
        event: str,
        reason: str | None = None,
        *,
        phone_number: str | None = None,
        update: bool = True,
        forge: bool = False,
    ) -> list[httpx.Response]:
        """Report ``sms:sent`` / ``sms:delivered`` / ``sms:failed`` for a sent message.

        One webhook per recipient (or only ``phone_number``), as the app does. ``update=False``
        leaves the stored state alone (a late or duplicate report).
        """
        if event not in _STATE_OF_EVENT:
            raise ValueError(f"not a message state event: {event}")
        when = self.clock()
        with self._lock:
            message = self._find(message_id)
            targets = [r for r in message.recipients if phone_number in (None, r.phone_number)]
            if update:
                error = (reason or GENERIC_FAILURE) if event == "sms:failed" else None
                for recipient in targets:
                    message._mark(recipient, _STATE_OF_EVENT[event], when, error)
            snapshot = _copy_message(message)
        responses: list[httpx.Response] = []
        for recipient in targets:
            payload = self._state_payload(snapshot, recipient.phone_number, event, when, reason)
            responses += await self._emit(event, payload, forge=forge)
        return responses

    async def retry_last_webhook(
        self, *, resign: bool = False, event: str | None = None
    ) -> httpx.Response:
        """POST the last webhook (of `event`) again: same body and headers, or re-signed now
        like the app."""
        with self._lock:
            sent = [d for d in self._state.deliveries if event in (None, d.event)]
            if not sent:
                raise LookupError("no such webhook has been sent yet")
            last = sent[-1]
        headers = dict(last.headers)
        if resign and self.signing_key is not None:
            headers.update(self._signature_headers(last.body))
        return await self._post(last.url, last.event, last.body, headers)

    # -- internals: webhooks ---------------------------------------------------------------

    def _state_payload(
        self, message: GatewayMessage, phone: str, event: str, when: float, reason: str | None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messageId": message.id,
            "phoneNumber": phone,
            "simNumber": message.sim_number,
        }
        if event == "sms:sent":
            payload["partsCount"] = message.parts
        payload[_TIME_KEY_OF_EVENT[event]] = _device_time(when)
        if event == "sms:failed":
            payload["reason"] = reason or GENERIC_FAILURE
        return payload

    def _signature_headers(
        self, body: bytes, *, forge: bool = False, timestamp: str | int | None = None
    ) -> dict[str, str]:
        if self.signing_key is None:
            return {}
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        key = "forged-" + self.signing_key if forge else self.signing_key
        return {"X-Signature": webhook_signature(body, stamp, key), "X-Timestamp": stamp}

    async def _emit(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        forge: bool = False,
        timestamp: str | int | None = None,
    ) -> list[httpx.Response]:
        with self._lock:
            hooks = [h for h in self._state.webhooks.values() if h.event == event]
        responses = []
        for hook in hooks:
            envelope = {
                "deviceId": self.device_id,
                "event": event,
                "id": event_id or nanoid(),
                "payload": payload,
                "webhookId": hook.id,
            }
            body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", "User-Agent": APP_USER_AGENT}
            headers.update(self._signature_headers(body, forge=forge, timestamp=timestamp))
            responses.append(await self._post(hook.url, event, body, headers))
        return responses

    async def _post(
        self, url: str, event: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            delivery = WebhookDelivery(url, event, body, headers, None, repr(exc))
            with self._lock:
                self._state.deliveries.append(delivery)
            raise
        with self._lock:
            self._state.deliveries.append(
                WebhookDelivery(url, event, body, headers, response.status_code)
            )
        return response

    # -- internals: the phone's send queue -------------------------------------------------

    def _find(self, message_id: str) -> GatewayMessage:
        for message in self._state.messages:
            if message.id == message_id:
                return message
        raise KeyError(message_id)

    def _process_queue(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Hand pending recipients to Android, FIFO; call with the lock held.

        Returns (processed, failed) lists of (message id, phone).
        """
        now = self.clock()
        processed: list[tuple[str, str]] = []
        failed: list[tuple[str, str]] = []
        for message in self._state.messages:
            for recipient in message.recipients:
                if recipient.state != PENDING:
                    continue
                if self._under_limit(message.parts, now):
                    message._mark(recipient, PROCESSED, now)
                    processed.append((message.id, recipient.phone_number))
                elif self.android_limit_action == "fail":
                    message._mark(recipient, FAILED, now, LIMIT_EXCEEDED)
                    failed.append((message.id, recipient.phone_number))
                else:
                    return processed, failed  # the queue waits behind this message
        return processed, failed

    def _under_limit(self, parts: int, now: float) -> bool:
        if self.android_limit is None:
            return True
        limit, window = self.android_limit
        sent = self._state.sent_parts
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) + parts > limit:
            return False
        sent.extend([now] * parts)
        return True

    def _after_processing(
        self, processed: list[tuple[str, str]], failed: list[tuple[str, str]]
    ) -> None:
        for message_id, phone in failed:
            self._spawn(self._report(message_id, phone, ["sms:failed"], LIMIT_EXCEEDED))
        if self.auto_events:
            for message_id, phone in processed:
                self._spawn(self._report(message_id, phone, list(self.auto_events), None))

    async def _report(
        self, message_id: str, phone: str, events: list[str], reason: str | None
    ) -> None:
        for event in events:
            await asyncio.sleep(self.auto_events_delay)
            # A failed POST is recorded in deliveries; the real app would retry it later.
            with contextlib.suppress(httpx.HTTPError):
                await self.emit_state(message_id, event, reason, phone_number=phone)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._loop is None:
            coro.close()
            return
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    # -- internals: HTTP API ---------------------------------------------------------------

    def _build_app(self) -> Starlette:
        routes = [
            Route("/messages", self._send, methods=["POST"]),
            Route("/message", self._send, methods=["POST"]),  # local server's legacy path
            Route("/messages", self._list, methods=["GET"]),
            Route("/messages/{id}", self._get_state, methods=["GET"]),
            Route("/message/{id}", self._get_state, methods=["GET"]),
            Route("/messages/{id}", self._cancel, methods=["DELETE"]),
            Route("/webhooks", self._list_webhooks, methods=["GET"]),
            Route("/webhooks", self._register_webhook, methods=["POST"]),
            Route("/webhooks/{id}", self._delete_webhook, methods=["DELETE"]),
            Route("/health", self._health, methods=["GET"]),
        ]
        return Starlette(routes=[Mount(API_PREFIX, routes=routes), *routes])

    def _gate(self, request: Request, *, sending: bool = False) -> Response | None:
        self._loop = asyncio.get_running_loop()
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        login = password = ""
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):  # UnicodeDecodeError is a ValueError
                login, _, password = base64.b64decode(encoded).decode().partition(":")
        if not (
            hmac.compare_digest(login.encode(), self.username.encode())
            and hmac.compare_digest(password.encode(), self.password.encode())
        ):
            return _error(401, "Unauthorized")
        with self._lock:
            failures = self._state.failures
            if failures and (sending or failures[0][2]):
                status, message, _ = failures.pop(0)
                return _error(status, message or f"Injected failure {status}")
        return None

    async def _send(self, request: Request) -> Response:
        if (denied := self._gate(request, sending=True)) is not None:
            return denied
        try:
            data = await request.json()
            message = self._parse_message(data, request.query_params.get("skipPhoneValidation"))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _error(400, f"Invalid request: {exc}")
        with self._lock:
            if any(m.id == message.id for m in self._state.messages):
                return _error(409, f"Message with id {message.id} already exists")
            self._state.messages.append(message)
            accepted = message.state_json()  # the API answers before the phone gets to it
            processed, failed = self._process_queue()
        self._after_processing(processed, failed)
        location = f"{str(request.base_url).rstrip('/')}{request.url.path}/{message.id}"
        return JSONResponse(accepted, status_code=202, headers={"Location": location})

    def _parse_message(self, data: Any, skip_validation: str | None) -> GatewayMessage:
        if not isinstance(data, dict):
            raise TypeError("body must be a JSON object")
        phones = data.get("phoneNumbers")
        if not (isinstance(phones, list) and phones and all(isinstance(p, str) for p in phones)):
            raise ValueError("phoneNumbers must be a non-empty list of strings")
        text = (data.get("textMessage") or {}).get("text", data.get("message"))
        if text is None and "dataMessage" not in data:
            raise ValueError("one of textMessage, dataMessage or message is required")
        is_encrypted = bool(data.get("isEncrypted", False))
        if skip_validation != "true" and not is_encrypted:
            bad = [p for p in phones if not _is_e164(p)]
            if bad:
                raise ValueError(f"phone numbers are not E.164: {bad}")
        now = self.clock()
        return GatewayMessage(
            id=str(data.get("id") or nanoid()),
            device_id=str(data.get("deviceId") or self.device_id),
            text=text,
            recipients=[Recipient(p) for p in phones],
            sim_number=data.get("simNumber"),
            with_delivery_report=bool(data.get("withDeliveryReport", True)),
            priority=int(data.get("priority", 0)),
            is_encrypted=is_encrypted,
            created=now,
            states={PENDING: _rfc3339(now)},
        )

    async def _get_state(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        try:
            return JSONResponse(self.get(request.path_params["id"]).state_json())
        except KeyError:
            return _error(404, "Message not found")

    async def _cancel(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        with self._lock:
            try:
                message = self._find(request.path_params["id"])
            except KeyError:
                return _error(404, "Message not found")
            if message.state != PENDING:
                return _error(400, "Only pending messages can be cancelled")
            for recipient in message.recipients:
                message._mark(recipient, CANCELLED, self.clock())
            return JSONResponse(message.state_json())

    async def _list(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        query = request.query_params
        try:
            limit, offset = int(query.get("limit", "50")), int(query.get("offset", "0"))
        except ValueError:
            return _error(400, "limit and offset must be integers")
        found = [m for m in reversed(self.messages) if query.get("state") in (None, m.state)]
        page = [m.state_json() for m in found[offset : offset + limit]]
        return JSONResponse(page, headers={"X-Total-Count": str(len(found))})

    async def _list_webhooks(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        return JSONResponse([hook.as_json() for hook in self.webhooks])

    async def _register_webhook(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        try:
            data = await request.json()
            url, event = str(data["url"]), str(data["event"])
        except (ValueError, TypeError, KeyError):
            return _error(400, "url and event are required")
        if event not in WEBHOOK_EVENTS:
            return _error(400, f"Unsupported event: {event}")
        parts = urlsplit(url)
        # Tests must never make the fake call out of the machine.
        if parts.scheme not in {"http", "https"} or parts.hostname not in LOOPBACK_HOSTS:
            return _error(400, f"Webhook URL must be http(s) on loopback in tests: {url}")
        hook = GatewayWebhook(str(data.get("id") or nanoid()), url, event, data.get("deviceId"))
        with self._lock:
            self._state.webhooks[hook.id] = hook
        return JSONResponse(hook.as_json(), status_code=201)

    async def _delete_webhook(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        with self._lock:
            self._state.webhooks.pop(request.path_params["id"], None)
        return Response(status_code=204)

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "pass", "version": "1.40.0", "releaseId": 1, "checks": {}})


def _is_e164(number: str) -> bool:
    return number.startswith("+") and number[1:].isdigit() and 7 <= len(number) - 1 <= 15


def _copy_message(message: GatewayMessage) -> GatewayMessage:
    return replace(
        message,
        recipients=[replace(r) for r in message.recipients],
        states=dict(message.states),
    )
