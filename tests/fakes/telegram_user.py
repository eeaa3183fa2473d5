"""A virtual Telegram user chatting with the bot through the fake server.

Tests read like a conversation::

    nino = tg.user(first_name="Nino")
    await nino.send("/start")
    await nino.press("ქართული")
    assert (await nino.reply()).text == "..."
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from tests.fakes.telegram_models import JSON, BotMessage
from tests.fakes.telegram_world import ChatState, World

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegram

WEBHOOK_DELIVERY_TIMEOUT = 10.0


class VirtualUser:
    """One Telegram user in a private chat with the bot. Create with ``FakeTelegram.user``."""

    def __init__(self, tg: FakeTelegram, world: World, chat: ChatState) -> None:
        self.tg = tg
        self._w = world
        self._chat = chat
        self._read = 0  # bot messages already returned by reply()
        self._queries: list[str] = []

    @property
    def id(self) -> int:
        return self._chat.chat_id

    @property
    def chat_id(self) -> int:
        return self._chat.chat_id

    @property
    def first_name(self) -> str:
        return str(self._chat.user["first_name"])

    @property
    def language_code(self) -> str | None:
        code = self._chat.user.get("language_code")
        return str(code) if code else None

    @property
    def api_user(self) -> JSON:
        """This user as a Bot API ``User`` object."""
        return dict(self._chat.user)

    def __repr__(self) -> str:
        return f"<VirtualUser {self.id} {self.first_name!r}>"

    # -- saying things to the bot ---------------------------------------------------------

    async def send(self, text: str) -> int:
        """Send a text message (a leading /command gets its bot_command entity)."""
        content: JSON = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            length = len(command.encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self._send_message(content)

    async def share_contact(
        self, phone: str, user_id: int | None = None, *, first_name: str | None = None
    ) -> int:
        """Share a contact: one's own by default, or another user's with ``user_id``.

        ``phone`` goes out as given; real clients often send it without the leading "+".
        """
        if user_id is None or user_id == self.id:
            user_id, name = self.id, first_name or self.first_name
        else:
            with self._w.lock:
                known = self._w.chats.get(user_id)
            name = first_name or (str(known.user["first_name"]) if known else "Contact")
        contact = {"phone_number": phone, "first_name": name, "user_id": user_id}
        return await self._send_message({"contact": contact})

    async def send_location(self, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send_message({"location": location})

    async def press(self, label: str, *, timeout: float = 5.0) -> str:
        """Press the inline button labelled ``label`` on the newest bot message that has it,
        waiting up to ``timeout`` for it to appear; returns the callback query id."""

        def find() -> tuple[BotMessage, JSON] | None:
            for message in reversed(self._chat.bot_log):
                button = None if message.deleted else message.inline_button(label)
                if button is not None:
                    return message, button
            return None

        message, button = await self.tg.wait_until(
            find, timeout, lambda: self._no_button_text(label, timeout)
        )
        if "callback_data" not in button:
            raise AssertionError(
                f"{self}: button {label!r} on {message!r} is not a callback button: {button}"
            )
        return await self._callback(message, str(button["callback_data"]))

    async def press_data(self, data: str, *, message: BotMessage | None = None) -> str:
        """Send a callback query with ``data`` (even data no button carries, e.g. stale or
        forged) on ``message``, else on the newest message with a button carrying it, else on
        the newest message with an inline keyboard."""
        if message is None:
            with self._w.lock:
                live = [m for m in reversed(self._chat.bot_log) if not m.deleted]
                message = next((m for m in live if m.inline_button_with_data(data)), None)
                message = message or next((m for m in live if m.has_inline_keyboard), None)
            if message is None:
                raise AssertionError(f"{self}: no bot message with an inline keyboard to press")
        return await self._callback(message, data)

    async def vote(self, *options: str, timeout: float = 5.0) -> int:
        """Vote in the newest poll the bot sent; sends ``poll`` and (non-anonymous)
        ``poll_answer`` updates. Returns the update_id of the last one."""

        def find() -> BotMessage | None:
            return next((m for m in reversed(self._chat.bot_log) if m.poll and not m.deleted), None)

        message = await self.tg.wait_until(find, timeout, f"a poll sent to {self}")
        with self._w.lock:
            poll = message.poll
            assert poll is not None
            texts = [option["text"] for option in poll["options"]]
            missing = [o for o in options if o not in texts]
            if missing or poll["is_closed"]:
                raise AssertionError(f"{self}: can't vote {missing or options} in poll {poll}")
            option_ids = [texts.index(o) for o in options]
            for option_id in option_ids:
                poll["options"][option_id]["voter_count"] += 1
            poll["total_voter_count"] += 1
            update_id = self._w.enqueue({"poll": copy.deepcopy(poll)})  # later votes change it
            if not poll["is_anonymous"]:
                answer = {
                    "poll_id": poll["id"],
                    "user": self.api_user,
                    "option_ids": option_ids,
                    "option_persistent_ids": [
                        poll["options"][i]["persistent_id"] for i in option_ids
                    ],
                }
                update_id = self._w.enqueue({"poll_answer": answer})
        await self._await_webhook(update_id)
        return update_id

    async def block_bot(self) -> int:
        """Block the bot: a ``my_chat_member`` update (member -> kicked), sends get 403."""
        with self._w.lock:
            self._w.blocked.add(self.id)
            update_id = self._w.enqueue(self._membership("member", "kicked"))
        await self._await_webhook(update_id)
        return update_id

    async def unblock_bot(self) -> int:
        """Unblock the bot: a ``my_chat_member`` update (kicked -> member)."""
        with self._w.lock:
            self._w.blocked.discard(self.id)
            update_id = self._w.enqueue(self._membership("kicked", "member"))
        await self._await_webhook(update_id)
        return update_id

    def _membership(self, old: str, new: str) -> JSON:
        def member(status: str) -> JSON:
            extra: JSON = {"until_date": 0} if status == "kicked" else {}
            return {"user": self._w.bot_user, "status": status, **extra}

        return {
            "my_chat_member": {
                "chat": self._chat.api(),
                "from": self.api_user,
                "date": int(time.time()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            }
        }

    async def _send_message(self, content: JSON) -> int:
        with self._w.lock:
            message_id = self._chat.take_message_id()
            self._chat.user_message_ids.add(message_id)
            message = {
                "message_id": message_id,
                "from": self.api_user,
                "chat": self._chat.api(),
                "date": int(time.time()),
                **content,
            }
            update_id = self._w.enqueue({"message": message})
        await self._await_webhook(update_id)
        return update_id

    async def _callback(self, message: BotMessage, data: str) -> str:
        with self._w.lock:
            query_id = self._w.new_callback(self.id, message, data)
            self._queries.append(query_id)
            query = {
                "id": query_id,
                "from": self.api_user,
                "message": message.to_api(self._chat.api(), self._w.bot_user),
                "chat_instance": str(self.id * 31 + 7),
                "data": data,
            }
            update_id = self._w.enqueue({"callback_query": query})
        await self._await_webhook(update_id)
        return query_id

    async def _await_webhook(self, update_id: int) -> None:
        """With a webhook set, return only after the update was POSTed to it."""

        def delivered() -> bool:
            w = self._w
            return w.webhook is None or w.closing or w.webhook_attempted_upto >= update_id

        with self._w.lock:
            if self._w.webhook is None:
                return
        await self.tg.wait_until(
            delivered, WEBHOOK_DELIVERY_TIMEOUT, f"update {update_id} to be POSTed to the webhook"
        )

    # -- what the bot said ----------------------------------------------------------------

    async def reply(self, timeout: float = 5.0) -> BotMessage:
        """The next bot message to this user not yet returned by ``reply``; waits for it."""

        def unread() -> BotMessage | None:
            log = self._chat.bot_log
            return log[self._read] if self._read < len(log) else None

        message = await self.tg.wait_until(
            unread, timeout, lambda: self._inbox_text("new bot message", timeout)
        )
        self._read += 1
        return message

    async def replies(self, n: int, timeout: float = 5.0) -> list[BotMessage]:
        """The next ``n`` bot messages (``timeout`` is for all of them together)."""
        deadline = time.monotonic() + timeout
        received: list[BotMessage] = []
        for _ in range(n):
            remaining = max(deadline - time.monotonic(), 0.0)
            try:
                received.append(await self.reply(timeout=remaining))
            except AssertionError as exc:
                raise AssertionError(f"got {len(received)} of {n} replies. {exc}") from None
        return received

    def skip_unread(self) -> None:
        """Mark every bot message so far as read, so ``reply`` waits for a new one."""
        with self._w.lock:
            self._read = len(self._chat.bot_log)

    @property
    def inbox(self) -> list[BotMessage]:
        """The bot's messages in this chat, oldest first, without deleted ones."""
        with self._w.lock:
            return [m for m in self._chat.bot_log if not m.deleted]

    def last(self) -> BotMessage:
        """The newest (not deleted) bot message; AssertionError if there is none."""
        inbox = self.inbox
        if not inbox:
            raise AssertionError(f"{self} has no messages from the bot")
        return inbox[-1]

    def texts(self) -> list[str]:
        """Texts (captions for media) of the inbox, oldest first."""
        return [m.body for m in self.inbox]

    def buttons(self, message: BotMessage | None = None) -> list[list[str]]:
        """Button labels of ``message`` (default: the newest bot message), row by row."""
        return (message or self.last()).buttons

    @property
    def callback_answers(self) -> list[JSON | None]:
        """The bot's answerCallbackQuery for each press, in order (None = unanswered)."""
        return [self.tg.callback_answer(query_id) for query_id in self._queries]

    def _inbox_text(self, waiting_for: str, timeout: float) -> str:
        lines = [f"{self}: no {waiting_for} within {timeout}s."]
        log = self._chat.bot_log
        lines.append("Bot messages so far (> = unread):" if log else "The bot sent nothing.")
        for index, message in enumerate(log):
            mark = ">" if index >= self._read else " "
            lines.append(f" {mark} {_describe(message)}")
        failed = [c for c in self._w.recorded if not c.ok and c.chat_id == self.id]
        if failed:
            lines.append("Rejected bot calls to this chat:")
            lines += [f"   {c.method}: {c.error_code} {c.description}" for c in failed[-5:]]
        return "\n".join(lines)

    def _no_button_text(self, label: str, timeout: float) -> str:
        lines = [f"{self}: no inline button {label!r} within {timeout}s."]
        keyboards = [m for m in self._chat.bot_log if m.reply_markup and not m.deleted][-5:]
        lines += [f"   {_describe(m)}" for m in keyboards] or ["   (no message has buttons)"]
        if any(label in m.labels for m in keyboards if not m.has_inline_keyboard):
            lines.append(f"{label!r} is a reply-keyboard button: use send({label!r}).")
        failed = [c for c in self._w.recorded if not c.ok and c.chat_id == self.id]
        lines += [f"   rejected {c.method}: {c.description}" for c in failed[-3:]]
        return "\n".join(lines)


def _describe(message: BotMessage) -> str:
    parts: list[Any] = [f"#{message.message_id}", message.kind, repr(message.body[:80])]
    if message.buttons:
        parts.append(f"buttons={message.buttons}")
    if message.deleted:
        parts.append("(deleted)")
    return " ".join(str(part) for part in parts)
