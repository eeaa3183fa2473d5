"""The fake Telegram's in-memory world: chats, messages, files, the update queue, the webhook
and the knobs tests turn (injected failures, delays, blocks, rate limits).

The HTTP server's event loop (its own thread) and the tests (any thread, any loop) all touch
it, so every read and write happens under ``World.lock``. Changes are announced with
``notify()``, which wakes both sync waiters and asyncio waiters on whatever loop they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.fakes.telegram_models import JSON, ApiError, BotMessage, FileRecord, RecordedCall, Upload

T = TypeVar("T")

# Telegram leaves these out unless asked for by name in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
BLOCKED = "Forbidden: bot was blocked by the user"


@dataclass
class ChatState:
    """A private chat between the bot and one virtual user."""

    user: JSON
    next_message_id: int = 1
    bot_log: list[BotMessage] = field(default_factory=list)
    bot_messages: dict[int, BotMessage] = field(default_factory=dict)
    user_message_ids: set[int] = field(default_factory=set)
    menu_button: JSON | None = None

    @property
    def chat_id(self) -> int:
        return int(self.user["id"])

    def api(self) -> JSON:
        chat: JSON = {"id": self.user["id"], "type": "private"}
        for key in ("first_name", "last_name", "username"):
            if self.user.get(key):
                chat[key] = self.user[key]
        return chat

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class CallbackState:
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    answer: JSON | None = None


@dataclass
class _Injection:
    method: str
    error: ApiError
    chat_id: int | str | None
    remaining: int


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int


class _SlidingWindow:
    """At most ``limit`` admissions in any 1-second window."""

    __slots__ = ("hits", "limit")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.hits: deque[float] = deque()

    def retry_after(self, now: float) -> int | None:
        """None if one more hit fits, else the whole seconds to wait (Telegram's retry_after)."""
        hits = self.hits
        while hits and hits[0] <= now - 1.0:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + 1.0 - now))
        return None


class World:
    """All of the fake Telegram's state. Hold ``lock`` while reading or changing it."""

    def __init__(self, bot_user: JSON) -> None:
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.bot_user = bot_user
        self.closing = False
        self.updates: deque[JSON] = deque()
        self.last_update_id = 0
        self.allowed_updates: frozenset[str] | None = None
        self.poll_generation = 0
        self.webhook: Webhook | None = None
        self.webhook_attempted_upto = 0
        self.chats: dict[int, ChatState] = {}
        self.blocked: set[int | str] = set()
        self.files: dict[str, FileRecord] = {}
        self.callbacks: dict[str, CallbackState] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.profile: dict[tuple[str, str], str] = {}
        self.default_menu_button: JSON | None = None
        self.recorded: list[RecordedCall] = []
        self.send_counts: Counter[int | str] = Counter()
        self.too_many_requests = 0
        self.problems: list[str] = []
        self._ids = itertools.count(1)
        self._injections: list[_Injection] = []
        self._delays: list[_Delay] = []
        self._global_window: _SlidingWindow | None = None
        self._chat_windows: dict[int | str, _SlidingWindow] = {}
        self._per_chat_limit: float | None = None

    # -- change notification and waiting --------------------------------------------------

    def notify(self) -> None:
        """Wake every waiter; call with ``lock`` held, after changing state."""
        self._cond.notify_all()
        if not self._waiters:
            return
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, event in tuple(self._waiters):
            if event.is_set():
                continue
            if loop is current:
                event.set()
            else:
                try:
                    loop.call_soon_threadsafe(event.set)
                except RuntimeError:  # that loop is closed; its waiter is gone
                    self._waiters.discard((loop, event))

    async def wait_for(self, check: Callable[[], T | None], seconds: float) -> T | None:
        """Await until ``check()`` (run under the lock) is not None, or None on timeout."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        deadline = time.monotonic() + seconds
        with self.lock:
            self._waiters.add(waiter)
        try:
            while True:
                event.clear()
                with self.lock:
                    result = check()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            with self.lock:
                self._waiters.discard(waiter)

    def wait_for_sync(self, check: Callable[[], T | None], seconds: float) -> T | None:
        """Blocking twin of ``wait_for`` for sync tests; never call it on an event loop."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while True:
                result = check()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    # -- updates --------------------------------------------------------------------------

    def enqueue(self, update: JSON) -> int:
        with self.lock:
            self.last_update_id += 1
            update_id = self.last_update_id
            body = {key: value for key, value in update.items() if key != "update_id"}
            self.updates.append({"update_id": update_id, **body})
            self.notify()
            return update_id

    def confirm(self, offset: int) -> None:
        """Drop updates the bot confirmed with getUpdates' ``offset``."""
        if offset < 0:
            while len(self.updates) > -offset:
                self.updates.popleft()
            return
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()

    def _allowed(self, update: JSON) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self.allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self.allowed_updates

    def peek_updates(self, limit: int) -> list[JSON]:
        """The next ``limit`` pending updates; ones of types not allowed are dropped."""
        batch: list[JSON] = []
        dropped = False
        for update in self.updates:
            if not self._allowed(update):
                dropped = True
            elif len(batch) < limit:
                batch.append(update)
            else:
                break
        if dropped:
            self.updates = deque(u for u in self.updates if self._allowed(u))
        return batch

    def webhook_attempted(self, update_id: int, error: str | None) -> None:
        """Book the result of POSTing ``update_id`` to the webhook."""
        self.webhook_attempted_upto = max(self.webhook_attempted_upto, update_id)
        if error is None:
            if self.updates and self.updates[0]["update_id"] == update_id:
                self.updates.popleft()
        elif self.webhook is not None:
            self.webhook.last_error_date = int(time.time())
            self.webhook.last_error_message = error
        self.notify()

    # -- chats, messages, files -----------------------------------------------------------

    def add_user(self, user: JSON) -> ChatState:
        chat = self.chats.get(int(user["id"]))
        if chat is None:
            chat = self.chats[int(user["id"])] = ChatState(user=user)
        return chat

    def chat_for(self, chat_id: Any) -> ChatState:
        """The chat a bot call addresses, or the error Telegram gives for it."""
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked:
            raise ApiError(403, BLOCKED)
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def store_file(self, upload: Upload | None, *, url: str | None = None) -> FileRecord:
        if upload is not None:
            record = FileRecord(
                self.new_id("BQACAgIAAx"), upload.filename, upload.content, upload.mime_type
            )
        else:
            name = url.rsplit("/", 1)[-1] if url else None
            record = FileRecord(self.new_id("BQACAgIAAx"), name, None, None, url=url)
        self.files[record.file_id] = record
        return record

    def new_callback(self, user_id: int, message: BotMessage, data: str | None) -> str:
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        self.callbacks[query_id] = CallbackState(user_id, message.chat_id, message.message_id, data)
        return query_id

    # -- recording ------------------------------------------------------------------------

    def record(
        self, method: str, params: JSON, *, result: Any = None, error: ApiError | None = None
    ) -> None:
        self.recorded.append(
            RecordedCall(
                method=method,
                params=params,
                time=time.monotonic(),
                ok=error is None,
                result=result,
                error_code=error.code if error else None,
                description=error.description if error else None,
            )
        )

    # -- knobs: failures, delays, rate limits ---------------------------------------------

    def add_failure(
        self, method: str, error: ApiError, chat_id: int | str | None, times: int
    ) -> None:
        self._injections.append(_Injection(method.lower(), error, chat_id, times))

    def add_delay(self, method: str, seconds: float, times: int) -> None:
        self._delays.append(_Delay(method.lower(), seconds, times))

    def take_delay(self, method: str) -> float:
        if not self._delays:
            return 0.0
        for delay in self._delays:
            if delay.method in (method.lower(), "*"):
                delay.remaining -= 1
                if delay.remaining <= 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def take_failure(self, method: str, chat_id: Any) -> ApiError | None:
        if not self._injections:
            return None
        for injection in self._injections:
            if injection.method not in (method.lower(), "*"):
                continue
            if injection.chat_id is not None and injection.chat_id != chat_id:
                continue
            injection.remaining -= 1
            if injection.remaining <= 0:
                self._injections.remove(injection)
            return injection.error
        return None

    def set_rate_limit(self, per_second: float | None, per_chat_per_second: float | None) -> None:
        self._global_window = _SlidingWindow(per_second) if per_second else None
        self._per_chat_limit = per_chat_per_second
        self._chat_windows.clear()

    def check_rate(self, chat_id: Any) -> ApiError | None:
        if self._global_window is None and self._per_chat_limit is None:
            return None
        now = time.monotonic()
        windows: list[_SlidingWindow] = []
        if self._global_window is not None:
            windows.append(self._global_window)
        if self._per_chat_limit and isinstance(chat_id, int | str):
            window = self._chat_windows.get(chat_id)
            if window is None:
                window = self._chat_windows[chat_id] = _SlidingWindow(self._per_chat_limit)
            windows.append(window)
        wait = max((w.retry_after(now) or 0 for w in windows), default=0) or None
        if wait is None:
            for window in windows:
                window.hits.append(now)
            return None
        self.too_many_requests += 1
        return ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
