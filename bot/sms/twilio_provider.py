"""Twilio: outbound SMS through its REST API (async client), webhooks signed with the auth token."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.sms.providers import SendError, SendResult

log = logging.getLogger(__name__)

# Twilio error codes → what the delivery engine should do.
OPTED_OUT = {"21610"}  # the number replied STOP to Twilio
INVALID_NUMBER = {"21211", "21614", "21612"}  # not a (reachable) mobile number
# Throttled, server-side trouble, or our credentials (fixable without losing the message).
RETRYABLE = {"20429", "20500", "20503", "30001", "20003"}
# 21408 (region not enabled) is the account's setting, not the member's number: plain failure.


class TwilioProvider:
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_: str | None,
        messaging_service_sid: str | None,
        base_url: str,
    ) -> None:
        self._http = AsyncTwilioHttpClient(timeout=20)
        self.client = Client(account_sid, auth_token, http_client=self._http)
        # TWILIO_EDGE / TWILIO_REGION in the environment would rewrite the host.
        self.client.edge = None
        self.client.region = None
        # The API domain's base URL is public and settable: how tests reach the fake.
        self.client.api.base_url = base_url.rstrip("/")
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid
        self.validator = RequestValidator(auth_token)

    async def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        kwargs: dict[str, str] = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            assert self.from_ is not None
            kwargs["from_"] = self.from_
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = await self.client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise SendError(f"network: {exc}", retryable=True, maybe_sent=True) from exc
        except Exception as exc:  # aiohttp client errors and timeouts
            raise SendError(f"network: {exc!r}", retryable=True, maybe_sent=True) from exc
        return SendResult(str(message.sid), int(message.num_segments or 0), str(message.status))

    async def find_sent(self, *, to: str, body: str, since: datetime) -> str | None:
        """The newest messages to `to` (newest first), matched on body and creation time.

        Not filtered on DateSent: a message Twilio accepted but has not sent yet has none.
        """
        try:
            messages = await self.client.messages.list_async(to=to, limit=20, page_size=20)
        except TwilioRestException:
            return None
        cutoff = since - timedelta(minutes=5)
        for message in messages:
            created = message.date_created
            if message.body == body and (created is None or created >= cutoff):
                return str(message.sid)
        return None

    def valid_signature(self, url: str, params: dict[str, str], signature: str) -> bool:
        return bool(self.validator.validate(url, params, signature))

    async def close(self) -> None:
        await self._http.close()


def _classify(exc: TwilioRestException) -> SendError:
    code = str(exc.code or exc.status)
    reason = f"twilio {code}: {exc.msg}"
    if code in OPTED_OUT:
        return SendError(reason, code=code, kind="opted_out")
    if code in INVALID_NUMBER:
        return SendError(reason, code=code, kind="invalid_number")
    if exc.status >= 500:  # it may have been accepted (and charged) anyway: look it up first
        return SendError(reason, code=code, retryable=True, maybe_sent=True)
    if code in RETRYABLE or exc.status == 429:
        return SendError(reason, code=code, retryable=True)
    return SendError(reason, code=code)
