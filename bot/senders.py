"""Channel senders: turn one outbox row into one provider call, and errors into SendError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.sms.providers import SendError, SendResult
from models.outbox import OutboxMessage

if TYPE_CHECKING:
    from bot.runtime import Runtime


class ChannelSender(Protocol):
    async def send(self, row: OutboxMessage) -> SendResult: ...


def keyboard(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    rows = payload.get("buttons")
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


class TelegramSender:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def send(self, row: OutboxMessage) -> SendResult:
        bot = self.rt.telegram_bot
        if bot is None:
            raise SendError("telegram is not configured", retryable=True)
        payload = row.payload or {}
        try:
            message = await bot.send_message(
                chat_id=int(row.address), text=row.text, reply_markup=keyboard(payload)
            )
            document = payload.get("document")
            if document:
                await bot.send_document(
                    chat_id=int(row.address),
                    document=InputFile(
                        document["content"].encode("utf-8"), filename=document["filename"]
                    ),
                )
            location = payload.get("location")
            if location:
                await bot.send_location(
                    chat_id=int(row.address),
                    latitude=float(location["lat"]),
                    longitude=float(location["lon"]),
                )
        except RetryAfter as exc:
            retry_after = exc.retry_after
            seconds = retry_after if isinstance(retry_after, int | float) else retry_after.seconds
            raise SendError(
                "telegram 429", code="429", retryable=True, retry_after=seconds
            ) from exc
        except Forbidden as exc:
            raise SendError(f"telegram 403: {exc.message}", code="403", kind="blocked") from exc
        except BadRequest as exc:
            raise SendError(f"telegram 400: {exc.message}", code="400") from exc
        except (TimedOut, NetworkError) as exc:
            raise SendError(f"telegram network: {exc.message}", retryable=True) from exc
        return SendResult(str(message.message_id), 0, "delivered")


class SmsSender:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def send(self, row: OutboxMessage) -> SendResult:
        provider = self.rt.sms_providers.get(row.provider)
        if provider is None:
            raise SendError(f"SMS provider {row.provider} is not configured", retryable=True)
        callback = None
        if self.rt.settings.public_base_url and row.provider == "twilio":
            callback = self.rt.settings.public_base_url.rstrip("/") + "/sms/status"
        return await provider.send(to=row.address, body=row.text, status_callback=callback)
