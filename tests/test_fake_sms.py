"""The SMS provider fakes, exercised through the real client libraries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from android_sms_gateway import AsyncAPIClient, Message, TextMessage, Webhook, WebhookEvent
from android_sms_gateway.enums import ProcessState
from android_sms_gateway.errors import APIError, BadRequestError, InternalServerError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes._server import BackgroundServer
from tests.fakes.sms_gateway import FakeSmsGateway, verify_webhook
from tests.fakes.sms_segments import encoding, segment_count
from tests.fakes.twilio_api import FakeTwilio, make_twilio_client, post_inbound_sms

GEORGIAN = "ა"  # U+10D0
PHONE = "+995555123456"
SENDER = "+12025550123"
PUBLIC_BASE = "https://lag.example.ge"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
SIGNING_KEY = "signing-key"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]
    valid: bool


class Receiver:
    """A tiny app standing in for lagbot's webhook endpoints; it validates like lagbot must."""

    def __init__(self, twilio_token: str = "", gateway_key: str = "") -> None:
        self.twilio_token = twilio_token
        self.gateway_key = gateway_key
        self.received: list[Received] = []
        app = Starlette(
            routes=[
                Route("/twilio/{kind}", self._twilio, methods=["POST"]),
                Route("/proxied/twilio/{kind}", self._twilio_proxied, methods=["POST"]),
                Route("/gateway", self._gateway, methods=["POST"]),
            ]
        )
        self.server = BackgroundServer(app, name="receiver")

    def url(self, path: str) -> str:
        return self.server.url + path

    def of(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _twilio(self, request: Request) -> Response:
        return await self._check_twilio(request, str(request.url))

    async def _twilio_proxied(self, request: Request) -> Response:
        # Behind a proxy Twilio signed the public URL, not the one this process sees.
        return await self._check_twilio(request, PUBLIC_BASE + request.url.path)

    async def _check_twilio(self, request: Request, signed_url: str) -> Response:
        body = await request.body()  # read first: Starlette caches it for form()
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = RequestValidator(self.twilio_token).validate(signed_url, form, signature)
        return self._record(request, body, form, valid)

    async def _gateway(self, request: Request) -> Response:
        body = await request.body()
        valid = verify_webhook(
            body,
            request.headers.get("X-Timestamp", ""),
            request.headers.get("X-Signature", ""),
            self.gateway_key,
        )
        return self._record(request, body, {}, valid)

    def _record(self, request: Request, body: bytes, form: dict[str, str], valid: bool) -> Response:
        headers = dict(request.headers)
        self.received.append(Received(request.url.path, headers, body, form, valid))
        return Response(status_code=204 if valid else 403)


async def wait_until(condition: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.fixture
def tw() -> Iterator[FakeTwilio]:
    with FakeTwilio(auth_token=AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture
async def client(tw: FakeTwilio) -> AsyncIterator[Client]:
    twilio_client = make_twilio_client(tw.base_url, tw.account_sid, tw.auth_token)
    yield twilio_client
    await twilio_client.http_client.close()


@pytest.fixture
def gw() -> Iterator[FakeSmsGateway]:
    with FakeSmsGateway("sms", "pw", SIGNING_KEY) as fake:
        yield fake


@pytest.fixture
async def gw_client(gw: FakeSmsGateway) -> AsyncIterator[AsyncAPIClient]:
    async with AsyncAPIClient("sms", "pw", base_url=gw.base_url) as api:
        yield api


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Receiver(twilio_token=AUTH_TOKEN, gateway_key=SIGNING_KEY)
    with app.server:
        yield app


def _case_id(value: object) -> str:
    if isinstance(value, str):
        kind = "gsm" if encoding(value) == "GSM-7" else "ucs2"
        return f"{kind}-{len(value)}chars"
    return f"{value}parts"


# -- segment arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 158 + "{", 1),
        ("a" * 159 + "{", 2),
        ("€" * 80, 1),
        ("a" * 152 + "{" + "a" * 152, 3),  # the escape pair may not straddle parts 1 and 2
        (GEORGIAN * 70, 1),
        (GEORGIAN * 71, 2),
        (GEORGIAN * 134, 2),
        (GEORGIAN * 135, 3),
        ("Привет" * 12, 2),
        ("a" * 69 + "ə", 1),
        ("a" * 70 + "ş", 2),
        ("ö ü Ö Ü" * 20, 1),
        (GEORGIAN * 68 + "🙂", 1),
        (GEORGIAN * 69 + "🙂", 2),
        (GEORGIAN * 66 + "🙂" + GEORGIAN * 66, 3),  # a surrogate pair is never split
    ],
    ids=_case_id,
)
def test_segment_count(text: str, parts: int) -> None:
    assert segment_count(text) == parts


def test_one_foreign_character_makes_the_whole_text_ucs2() -> None:
    assert encoding("Gamarjoba {~}") == "GSM-7"
    assert encoding("Gamarjoba ğ") == "UCS-2"
    assert encoding("Salam ı") == "UCS-2"


# -- FakeTwilio with the real twilio client ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        (GEORGIAN * 70, 1),
        (GEORGIAN * 71, 2),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 159 + "{", 2),
    ],
    ids=_case_id,
)
async def test_create_reports_segments(
    tw: FakeTwilio, client: Client, body: str, parts: int
) -> None:
    message = await client.messages.create_async(to=PHONE, from_=SENDER, body=body)
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert int(message.num_segments) == parts
    assert message.date_created is not None and message.date_sent is None
    assert tw.messages_to(PHONE)[0].num_segments == parts
    assert tw.segments_total() == parts


async def test_messaging_service_send_starts_accepted(tw: FakeTwilio, client: Client) -> None:
    service = "MG" + "0" * 32
    message = await client.messages.create_async(
        to=PHONE, messaging_service_sid=service, body="Gamarjoba"
    )
    assert (message.status, message.from_, message.messaging_service_sid) == (
        "accepted",
        None,
        service,
    )


async def test_opted_out_number_raises_21610(tw: FakeTwilio, client: Client) -> None:
    tw.opt_out(PHONE)
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to=PHONE, from_=SENDER, body="News")
    assert (caught.value.code, caught.value.status) == (21610, 400)
    assert tw.messages == []


async def test_validation_errors(client: Client) -> None:
    with pytest.raises(TwilioRestException) as bad_to:
        await client.messages.create_async(to="555 12 34 56", from_=SENDER, body="x")
    assert bad_to.value.code == 21211
    assert "is not a valid phone number" in bad_to.value.msg
    with pytest.raises(TwilioRestException) as no_body:
        await client.messages.create_async(to=PHONE, from_=SENDER, body="")
    assert no_body.value.code == 21602


async def test_wrong_token_is_401_20003(tw: FakeTwilio) -> None:
    intruder = make_twilio_client(tw.base_url, tw.account_sid, "wrong-token")
    try:
        with pytest.raises(TwilioRestException) as caught:
            await intruder.messages.create_async(to=PHONE, from_=SENDER, body="x")
    finally:
        await intruder.http_client.close()
    assert (caught.value.status, caught.value.code) == (401, 20003)


async def test_injected_failures(tw: FakeTwilio, client: Client) -> None:
    tw.fail_next(20429, status=429)
    tw.fail_next(21614, to="+995322000000")
    with pytest.raises(TwilioRestException) as throttled:
        await client.messages.create_async(to=PHONE, from_=SENDER, body="x")
    assert (throttled.value.status, throttled.value.code) == (429, 20429)
    await client.messages.create_async(to=PHONE, from_=SENDER, body="goes through")
    with pytest.raises(TwilioRestException) as landline:
        await client.messages.create_async(to="+995322000000", from_=SENDER, body="x")
    assert landline.value.code == 21614
    assert [m.body for m in tw.messages] == ["goes through"]


async def test_accepted_anyway_500_can_be_found_before_resending(
    tw: FakeTwilio, client: Client
) -> None:
    tw.fail_next(500, accept_anyway=True)
    before = datetime.now(UTC) - timedelta(seconds=5)
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to=PHONE, from_=SENDER, body="Assembly on Friday")
    assert caught.value.status == 500
    found = await client.messages.list_async(to=PHONE, date_sent_after=before)
    assert [m.body for m in found] == ["Assembly on Friday"]
    fetched = await client.messages(found[0].sid).fetch_async()
    assert fetched.status == "queued"


async def test_list_filters_and_pages_through_the_fake(tw: FakeTwilio, client: Client) -> None:
    for n in range(5):
        await client.messages.create_async(to=PHONE, from_=SENDER, body=f"m{n}")
    await client.messages.create_async(to="+995555000000", from_=SENDER, body="other")
    listed = await client.messages.list_async(to=PHONE, page_size=2)
    assert [m.body for m in listed] == ["m4", "m3", "m2", "m1", "m0"]
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await client.messages.list_async(date_sent_after=tomorrow) == []


async def test_sync_client_works_too(tw: FakeTwilio) -> None:
    sync_client = make_twilio_client(tw.base_url, tw.account_sid, tw.auth_token, async_=False)
    message = await asyncio.to_thread(
        sync_client.messages.create, to=PHONE, from_=SENDER, body=GEORGIAN * 71
    )
    assert int(message.num_segments) == 2


async def test_status_callbacks_are_signed_like_twilio(
    tw: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    callback = receiver.url("/twilio/status?attempt=1")
    message = await client.messages.create_async(
        to=PHONE, from_=SENDER, body="Hi", status_callback=callback
    )
    await tw.advance(message.sid, "sent")
    await tw.advance(message.sid, "undelivered", error_code=30005)
    await tw.advance(message.sid, "sent", update=False)  # late duplicate
    got = receiver.of("/twilio/status")
    assert [r.valid for r in got] == [True, True, True]
    assert [r.form["MessageStatus"] for r in got] == ["sent", "undelivered", "sent"]
    assert got[1].form["ErrorCode"] == "30005" and "ErrorCode" not in got[0].form
    assert got[0].form["MessageSid"] == got[0].form["SmsSid"] == message.sid
    assert got[0].form["AccountSid"] == tw.account_sid
    stored = await client.messages(message.sid).fetch_async()
    assert (stored.status, stored.error_code) == ("undelivered", 30005)
    assert stored.date_sent is not None


async def test_auto_status_callbacks(tw: FakeTwilio, client: Client, receiver: Receiver) -> None:
    tw.auto_status = ["sent", "delivered"]
    message = await client.messages.create_async(
        to=PHONE, from_=SENDER, body="Hi", status_callback=receiver.url("/twilio/status")
    )
    await wait_until(lambda: len(receiver.of("/twilio/status")) == 2)
    assert [r.form["MessageStatus"] for r in receiver.received] == ["sent", "delivered"]
    assert all(r.valid for r in receiver.received)
    assert tw.get(message.sid).status == "delivered"


async def test_inbound_sms_signature(tw: FakeTwilio, receiver: Receiver) -> None:
    ok = await post_inbound_sms(
        receiver.url("/twilio/sms"),
        auth_token=tw.auth_token,
        from_=PHONE,
        to=SENDER,
        body="STOP",
        account_sid=tw.account_sid,
    )
    forged = await tw.send_inbound(
        receiver.url("/twilio/sms"), from_=PHONE, to=SENDER, body="x", forge=True
    )
    proxied = await tw.send_inbound(
        receiver.url("/proxied/twilio/sms"),
        from_=PHONE,
        to=SENDER,
        body="გამარჯობა",
        public_url=PUBLIC_BASE + "/proxied/twilio/sms",
    )
    assert (ok.status_code, forged.status_code, proxied.status_code) == (204, 403, 204)
    form = receiver.received[0].form
    assert form["Body"] == "STOP" and form["From"] == PHONE and form["FromCountry"] == "GE"
    assert form["MessageSid"].startswith("SM") and form["NumMedia"] == "0"
    assert receiver.received[2].form["NumSegments"] == "1"


# -- FakeSmsGateway with the real android_sms_gateway client -------------------------------


def _text(text: str, *phones: str) -> Message:
    return Message(phone_numbers=list(phones or [PHONE]), text_message=TextMessage(text=text))


async def test_gateway_send_and_state(gw: FakeSmsGateway, gw_client: AsyncAPIClient) -> None:
    state = await gw_client.send(_text("Gamarjoba", PHONE, "+995555000111"))
    assert state.state is ProcessState.Pending
    assert [r.phone_number for r in state.recipients] == [PHONE, "+995555000111"]
    later = await gw_client.get_state(state.id)
    assert later.state is ProcessState.Processed
    assert later.device_id == gw.device_id
    assert gw.counts() == {PHONE: 1, "+995555000111": 1}
    with pytest.raises(BadRequestError):
        await gw_client.send(_text("x", "555123456"))


async def test_gateway_webhook_registry(gw: FakeSmsGateway, gw_client: AsyncAPIClient) -> None:
    hook = await gw_client.create_webhook(
        Webhook(id=None, url="http://127.0.0.1:9/sms", event=WebhookEvent.SMS_RECEIVED)
    )
    assert hook.id and hook.event is WebhookEvent.SMS_RECEIVED
    assert [h.id for h in await gw_client.get_webhooks()] == [hook.id]
    with pytest.raises(BadRequestError):
        await gw_client.create_webhook(
            Webhook(id=None, url="https://example.com/hook", event=WebhookEvent.SMS_SENT)
        )
    await gw_client.delete_webhook(hook.id)
    assert await gw_client.get_webhooks() == []


async def test_gateway_received_sms_webhook_is_signed(
    gw: FakeSmsGateway, gw_client: AsyncAPIClient, receiver: Receiver
) -> None:
    await gw_client.create_webhook(
        Webhook(id="in", url=receiver.url("/gateway"), event=WebhookEvent.SMS_RECEIVED)
    )
    [ok] = await gw.receive_sms(PHONE, "STOP", event_id="evt-1")
    assert ok.status_code == 204 and receiver.received[0].valid
    first = gw.deliveries[0].json()
    assert first["event"] == "sms:received" and first["id"] == "evt-1"
    assert first["deviceId"] == gw.device_id and first["webhookId"] == "in"
    payload = first["payload"]
    assert payload["message"] == "STOP" and payload["phoneNumber"] == PHONE
    assert payload["receivedAt"].endswith("+04:00") and payload["simNumber"] == 1

    # A byte-identical replay still verifies: the app must dedupe on the event id.
    assert (await gw.retry_last_webhook()).status_code == 204
    original, replayed = receiver.received[-2:]
    assert (replayed.body, replayed.headers["x-signature"]) == (
        original.body,
        original.headers["x-signature"],
    )
    # The app's own retries re-sign: same body, new X-Timestamp, still valid.
    real_clock = gw.clock
    gw.clock = lambda: real_clock() + 120
    assert (await gw.retry_last_webhook(resign=True)).status_code == 204
    resent = receiver.received[-1]
    assert resent.body == original.body
    assert int(resent.headers["x-timestamp"]) >= int(original.headers["x-timestamp"]) + 120

    [forged] = await gw.receive_sms(PHONE, "STOP", forge=True)
    assert forged.status_code == 403 and not receiver.received[-1].valid


async def test_gateway_state_events(
    gw: FakeSmsGateway, gw_client: AsyncAPIClient, receiver: Receiver
) -> None:
    for event in (WebhookEvent.SMS_SENT, WebhookEvent.SMS_DELIVERED, WebhookEvent.SMS_FAILED):
        await gw_client.create_webhook(Webhook(id=None, url=receiver.url("/gateway"), event=event))
    gw.auto_events = ["sms:sent", "sms:delivered"]
    state = await gw_client.send(_text(GEORGIAN * 71))
    await wait_until(lambda: len(receiver.received) == 2)
    sent, delivered = (r.body for r in receiver.received)
    assert b'"event":"sms:sent"' in sent and b'"partsCount":2' in sent
    assert b'"event":"sms:delivered"' in delivered
    assert (await gw_client.get_state(state.id)).state is ProcessState.Delivered

    [failed] = await gw.emit_state(state.id, "sms:failed", reason="RESULT_ERROR_NO_SERVICE")
    assert failed.status_code == 204 and all(r.valid for r in receiver.received)
    after = await gw_client.get_state(state.id)
    assert after.state is ProcessState.Failed
    assert after.recipients[0].error == "RESULT_ERROR_NO_SERVICE"


async def test_gateway_android_limit(gw: FakeSmsGateway, gw_client: AsyncAPIClient) -> None:
    now = time.time()
    gw.clock = lambda: now
    gw.android_limit = (3, 1800)
    ids = [(await gw_client.send(_text(f"m{n}"))).id for n in range(4)]
    states = [(await gw_client.get_state(i)).state for i in ids]
    assert states == [ProcessState.Processed] * 3 + [ProcessState.Pending]
    gw.clock = lambda: now + 1801
    assert gw.process_pending() == [ids[3]]
    assert (await gw_client.get_state(ids[3])).state is ProcessState.Processed

    gw.android_limit_action = "fail"
    gw.android_limit = (0, 1800)
    refused = await gw_client.get_state((await gw_client.send(_text("x"))).id)
    assert refused.state is ProcessState.Failed
    assert refused.recipients[0].error == "RESULT_ERROR_LIMIT_EXCEEDED"


async def test_gateway_injected_failures(gw: FakeSmsGateway, gw_client: AsyncAPIClient) -> None:
    gw.fail_next(500)
    gw.fail_next(429)
    with pytest.raises(InternalServerError):
        await gw_client.send(_text("x"))
    with pytest.raises(APIError) as throttled:
        await gw_client.send(_text("x"))
    assert throttled.value.status_code == 429
    await gw_client.get_webhooks()  # other endpoints are unaffected by default
    assert (await gw_client.send(_text("ok"))).state is ProcessState.Pending
    assert [m.text for m in gw.messages] == ["ok"]
