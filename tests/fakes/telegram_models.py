"""Plain data the fake Telegram keeps and hands to tests: errors, files, messages, calls."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, as the bot uploaded it."""

    filename: str | None
    content: bytes
    mime_type: str | None


@dataclass(frozen=True)
class FileRecord:
    """A file the fake server knows: uploaded bytes, or only a URL it was asked to fetch."""

    file_id: str
    filename: str | None
    content: bytes | None
    mime_type: str | None
    url: str | None = None

    @property
    def file_unique_id(self) -> str:
        return hashlib.sha1(self.file_id.encode()).hexdigest()[:16]

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else 0

    @property
    def file_path(self) -> str:
        return f"files/{self.file_id}/{self.filename or 'file'}"


@dataclass(frozen=True)
class RecordedCall:
    """One request the bot made. ``time`` is ``time.monotonic()`` when it was answered."""

    method: str
    params: JSON
    time: float
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None


def keyboard_rows(markup: JSON | None) -> list[list[JSON]]:
    """Buttons of an inline or reply keyboard as dicts (reply buttons may be bare strings)."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [[b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows]


@dataclass(eq=False)
class BotMessage:
    """A message the bot sent to a chat, kept up to date by later edits and deletion.

    ``text`` (empty unless ``kind == "text"``) and ``caption`` are what the user sees, after
    ``parse_mode``; ``raw_text`` is what the bot sent. ``history`` holds the earlier
    versions, oldest first.
    """

    chat_id: int
    message_id: int
    kind: str
    date: int
    params: JSON
    text: str = ""
    caption: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    document: FileRecord | None = None
    photo: FileRecord | None = None
    location: JSON | None = None
    venue: JSON | None = None
    poll: JSON | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[JSON] = field(default_factory=list)

    @property
    def body(self) -> str:
        """Text, or caption for media: what a reader of the chat sees as words."""
        return self.text if self.kind == "text" else self.caption or ""

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the message's keyboard (inline or reply), row by row."""
        return [[str(b.get("text", "")) for b in row] for row in keyboard_rows(self.reply_markup)]

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label in row]

    @property
    def has_inline_keyboard(self) -> bool:
        return bool(self.reply_markup and "inline_keyboard" in self.reply_markup)

    def inline_button(self, label: str) -> JSON | None:
        if not self.has_inline_keyboard:
            return None
        return next(
            (b for row in keyboard_rows(self.reply_markup) for b in row if b.get("text") == label),
            None,
        )

    def inline_button_with_data(self, data: str) -> JSON | None:
        if not self.has_inline_keyboard:
            return None
        return next(
            (
                b
                for row in keyboard_rows(self.reply_markup)
                for b in row
                if b.get("callback_data") == data
            ),
            None,
        )

    def snapshot(self) -> JSON:
        return {
            "text": self.text,
            "caption": self.caption,
            "raw_text": self.raw_text,
            "reply_markup": self.reply_markup,
            "edit_date": self.edit_date,
        }

    def to_api(self, chat: JSON, bot_user: JSON) -> JSON:
        """The Bot API ``Message`` object for this message."""
        message: JSON = {
            "message_id": self.message_id,
            "from": bot_user,
            "chat": chat,
            "date": self.date,
        }
        if self.kind == "text":
            message["text"] = self.text
        if self.caption is not None:
            message["caption"] = self.caption
        if self.document is not None:
            message["document"] = _document_api(self.document)
        if self.photo is not None:
            message["photo"] = [_photo_api(self.photo)]
        if self.location is not None:
            message["location"] = self.location
        if self.venue is not None:
            message["venue"] = self.venue
            message["location"] = self.venue["location"]
        if self.poll is not None:
            message["poll"] = self.poll
        # Telegram echoes only inline keyboards back; reply keyboards live on the client.
        if self.has_inline_keyboard:
            message["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        return message

    def __repr__(self) -> str:
        flags = " deleted" if self.deleted else ""
        return f"<BotMessage {self.chat_id}/{self.message_id} {self.kind} {self.body!r}{flags}>"


def _document_api(file: FileRecord) -> JSON:
    doc: JSON = {
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.size,
    }
    if file.filename:
        doc["file_name"] = file.filename
    if file.mime_type:
        doc["mime_type"] = file.mime_type
    return doc


def _photo_api(file: FileRecord) -> JSON:
    width, height = image_size(file.content)
    return {
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.size,
        "width": width,
        "height": height,
    }


def image_size(content: bytes | None) -> tuple[int, int]:
    """Pixel size of an uploaded image; (1, 1) when it is not one Pillow can read."""
    if not content:
        return 1, 1
    try:
        with Image.open(io.BytesIO(content)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return 1, 1
