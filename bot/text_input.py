"""Text from outside (Telegram updates, inbound SMS) without the characters no database keeps.

PostgreSQL refuses NUL in text ("invalid byte sequence for encoding UTF8: 0x00") and no encoder
takes a lone surrogate, so one such character in a villager's message would fail the whole
transaction. They carry no meaning in a chat; they are dropped where text enters lagbot, once,
rather than in every domain function. Other control characters go too, except tab and new line.
"""

from __future__ import annotations

import json
import re
from typing import Any

from telegram.error import TelegramError
from telegram.request import HTTPXRequest

_UNKEPT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def scrub(text: str) -> str:
    """`text` without NUL, other C0 controls (tab, CR and LF stay), DEL and lone surrogates."""
    return _UNKEPT.sub("", text)


def scrub_json(value: Any) -> Any:
    """Every string inside a parsed JSON document, scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_json(item) for item in value]
    return value


class ScrubbingRequest(HTTPXRequest):
    """PTB's HTTP client for getUpdates, whose answers (the members' messages) are scrubbed."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        try:
            parsed = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            raise TelegramError("Invalid server response") from exc
        result: dict[str, Any] = scrub_json(parsed)
        return result
