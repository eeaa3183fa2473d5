"""Pacing: send under the providers' limits, with answers to members ahead of bulk sends.

One `PriorityPacer` per limit — Telegram's bot-wide flood limit, each SMS provider's
throughput. `await pacer.acquire(priority, key)` returns when the caller may send:

- grants are spaced evenly at `rate` per second (no bursts, so the far side never has a
  reason to answer 429), with a short catch-up when the event loop was late;
- the most urgent waiter goes first (priority 0 = a reply), so a reply waits at most one
  slot behind a running broadcast instead of queueing behind it in one shared bucket;
- `spaced=True` waiters also keep `key_interval` between two sends to the same key (Telegram's
  1 message/s per chat), while other waiters are granted in the meantime;
- an optional sliding window (`window=(30, 1800)`: an Android phone's 30 SMS per 30 min);
- `pause(seconds)` holds every grant after a 429 (Telegram's `retry_after`, Twilio's 20429).

`TelegramLimiter` plugs the pacer into python-telegram-bot, so handler replies and the
delivery engine's sends share one budget, with the replies first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

CATCH_UP = 0.01  # seconds a late grant may be made up (keeps any 1 s window ≤ rate × 1.01)
TELEGRAM_CHAT_INTERVAL = 1.05  # Telegram: about one message per second per chat
# Bot API methods the fake and Telegram do not count against the flood limit.
UNPACED_METHODS = frozenset(
    {"getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "logOut", "close",
     "getFile"}
)  # fmt: skip


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    key: Any = field(compare=False)
    spaced: bool = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class PriorityPacer:
    def __init__(
        self,
        rate: float,
        *,
        key_interval: float = 0.0,
        window: tuple[int, float] | None = None,
        name: str = "pacer",
    ) -> None:
        self.name = name
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.key_interval = key_interval
        self.window = window if window and window[0] > 0 and window[1] > 0 else None
        self.granted = 0
        self.pauses = 0
        self._hits: deque[float] = deque()
        self._waiters: list[_Waiter] = []
        self._next = 0.0
        self._paused_until = 0.0
        self._last_by_key: dict[Any, float] = {}
        self._seq = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def limited(self) -> bool:
        return self.interval > 0 or self.window is not None

    def pause(self, seconds: float) -> None:
        """Hold every grant for `seconds` (the far side said 429)."""
        self.pauses += 1
        self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))
        if self._wakeup is not None:
            self._wakeup.set()

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - time.monotonic())

    async def acquire(self, priority: int = 0, key: Any = None, *, spaced: bool = False) -> None:
        now = time.monotonic()
        spaced = spaced and self.key_interval > 0 and key is not None
        if not self.limited and not spaced and self._paused_until <= now and not self._waiters:
            self._grant_bookkeeping(now, key)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._waiters.append(_Waiter(priority, self._seq, key, spaced, future))
        self._ensure_dispatcher()
        assert self._wakeup is not None
        self._wakeup.set()
        try:
            await future
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            raise

    def _grant_bookkeeping(self, now: float, key: Any) -> None:
        self.granted += 1
        if self.window is not None:
            self._hits.append(now)
        if key is not None and self.key_interval > 0:
            self._last_by_key[key] = now
            if len(self._last_by_key) > 20000:
                cutoff = now - self.key_interval
                self._last_by_key = {k: v for k, v in self._last_by_key.items() if v > cutoff}

    def _ensure_dispatcher(self) -> None:
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self._dispatch(), name=f"pacer-{self.name}"
            )

    def _window_ready(self, now: float) -> float:
        if self.window is None:
            return now
        count, seconds = self.window
        while self._hits and self._hits[0] <= now - seconds:
            self._hits.popleft()
        return now if len(self._hits) < count else self._hits[0] + seconds

    def _pick(self, now: float) -> tuple[_Waiter | None, float]:
        """The most urgent waiter that may go now, or when the next spaced one could."""
        best: _Waiter | None = None
        earliest = float("inf")
        for waiter in self._waiters:
            if waiter.future.done():
                continue
            if waiter.spaced:
                ready = self._last_by_key.get(waiter.key, -1e9) + self.key_interval
                if ready > now:
                    earliest = min(earliest, ready)
                    continue
            if best is None or waiter < best:
                best = waiter
        return best, earliest

    async def _dispatch(self) -> None:
        assert self._wakeup is not None
        wakeup = self._wakeup
        while True:
            self._waiters = [w for w in self._waiters if not w.future.done()]
            if not self._waiters:
                wakeup.clear()
                try:
                    await asyncio.wait_for(wakeup.wait(), timeout=30)
                except TimeoutError:
                    if not self._waiters:
                        return  # idle: a new acquire starts a new dispatcher
                continue
            now = time.monotonic()
            ready_at = max(self._next, self._paused_until, self._window_ready(now))
            if ready_at > now:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    # a pause() may push the time out; new waiters need no earlier wake-up
                    await asyncio.wait_for(wakeup.wait(), timeout=ready_at - now)
                continue
            waiter, earliest = self._pick(now)
            if waiter is None:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=max(0.0, earliest - now))
                continue
            self._waiters.remove(waiter)
            waiter.future.set_result(None)
            if self.interval > 0:
                # Stay on the even schedule; make up only a little lateness (never a burst).
                self._next = max(self._next, now - CATCH_UP) + self.interval
            self._grant_bookkeeping(now, waiter.key)
            await asyncio.sleep(0)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.cancel()
        self._waiters.clear()


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta one day
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True)
class SendArgs:
    """`rate_limit_args` for one Bot API call: how urgent, and per-chat spacing or not."""

    priority: int = 0
    spaced: bool = False
    retries: int = 2  # 429s waited out and retried in place before giving up
    on_grant: Callable[[], None] | None = None  # told when the call really goes out


class TelegramLimiter(BaseRateLimiter[SendArgs]):
    """python-telegram-bot's rate limiter, backed by a PriorityPacer.

    Calls without `rate_limit_args` (handler replies) get priority 0 and no per-chat wait;
    the delivery engine passes `SendArgs(priority=10, spaced=True)` for a broadcast.
    A 429 pauses every call for `retry_after` and retries the same call.
    """

    def __init__(self, rate: float, *, chat_interval: float = TELEGRAM_CHAT_INTERVAL) -> None:
        self.pacer = PriorityPacer(
            rate, key_interval=chat_interval if rate > 0 else 0.0, name="telegram"
        )
        self.throttled = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        await self.pacer.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: SendArgs | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        send = rate_limit_args or SendArgs()
        if endpoint in UNPACED_METHODS:
            return await callback(*args, **kwargs)
        chat = data.get("chat_id")
        attempt = 0
        while True:
            await self.pacer.acquire(send.priority, chat, spaced=send.spaced)
            if send.on_grant is not None:
                send.on_grant()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                self.throttled += 1
                self.pacer.pause(seconds)
                log.warning("telegram 429 on %s: pausing every send for %.1fs", endpoint, seconds)
                attempt += 1
                if attempt > send.retries:
                    raise
