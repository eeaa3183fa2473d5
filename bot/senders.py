"""Channel senders: turn one outbox row into provider calls, and errors into SendError.

A Telegram row can take several calls (the text, then a document or a location). The row's
`progress` says how many already went, so a retry after a failure in the middle never
repeats the part that was delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.pacing import SendArgs, retry_after_seconds
from bot.sms.providers import SendError, SendResult
from models.outbox import OutboxMessage, Priority

if TYPE_CHECKING:
    from bot.runtime import Runtime


class ChannelSender(Protocol):
    async def send(self, row: OutboxMessage, *, on_grant: Callable[[], None]) -> SendResult: ...


def keyboard(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    rows = payload.get("buttons")
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


class TelegramSendError(SendError):
    """A failed Telegram call, with how many of the row's calls had already gone out."""

    progress = 0
    provider_message_id: str | None = None


class SendAborted(TelegramSendError):
    """The engine is stopping: this call was not made (the row goes back to the queue)."""

    def __init__(self) -> None:
        super().__init__("stopped before sending", code="aborted", retryable=True)


def _classify_telegram(exc: Exception, progress: int, message_id: str | None) -> SendError:
    error: TelegramSendError
    if isinstance(exc, RetryAfter):
        error = TelegramSendError(
            "telegram 429: flood control",
            code="429",
            retryable=True,
            retry_after=retry_after_seconds(exc),
        )
    elif isinstance(exc, Forbidden):
        error = TelegramSendError(f"telegram 403: {exc.message}", code="403", kind="blocked")
    elif isinstance(exc, BadRequest):
        reason = exc.message
        kind = "chat_not_found" if "chat not found" in reason.lower() else None
        error = TelegramSendError(f"telegram 400: {reason}", code="400", kind=kind)
    elif isinstance(exc, TimedOut):
        error = TelegramSendError("telegram timeout", code="timeout", retryable=True)
    elif isinstance(exc, NetworkError):
        error = TelegramSendError(f"telegram: {exc.message}", code="network", retryable=True)
    else:
        error = TelegramSendError(f"telegram: {exc!r}", code="error", retryable=True)
    error.progress = progress
    error.provider_message_id = message_id
    return error


class TelegramSender:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def send(self, row: OutboxMessage, *, on_grant: Callable[[], None]) -> SendResult:
        if self.rt.telegram_bot is None:
            raise SendError("telegram is not configured", retryable=True)
        bot = cast("ExtBot[SendArgs]", self.rt.telegram_bot)
        payload = row.payload or {}
        chat_id = int(row.address)
        args = SendArgs(priority=row.priority, spaced=row.priority >= Priority.NOTICE,
                        on_grant=on_grant)  # fmt: skip
        progress = int(payload.get("_progress", 0))
        message_id = row.provider_message_id
        steps: list[Callable[[], Any]] = [
            lambda: bot.send_message(
                chat_id=chat_id,
                text=row.text,
                reply_markup=keyboard(payload),
                rate_limit_args=args,
            )
        ]
        document = payload.get("document")
        if document:
            steps.append(
                lambda: bot.send_document(
                    chat_id=chat_id,
                    document=InputFile(
                        str(document["content"]).encode("utf-8"), filename=document["filename"]
                    ),
                    rate_limit_args=args,
                )
            )
        location = payload.get("location")
        if location and location.get("title") and location.get("address"):
            steps.append(  # a venue: the pin with the place's name and address
                lambda: bot.send_venue(
                    chat_id=chat_id,
                    latitude=float(location["lat"]),
                    longitude=float(location["lon"]),
                    title=str(location["title"])[:256],
                    address=str(location["address"])[:256],
                    rate_limit_args=args,
                )
            )
        elif location:
            steps.append(
                lambda: bot.send_location(
                    chat_id=chat_id,
                    latitude=float(location["lat"]),
                    longitude=float(location["lon"]),
                    rate_limit_args=args,
                )
            )
        for index in range(progress, len(steps)):
            try:
                result = await steps[index]()
            except SendAborted as exc:
                exc.progress, exc.provider_message_id = index, message_id
                raise
            except Exception as exc:
                raise _classify_telegram(exc, index, message_id) from exc
            if index == 0:
                message_id = str(result.message_id)
        return SendResult(message_id or "", 0, "delivered")


class SmsSender:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def send(self, row: OutboxMessage, *, on_grant: Callable[[], None]) -> SendResult:
        provider = self.rt.sms_providers.get(row.provider)
        if provider is None:
            raise SendError(f"SMS provider {row.provider} is not configured", retryable=True)
        callback = None
        if self.rt.settings.public_base_url and row.provider == "twilio":
            callback = self.rt.settings.public_base_url.rstrip("/") + "/sms/status"
        on_grant()
        return await provider.send(to=row.address, body=row.text, status_callback=callback)
