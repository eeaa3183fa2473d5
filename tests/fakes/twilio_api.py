"""A fake of Twilio's 2010-04-01 Messages REST API, for the *real* ``twilio`` client.

Pointing the client at it (see :func:`make_twilio_client`): every REST call of the SDK goes through
``Domain.absolute_url`` (twilio/base/domain.py), which joins ``domain.base_url`` (set to
``"https://api.twilio.com"`` in ``ApiBase.__init__``, twilio/rest/api/ApiBase.py) with the path;
list paging follows ``next_page_uri`` through the same method (twilio/base/page.py). So assigning
``client.api.base_url = "http://127.0.0.1:PORT"`` redirects messages create/fetch/list, sync and
async alike. ``ClientBase.get_hostname`` rewrites the host when an edge or region is configured
(also read from TWILIO_EDGE / TWILIO_REGION), so both are cleared.

Semantics kept from Twilio (they matter to the app): errors are JSON ``{code, message, more_info,
status}`` (the SDK turns them into ``TwilioRestException`` with ``.code``); a message created with a
``MessagingServiceSid`` and no ``From`` starts as ``accepted`` with ``from: null``, otherwise
``queued``; ``date_sent`` stays null until the message is ``sent``; lists are newest first. Status
callbacks and inbound SMS are form posts signed with ``X-Twilio-Signature`` (HMAC-SHA1 of the URL
plus the sorted parameters, base64), which ``twilio.request_validator.RequestValidator`` accepts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import httpx
import phonenumbers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes._server import BackgroundServer
from tests.fakes.sms_segments import segment_count

API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600

# Twilio error codes the fake can produce: code -> (HTTP status, message template).
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number: {to}.",
    ),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number {to} is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
}


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two-letter prefix plus 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio puts on a webhook POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def rfc2822(moment: datetime | None) -> str | None:
    return None if moment is None else format_datetime(moment.astimezone(UTC))


def error_body(
    code: int,
    *,
    status: int | None = None,
    message: str | None = None,
    to: str = "",
    path: str = "",
) -> dict[str, Any]:
    default_status, template = ERRORS.get(code, (400, "Error {code}"))
    return {
        "code": code,
        "message": message or template.format(to=to, path=path, code=code),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status or default_status,
    }


def _error(code: int, **kwargs: Any) -> JSONResponse:
    body = error_body(code, **kwargs)
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if body["status"] == 401 else None
    return JSONResponse(body, status_code=body["status"], headers=headers)


@dataclass
class TwilioMessage:
    """One message as stored by the fake (a snapshot when read through FakeTwilio)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    num_segments: int
    status: str
    status_callback: str | None
    created: datetime
    updated: datetime
    date_sent: datetime | None = None
    error_code: int | None = None
    direction: str = "outbound-api"

    def resource(self) -> dict[str, Any]:
        """The JSON Twilio returns for this message."""
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": self.to,
            "uri": f"{base}.json",
        }


@dataclass
class _FailureRule:
    code: int
    status: int
    remaining: int
    to: str | None
    accept_anyway: bool
    message: str | None


@dataclass(frozen=True)
class CallbackDelivery:
    """A status callback the fake posted (or tried to post)."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    status_code: int | None
    error: str | None = None


@dataclass
class _State:
    messages: list[TwilioMessage] = field(default_factory=list)
    rules: list[_FailureRule] = field(default_factory=list)
    opted_out: set[str] = field(default_factory=set)
    callbacks: list[CallbackDelivery] = field(default_factory=list)


class FakeTwilio:
    """Twilio's Messages API on 127.0.0.1; use ``with FakeTwilio() as tw:`` or start()/stop()."""

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        service_sender: str = "LAGBOT",
    ) -> None:
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        # The sender a Messaging Service picks for messages created without From.
        self.service_sender = service_sender
        self.auto_status: list[str] = []
        self.auto_status_delay = 0.01
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._lock = threading.Lock()
        self._state = _State()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server = BackgroundServer(self._build_app(), name="fake-twilio")

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
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
    def messages(self) -> list[TwilioMessage]:
        with self._lock:
            return [replace(m) for m in self._state.messages]

    def messages_to(self, number: str) -> list[TwilioMessage]:
        return [m for m in self.messages if m.to == number]

    def segments_total(self) -> int:
        return sum(m.num_segments for m in self.messages)

    def get(self, sid: str) -> TwilioMessage:
        with self._lock:
            return replace(self._find(sid))

    @property
    def callbacks(self) -> list[CallbackDelivery]:
        with self._lock:
            return list(self._state.callbacks)

    # -- behaviour control -----------------------------------------------------------------

    def fail_next(
        self,
        code: int,
        status: int | None = None,
        times: int = 1,
        to: str | None = None,
        accept_anyway: bool = False,
        message: str | None = None,
    ) -> None:
        """Make the next ``times`` creates (to ``to``, or any) fail with Twilio error ``code``.

        ``code`` 429/500/503 is shorthand for 20429/20500/20503. With ``accept_anyway`` the
        message is stored (accepted and charged) although the response is the error.
        """
        if code < 1000:
            status, code = status or code, 20000 + code
        rule_status = status or ERRORS.get(code, (400, ""))[0]
        rule = _FailureRule(code, rule_status, times, to, accept_anyway, message)
        with self._lock:
            self._state.rules.append(rule)

    def opt_out(self, number: str) -> None:
        """Every later send to ``number`` fails with 21610 (recipient replied STOP)."""
        with self._lock:
            self._state.opted_out.add(number)

    def opt_in(self, number: str) -> None:
        with self._lock:
            self._state.opted_out.discard(number)

    # -- status callbacks and inbound ------------------------------------------------------

    async def advance(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        update: bool = True,
    ) -> httpx.Response | None:
        """Move message ``sid`` to ``status`` and POST its status callback, if it has one.

        Any order and repetition is allowed (Twilio's callbacks can be duplicated or reordered);
        ``update=False`` sends the callback without changing the stored resource (a stale one).
        """
        now = self._now()
        with self._lock:
            message = self._find(sid)
            if update:
                message.status, message.updated = status, now
                if status in {"sent", "delivered"} and message.date_sent is None:
                    message.date_sent = now
                if error_code is not None:
                    message.error_code = error_code
                if message.from_ is None:
                    message.from_ = self.service_sender
            snapshot = replace(message)
        if not snapshot.status_callback:
            return None
        params = {
            "AccountSid": snapshot.account_sid,
            "ApiVersion": API_VERSION,
            "From": snapshot.from_ or self.service_sender,
            "MessageSid": snapshot.sid,
            "MessageStatus": status,
            "SmsSid": snapshot.sid,
            "SmsStatus": status,
            "To": snapshot.to,
        }
        if snapshot.messaging_service_sid:
            params["MessagingServiceSid"] = snapshot.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return await self._post_callback(snapshot.status_callback, params)

    async def send_inbound(
        self, url: str, *, from_: str, to: str, body: str, **kwargs: Any
    ) -> httpx.Response:
        """:func:`post_inbound_sms` signed with this account's token and SID."""
        kwargs.setdefault("account_sid", self.account_sid)
        return await post_inbound_sms(
            url, auth_token=self.auth_token, from_=from_, to=to, body=body, **kwargs
        )

    # -- internals -------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def _find(self, sid: str) -> TwilioMessage:
        for message in self._state.messages:
            if message.sid == sid:
                return message
        raise KeyError(sid)

    async def _post_callback(self, url: str, params: dict[str, str]) -> httpx.Response:
        headers = {
            "X-Twilio-Signature": twilio_signature(url, params, self.auth_token),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        try:
            # Webhooks go to loopback http: skipping the CA bundle makes a client ~100x cheaper
            # (loading it costs a quarter second of CPU here, enough to stall a broadcast test).
            async with httpx.AsyncClient(timeout=5, verify=False, trust_env=False) as client:
                response = await client.post(url, data=params, headers=headers)
        except httpx.HTTPError as exc:
            with self._lock:
                failure = CallbackDelivery(url, params, headers, None, repr(exc))
                self._state.callbacks.append(failure)
            raise
        with self._lock:
            delivery = CallbackDelivery(url, params, headers, response.status_code)
            self._state.callbacks.append(delivery)
        return response

    async def _auto_advance(self, sid: str, statuses: list[str]) -> None:
        for status in statuses:
            await asyncio.sleep(self.auto_status_delay)
            # A failed POST is recorded in self.callbacks; Twilio gives up on it too.
            with contextlib.suppress(httpx.HTTPError):
                await self.advance(sid, status)

    def _authorize(self, request: Request) -> Response | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        user = password = ""
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):  # UnicodeDecodeError is a ValueError
                user, _, password = base64.b64decode(encoded).decode().partition(":")
        if not (
            hmac.compare_digest(user.encode(), self.account_sid.encode())
            and hmac.compare_digest(password.encode(), self.auth_token.encode())
        ):
            return _error(20003)
        if request.path_params["account_sid"] != self.account_sid:
            return _error(20404, path=request.url.path)
        return None

    def _build_app(self) -> Starlette:
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"
        return Starlette(
            routes=[
                Route(f"{base}/Messages.json", self._create, methods=["POST"]),
                Route(f"{base}/Messages.json", self._list, methods=["GET"]),
                Route(f"{base}/Messages/{{sid}}.json", self._fetch, methods=["GET"]),
            ]
        )

    async def _create(self, request: Request) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        to = fields.get("To", "").strip()
        from_ = fields.get("From") or None
        service = fields.get("MessagingServiceSid") or None
        body = fields.get("Body", "")
        if not to:
            return _error(21604)
        if not _is_e164(to):
            return _error(21211, to=to)
        if from_ is None and service is None:
            return _error(21603)
        if not body:
            return _error(21602)
        if len(body) > MAX_BODY_CHARS:
            return _error(21617)
        now = self._now()
        message = TwilioMessage(
            sid=new_sid("SM"),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            messaging_service_sid=service,
            body=body,
            num_segments=segment_count(body),
            status="queued" if from_ else "accepted",
            status_callback=fields.get("StatusCallback") or None,
            created=now,
            updated=now,
        )
        with self._lock:
            rule = self._take_rule(to)
            rejected = rule is None and to in self._state.opted_out
            stored = (rule is None and not rejected) or (rule is not None and rule.accept_anyway)
            if stored:
                self._state.messages.append(message)
        if stored and message.status_callback and self.auto_status:
            task = asyncio.get_running_loop().create_task(
                self._auto_advance(message.sid, list(self.auto_status))
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if rule is not None:
            return _error(rule.code, status=rule.status, message=rule.message, to=to)
        if rejected:
            return _error(21610, to=to)
        return JSONResponse(message.resource(), status_code=201)

    def _take_rule(self, to: str) -> _FailureRule | None:
        for rule in self._state.rules:
            if rule.to is None or rule.to == to:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._state.rules.remove(rule)
                return rule
        return None

    async def _fetch(self, request: Request) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        try:
            message = self.get(request.path_params["sid"])
        except KeyError:
            return _error(20404, path=request.url.path)
        return JSONResponse(message.resource())

    async def _list(self, request: Request) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        query = request.query_params
        filters = {
            key: query[key]
            for key in ("To", "From", "DateSent", "DateSent<", "DateSent>")
            if key in query
        }
        try:
            page = int(query.get("Page", "0"))
            page_size = min(int(query.get("PageSize", "50")), 1000)
            if page < 0 or page_size < 1:
                raise ValueError
            matches = [m for m in reversed(self.messages) if _matches(m, filters)]
        except ValueError:
            return _error(20001, message="Invalid paging or date filter", status=400)
        start = page * page_size
        chunk = matches[start : start + page_size]
        path = request.url.path

        def page_uri(number: int, token: str | None = None) -> str:
            params = {**filters, "PageSize": str(page_size), "Page": str(number)}
            if token:
                params["PageToken"] = token
            return f"{path}?{urlencode(params)}"

        has_next = start + page_size < len(matches)
        return JSONResponse(
            {
                "first_page_uri": page_uri(0),
                "end": start + max(len(chunk) - 1, 0),
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "messages": [m.resource() for m in chunk],
                "uri": page_uri(page),
                "page_size": page_size,
                "start": start,
                "next_page_uri": page_uri(page + 1, "PA" + chunk[-1].sid) if has_next else None,
                "page": page,
            }
        )


def _is_e164(number: str) -> bool:
    return number.startswith("+") and number[1:].isdigit() and 7 <= len(number) - 1 <= 15


def _matches(message: TwilioMessage, filters: Mapping[str, str]) -> bool:
    if "To" in filters and message.to != filters["To"]:
        return False
    if "From" in filters and message.from_ != filters["From"]:
        return False
    # Twilio filters on date_sent; a message not sent yet is compared by its creation time so
    # the app can find a message it is unsure about (create returned 5xx) before re-sending.
    moment = message.date_sent or message.created
    for key, compare in (
        ("DateSent", lambda a, b: a == b),
        ("DateSent>", lambda a, b: a >= b),
        ("DateSent<", lambda a, b: a <= b),
    ):
        if key in filters and not _compare_sent(moment, filters[key], compare):
            return False
    return True


def _compare_sent(moment: datetime, value: str, compare: Callable[[Any, Any], bool]) -> bool:
    if len(value) == 10:  # YYYY-MM-DD: Twilio compares whole days
        return compare(moment.date(), date.fromisoformat(value))
    bound = datetime.fromisoformat(value)
    return compare(moment, bound if bound.tzinfo else bound.replace(tzinfo=UTC))


def make_twilio_client(base_url: str, sid: str, token: str, async_: bool = True) -> Client:
    """A real ``twilio.rest.Client`` whose Messages API calls go to ``base_url``.

    With ``async_`` the client uses ``AsyncTwilioHttpClient`` (use ``*_async`` methods, then
    ``await client.http_client.close()``); it must be built inside a running event loop because
    its aiohttp session binds to the current loop.
    """
    http_client = AsyncTwilioHttpClient() if async_ else TwilioHttpClient()
    client = Client(sid, token, http_client=http_client)
    # TWILIO_EDGE / TWILIO_REGION in the environment would make get_hostname() rewrite the host.
    client.edge = None
    client.region = None
    client.api.base_url = base_url.rstrip("/")
    return client


def _country(number: str) -> str:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return ""
    return region if region and region != "ZZ" else ""


def inbound_sms_params(
    *,
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
    messaging_service_sid: str | None = None,
) -> dict[str, str]:
    """The form Twilio posts to a number's incoming-message webhook."""
    sid = message_sid or new_sid("SM")
    params = {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(max(segment_count(body), 1)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    return params


async def post_inbound_sms(
    url: str,
    *,
    auth_token: str,
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
    public_url: str | None = None,
    forge: bool = False,
    account_sid: str | None = None,
    messaging_service_sid: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.Response:
    """POST an incoming SMS to ``url`` the way Twilio does.

    The signature covers ``public_url`` when given (the URL Twilio was configured with, in front
    of a proxy) instead of ``url``; ``forge`` sends a signature made with a wrong token.
    ``transport`` (e.g. ``httpx.ASGITransport(app)``) skips the network.
    """
    params = inbound_sms_params(
        account_sid=account_sid or new_sid("AC"),
        from_=from_,
        to=to,
        body=body,
        message_sid=message_sid,
        messaging_service_sid=messaging_service_sid,
    )
    token = "forged-" + auth_token if forge else auth_token
    headers = {
        "X-Twilio-Signature": twilio_signature(public_url or url, params, token),
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        "User-Agent": "TwilioProxy/1.1",
    }
    async with httpx.AsyncClient(
        transport=transport, timeout=5, verify=False, trust_env=False
    ) as client:  # loopback http: no CA bundle to load (see _post_callback)
        return await client.post(url, data=params, headers=headers)
