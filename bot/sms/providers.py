"""SMS providers as plug-ins with one shape (RapidPro's idea): send, look up, verify webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class InboundSms:
    """An SMS a member sent us, whichever provider brought it."""

    provider: str
    provider_message_id: str
    phone: str
    text: str
    to: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    segments: int = 0
    status: str = "sent"  # what the provider said: queued/accepted → our `sent`


class SendError(Exception):
    """A send that did not go out.

    `retryable`: try the same row again later (rate limit, 5xx, timeout).
    `maybe_sent`: the provider may have accepted it anyway (a 5xx after acceptance):
    look it up before re-sending. `kind` tells the engine what to mark on the member
    (`opted_out`, `invalid_number`) or None.
    """

    def __init__(
        self,
        reason: str,
        *,
        code: str | None = None,
        retryable: bool = False,
        maybe_sent: bool = False,
        kind: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retryable = retryable
        self.maybe_sent = maybe_sent
        self.kind = kind
        self.retry_after = retry_after


class SmsProvider(Protocol):
    name: str

    async def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult: ...

    async def find_sent(self, *, to: str, body: str, since: datetime) -> str | None:
        """The provider's id of a message already accepted for `to` with `body`, if any."""
        ...

    async def close(self) -> None: ...


class CaptureProvider:
    """Keeps outbound SMS in memory instead of sending (the simulator, and dev without Twilio)."""

    def __init__(self, name: str = "simulator") -> None:
        self.name = name
        self.sent: list[tuple[str, str]] = []
        self._counter = 0

    async def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        from bot.sms.encoding import sms_info

        self._counter += 1
        self.sent.append((to, body))
        return SendResult(f"{self.name}-{self._counter}", sms_info(body).parts, "delivered")

    async def find_sent(self, *, to: str, body: str, since: datetime) -> str | None:
        return None

    async def close(self) -> None:
        return None
