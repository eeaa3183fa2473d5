"""The Bot API methods the fake implements, with Telegram's validation and error texts.

``BotApi.call`` is the single entry point: it applies injected delays and failures, the
rate limit, runs the method and records the call. Methods run under ``World.lock`` (except
the long poll of getUpdates) and must not await.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tests.fakes.telegram_format import render
from tests.fakes.telegram_models import (
    JSON,
    ApiError,
    BotMessage,
    FileRecord,
    Upload,
    bad_request,
)
from tests.fakes.telegram_world import ChatState, Webhook, World

Handler = Callable[["BotApi", JSON], Any]
H = TypeVar("H", bound=Handler)

MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup of the message "
    "are exactly the same as a current content and reply markup of the message"
)
_INLINE_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class MethodSpec:
    name: str
    handler: Handler
    sends: bool  # creates a message: counted by send_count_by_chat
    unthrottled: bool  # polling, webhook and identity calls are not rate limited
    is_async: bool


METHODS: dict[str, MethodSpec] = {}


def api_method(name: str, *, sends: bool = False, unthrottled: bool = False) -> Callable[[H], H]:
    def register(handler: H) -> H:
        spec = MethodSpec(name, handler, sends, unthrottled, inspect.iscoroutinefunction(handler))
        METHODS[name.lower()] = spec
        return handler

    return register


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and (host in LOOPBACK_HOSTS or host.startswith("127."))


class BotApi:
    def __init__(self, world: World) -> None:
        self.w = world

    async def call(self, method: str, params: JSON) -> tuple[int, JSON]:
        """Run one Bot API request; answer ``(http_status, json_body)`` like Telegram."""
        w = self.w
        spec = METHODS.get(method.lower())
        if spec is None:
            with w.lock:
                w.record(method, params, error=ApiError(404, "Not Found"))
                w.notify()
            return 404, ApiError(404, "Not Found").payload()
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = params["chat_id"] = int(chat_id)
        with w.lock:
            delay = w.take_delay(spec.name)
        if delay:
            await asyncio.sleep(delay)
        try:
            with w.lock:
                error = w.take_failure(spec.name, chat_id)
                if error is None and not spec.unthrottled:
                    error = w.check_rate(chat_id)
                if error is not None:
                    raise error
                if not spec.is_async:
                    result = spec.handler(self, params)
                    self._accepted(spec, params, result)
                    return 200, {"ok": True, "result": result}
            result = await spec.handler(self, params)
        except ApiError as error:
            with w.lock:
                w.record(spec.name, params, error=error)
                w.notify()
            return error.code, error.payload()
        with w.lock:
            self._accepted(spec, params, result)
        return 200, {"ok": True, "result": result}

    def _accepted(self, spec: MethodSpec, params: JSON, result: Any) -> None:
        self.w.record(spec.name, params, result=result)
        chat_id = params.get("chat_id")
        if spec.sends and isinstance(chat_id, int | str):
            self.w.send_counts[chat_id] += 1
        self.w.notify()

    # -- identity, lifecycle --------------------------------------------------------------

    @api_method("getMe", unthrottled=True)
    def get_me(self, p: JSON) -> JSON:
        return {
            **self.w.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @api_method("close", unthrottled=True)
    def close(self, p: JSON) -> bool:
        return True

    @api_method("logOut", unthrottled=True)
    def log_out(self, p: JSON) -> bool:
        return True

    # -- updates and webhook --------------------------------------------------------------

    @api_method("getUpdates", unthrottled=True)
    async def get_updates(self, p: JSON) -> list[JSON]:
        w = self.w
        offset = _int(p, "offset")
        limit = min(max(_int(p, "limit") or 100, 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        allowed = p.get("allowed_updates")
        with w.lock:
            if w.webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            w.poll_generation += 1
            generation = w.poll_generation
            if isinstance(allowed, list):
                w.allowed_updates = frozenset(allowed) if allowed else None
            if offset is not None:
                w.confirm(offset)
            w.notify()  # an older long poll, if any, now learns it was superseded

        def ready() -> list[JSON] | None:
            if w.poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if w.webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            if w.closing:
                return []
            return w.peek_updates(limit) or None

        return await w.wait_for(ready, timeout) or []

    @api_method("setWebhook", unthrottled=True)
    def set_webhook(self, p: JSON) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return self.delete_webhook(p)
        if not is_loopback_url(url):
            self.w.problems.append(f"setWebhook to a non-loopback URL was refused: {url}")
            raise bad_request(f"bad webhook: FakeTelegram only delivers to 127.0.0.1, not {url}")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self.w.allowed_updates = frozenset(allowed) if allowed else None
        if p.get("drop_pending_updates"):
            self.w.updates.clear()
        max_connections = _int(p, "max_connections") or 40
        self.w.webhook = Webhook(url, str(secret) if secret else None, max_connections)
        return True

    @api_method("deleteWebhook", unthrottled=True)
    def delete_webhook(self, p: JSON) -> bool:
        self.w.webhook = None
        if p.get("drop_pending_updates"):
            self.w.updates.clear()
        return True

    @api_method("getWebhookInfo", unthrottled=True)
    def get_webhook_info(self, p: JSON) -> JSON:
        hook = self.w.webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.w.updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if self.w.allowed_updates is not None:
                info["allowed_updates"] = sorted(self.w.allowed_updates)
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    # -- sending --------------------------------------------------------------------------

    @api_method("sendMessage", sends=True)
    def send_message(self, p: JSON) -> JSON:
        chat = self.w.chat_for(p.get("chat_id"))
        raw, plain, mode = _text(p, "text", MAX_TEXT)
        return self._post(chat, p, "text", text=plain, raw_text=raw, parse_mode=mode)

    @api_method("sendDocument", sends=True)
    def send_document(self, p: JSON) -> JSON:
        chat = self.w.chat_for(p.get("chat_id"))
        document = self._file(p, "document")
        raw, caption, mode = _caption(p)
        return self._post(
            chat, p, "document", document=document, caption=caption, raw_text=raw, parse_mode=mode
        )

    @api_method("sendPhoto", sends=True)
    def send_photo(self, p: JSON) -> JSON:
        chat = self.w.chat_for(p.get("chat_id"))
        photo = self._file(p, "photo")
        raw, caption, mode = _caption(p)
        return self._post(
            chat, p, "photo", photo=photo, caption=caption, raw_text=raw, parse_mode=mode
        )

    @api_method("sendLocation", sends=True)
    def send_location(self, p: JSON) -> JSON:
        chat = self.w.chat_for(p.get("chat_id"))
        return self._post(chat, p, "location", location=_location(p))

    @api_method("sendVenue", sends=True)
    def send_venue(self, p: JSON) -> JSON:
        chat = self.w.chat_for(p.get("chat_id"))
        venue: JSON = {"location": _location(p)}
        for key in ("title", "address"):
            if not p.get(key):
                raise bad_request(f"venue {key} is empty")
            venue[key] = str(p[key])
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if p.get(key):
                venue[key] = str(p[key])
        return self._post(chat, p, "venue", venue=venue)

    @api_method("sendPoll", sends=True)
    def send_poll(self, p: JSON) -> JSON:
        chat = self.w.chat_for(p.get("chat_id"))
        question = str(p.get("question") or "")
        if not question.strip():
            raise bad_request("poll question must be non-empty")
        if len(question) > 300:
            raise bad_request("poll question length must not exceed 300")
        options = p.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise bad_request("poll must have at least 2 option")
        if len(options) > 12:
            raise bad_request("poll can't have more than 12 options")
        texts = [str(o.get("text", "")) if isinstance(o, dict) else str(o) for o in options]
        if any(not t.strip() or len(t) > 100 for t in texts):
            raise bad_request("poll options length must not exceed 100")
        poll_id = self.w.new_id("5")
        poll: JSON = {
            "id": poll_id,
            "question": question,
            "options": [
                {"text": t, "voter_count": 0, "persistent_id": f"{poll_id}-{i}"}
                for i, t in enumerate(texts)
            ],
            "total_voter_count": 0,
            "is_closed": bool(p.get("is_closed", False)),
            "is_anonymous": bool(p.get("is_anonymous", True)),
            "type": str(p.get("type") or "regular"),
            "allows_multiple_answers": bool(p.get("allows_multiple_answers", False)),
            "allows_revoting": bool(p.get("allows_revoting", False)),
            "members_only": bool(p.get("members_only", False)),
        }
        correct = p.get("correct_option_ids")
        if correct is None and p.get("correct_option_id") is not None:
            correct = [_int(p, "correct_option_id")]
        if isinstance(correct, list):
            poll["correct_option_ids"] = correct
        return self._post(chat, p, "poll", poll=poll)

    @api_method("stopPoll")
    def stop_poll(self, p: JSON) -> JSON:
        chat = self.w.chat_for(p.get("chat_id"))
        message = chat.bot_messages.get(_int(p, "message_id") or 0)
        if message is None or message.poll is None or message.deleted:
            raise bad_request("message with poll to stop not found")
        if message.poll["is_closed"]:
            raise bad_request("poll has already been closed")
        message.poll["is_closed"] = True
        if "reply_markup" in p:
            message.reply_markup = _reply_markup(p)
        return dict(message.poll)

    @api_method("sendChatAction")
    def send_chat_action(self, p: JSON) -> bool:
        self.w.chat_for(p.get("chat_id"))
        if not p.get("action"):
            raise bad_request("wrong parameter action in request")
        return True

    def _post(self, chat: ChatState, p: JSON, kind: str, **content: Any) -> JSON:
        markup = _reply_markup(p)
        _check_reply_target(chat, p)
        message = BotMessage(
            chat_id=chat.chat_id,
            message_id=chat.take_message_id(),
            kind=kind,
            date=int(time.time()),
            params=p,
            reply_markup=markup,
            **content,
        )
        chat.bot_log.append(message)
        chat.bot_messages[message.message_id] = message
        return message.to_api(chat.api(), self.w.bot_user)

    def _file(self, p: JSON, name: str) -> FileRecord:
        value = p.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            if not value.content:
                raise bad_request("file must be non-empty")
            return self.w.store_file(value)
        if isinstance(value, str) and value:
            known = self.w.files.get(value)
            if known is not None:
                return known
            if value.startswith(("http://", "https://")):
                return self.w.store_file(None, url=value)
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {name} in the request")

    # -- editing and deleting -------------------------------------------------------------

    def _message_to_edit(self, p: JSON) -> tuple[ChatState, BotMessage]:
        if p.get("inline_message_id"):
            raise bad_request("message to edit not found")
        chat = self.w.chat_for(p.get("chat_id"))
        message_id = _int(p, "message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.bot_messages.get(message_id)
        if message is None or message.deleted:
            if message_id in chat.user_message_ids:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return chat, message

    def _apply_edit(self, chat: ChatState, message: BotMessage, **changes: Any) -> JSON:
        message.history.append(message.snapshot())
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = int(time.time())
        return message.to_api(chat.api(), self.w.bot_user)

    @api_method("editMessageText")
    def edit_message_text(self, p: JSON) -> JSON:
        chat, message = self._message_to_edit(p)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw, plain, mode = _text(p, "text", MAX_TEXT)
        markup = _inline_markup(p)
        if (raw, plain, markup) == (message.raw_text, message.text, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(
            chat, message, text=plain, raw_text=raw, parse_mode=mode, reply_markup=markup
        )

    @api_method("editMessageCaption")
    def edit_message_caption(self, p: JSON) -> JSON:
        chat, message = self._message_to_edit(p)
        if message.kind not in ("document", "photo"):
            raise bad_request("there is no caption in the message to edit")
        raw, caption, mode = _caption(p)
        markup = _inline_markup(p)
        if (raw, caption, markup) == (message.raw_text, message.caption, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(
            chat, message, caption=caption, raw_text=raw, parse_mode=mode, reply_markup=markup
        )

    @api_method("editMessageReplyMarkup")
    def edit_message_reply_markup(self, p: JSON) -> JSON:
        chat, message = self._message_to_edit(p)
        markup = _inline_markup(p)
        if markup == message.reply_markup or (not markup and not message.has_inline_keyboard):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(chat, message, reply_markup=markup)

    @api_method("deleteMessage")
    def delete_message(self, p: JSON) -> bool:
        chat = self.w.chat_for(p.get("chat_id"))
        message_id = _int(p, "message_id")
        message = chat.bot_messages.get(message_id or 0)
        if message is not None and not message.deleted:
            message.deleted = True
        elif message_id in chat.user_message_ids:
            chat.user_message_ids.discard(message_id)
        else:
            raise bad_request("message to delete not found")
        return True

    @api_method("answerCallbackQuery")
    def answer_callback_query(self, p: JSON) -> bool:
        state = self.w.callbacks.get(str(p.get("callback_query_id") or ""))
        if state is None or state.answer is not None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        answer = {key: p[key] for key in ("text", "show_alert", "url", "cache_time") if key in p}
        state.answer = answer
        return True

    # -- bot settings ---------------------------------------------------------------------

    @api_method("setMyCommands")
    def set_my_commands(self, p: JSON) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an array of at most 100 BotCommand")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.w.commands[_commands_key(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    @api_method("getMyCommands")
    def get_my_commands(self, p: JSON) -> list[JSON]:
        return list(self.w.commands.get(_commands_key(p), []))

    @api_method("deleteMyCommands")
    def delete_my_commands(self, p: JSON) -> bool:
        self.w.commands.pop(_commands_key(p), None)
        return True

    @api_method("setChatMenuButton")
    def set_chat_menu_button(self, p: JSON) -> bool:
        button = p.get("menu_button")
        if button is not None and not isinstance(button, dict):
            raise bad_request("can't parse menu button JSON object")
        if p.get("chat_id") is None:
            self.w.default_menu_button = button
        else:
            self._settings_chat(p).menu_button = button
        return True

    @api_method("getChatMenuButton")
    def get_chat_menu_button(self, p: JSON) -> JSON:
        button = self._settings_chat(p).menu_button if p.get("chat_id") is not None else None
        return button or self.w.default_menu_button or {"type": "default"}

    def _settings_chat(self, p: JSON) -> ChatState:
        chat = self.w.chats.get(p["chat_id"]) if isinstance(p.get("chat_id"), int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _set_profile(self, p: JSON, field: str, limit: int) -> bool:
        value = str(p.get(field) or "")
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        self.w.profile[(field, str(p.get("language_code") or ""))] = value
        return True

    def _get_profile(self, p: JSON, field: str) -> JSON:
        value = self.w.profile.get((field, str(p.get("language_code") or "")))
        if value is None and field == "name":
            value = str(self.w.bot_user["first_name"])
        return {field: value or ""}

    @api_method("setMyName")
    def set_my_name(self, p: JSON) -> bool:
        return self._set_profile(p, "name", 64)

    @api_method("getMyName")
    def get_my_name(self, p: JSON) -> JSON:
        return self._get_profile(p, "name")

    @api_method("setMyDescription")
    def set_my_description(self, p: JSON) -> bool:
        return self._set_profile(p, "description", 512)

    @api_method("getMyDescription")
    def get_my_description(self, p: JSON) -> JSON:
        return self._get_profile(p, "description")

    @api_method("setMyShortDescription")
    def set_my_short_description(self, p: JSON) -> bool:
        return self._set_profile(p, "short_description", 120)

    @api_method("getMyShortDescription")
    def get_my_short_description(self, p: JSON) -> JSON:
        return self._get_profile(p, "short_description")

    @api_method("getFile")
    def get_file(self, p: JSON) -> JSON:
        record = self.w.files.get(str(p.get("file_id") or ""))
        if record is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
            "file_path": record.file_path,
        }


def _int(p: JSON, name: str) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise bad_request(f"field {name!r} must be an Integer") from None


def _float(p: JSON, name: str) -> float:
    try:
        return float(p[name])
    except (KeyError, TypeError, ValueError):
        raise bad_request(f"wrong {name} specified") from None


def _location(p: JSON) -> JSON:
    latitude, longitude = _float(p, "latitude"), _float(p, "longitude")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong location specified")
    return {"latitude": latitude, "longitude": longitude}


def _text(p: JSON, key: str, limit: int) -> tuple[str, str, str | None]:
    """``(as sent, as shown, parse_mode)`` of a message text, validated like Telegram."""
    raw = p.get(key)
    raw = "" if raw is None else str(raw)
    mode = None if p.get("entities") else (str(p["parse_mode"]) if p.get("parse_mode") else None)
    if not raw.strip():
        raise bad_request("message text is empty")
    plain = render(raw, mode)
    if not plain.strip():
        raise bad_request("message text is empty")
    if len(plain) > limit:
        raise bad_request("message is too long")
    return raw, plain, mode


def _caption(p: JSON) -> tuple[str | None, str | None, str | None]:
    raw = p.get("caption")
    if raw is None or raw == "":
        return None, None, None
    mode = None if p.get("caption_entities") else p.get("parse_mode")
    mode = str(mode) if mode else None
    caption = render(str(raw), mode)
    if len(caption) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return str(raw), caption, mode


def _reply_markup(p: JSON) -> JSON | None:
    value = p.get("reply_markup")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        _check_inline_keyboard(value["inline_keyboard"])
    elif "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
    return value


def _inline_markup(p: JSON) -> JSON | None:
    markup = _reply_markup(p)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be non-empty')
        if not _INLINE_ACTIONS.intersection(button):
            raise bad_request(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )
        data = button.get("callback_data")
        if data is not None and not (isinstance(data, str) and 1 <= len(data.encode()) <= 64):
            raise bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and urlsplit(str(url)).scheme not in ("http", "https", "tg", "ton"):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _check_reply_target(chat: ChatState, p: JSON) -> None:
    target = p.get("reply_parameters")
    if isinstance(target, dict):
        message_id, lenient = target.get("message_id"), target.get("allow_sending_without_reply")
    else:
        message_id, lenient = _int(p, "reply_to_message_id"), p.get("allow_sending_without_reply")
    if message_id is None or lenient:
        return
    bot_message = chat.bot_messages.get(message_id)
    exists = (bot_message is not None and not bot_message.deleted) or (
        message_id in chat.user_message_ids
    )
    if not exists:
        raise bad_request("message to be replied not found")


def _commands_key(p: JSON) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")
