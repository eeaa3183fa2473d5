"""A fake Telegram Bot API server for tests, spoken to by the real python-telegram-bot stack.

    with FakeTelegram() as tg:
        app = Application.builder().token(tg.token).base_url(tg.base_url).build()
        ...  # add handlers, start the app and its long polling
        nino = tg.user(first_name="Nino")
        await nino.send("/start")
        assert "გამარჯობა" in (await nino.reply()).text
        await nino.press("ქართული")

The server (Starlette on uvicorn) runs in a background thread with its own event loop on
127.0.0.1, so async tests, sync tests and a separate ``lagbot run`` process can all use it.
It only ever connects to loopback addresses (webhook delivery).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import traceback
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, NamedTuple, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.telegram_methods import BotApi
from tests.fakes.telegram_models import JSON, ApiError, BotMessage, FileRecord, RecordedCall, Upload
from tests.fakes.telegram_user import VirtualUser
from tests.fakes.telegram_world import BLOCKED, World

T = TypeVar("T")

DEFAULT_TOKEN = "123456:TEST"
# Form fields PTB sends as plain strings; every other field is JSON-encoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "question",
        "explanation",
        "title",
        "address",
        "description",
        "short_description",
        "name",
        "data",
        "url",
        "secret_token",
        "ip_address",
        "parse_mode",
        "caption_parse_mode",
        "question_parse_mode",
        "explanation_parse_mode",
        "language_code",
        "action",
        "emoji",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "file_id",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
    }
)


class FakeTelegram:
    """A Bot API server on 127.0.0.1 plus the virtual users who talk to the bot."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "lagbot_test_bot",
        bot_name: str = "LAG Bot",
        webhook_retry_delay: float = 0.1,
    ) -> None:
        bot_id = token.split(":", 1)[0]
        self.token = token
        self.bot_user: JSON = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.webhook_retry_delay = webhook_retry_delay
        self._world = World(self.bot_user)
        self._api = BotApi(self._world)
        self._users: dict[int, VirtualUser] = {}
        self._next_user_id = 1001
        self._delivery: asyncio.Task[None] | None = None  # on the server's loop
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file_endpoint, methods=["GET"]),
            ]
        )
        self._server = _ServerThread(app)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        self._server.start()
        return self

    def stop(self, *, raise_problems: bool = True) -> None:
        """Stop the server; raise AssertionError if the fake saw harness problems."""
        with self._world.lock:
            self._world.closing = True  # long polls answer [] at once instead of lingering
            self._world.notify()
        self._server.stop()
        if raise_problems and self._world.problems:
            raise AssertionError("FakeTelegram problems:\n" + "\n".join(self._world.problems))

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(raise_problems=exc_type is None)

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``/``ApplicationBuilder.base_url``: PTB appends the token."""
        return f"{self._server.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._server.url}/file/bot"

    # -- HTTP -----------------------------------------------------------------------------

    async def _api_endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _json(401, ApiError(401, "Unauthorized").payload())
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _json(400, ApiError(400, f"Bad Request: {exc}").payload())
        try:
            method = str(request.path_params["method"])
            status, body = await self._api.call(method, params)
            if method.lower() == "setwebhook":
                self._deliver_while_webhook_set()
        except Exception:
            # A bug in the fake itself: answer like a server error, fail the test at stop().
            with self._world.lock:
                self._world.problems.append(traceback.format_exc())
            return _json(500, ApiError(500, "Internal Server Error").payload())
        return _json(status, body)

    async def _file_endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _json(401, ApiError(401, "Unauthorized").payload())
        parts = str(request.path_params["path"]).split("/")
        with self._world.lock:
            record = self._world.files.get(parts[1]) if len(parts) > 1 else None
        if record is None or record.content is None:
            return _json(404, ApiError(404, "Not Found").payload())
        return Response(record.content, media_type=record.mime_type or "application/octet-stream")

    def _deliver_while_webhook_set(self) -> None:
        with self._world.lock:
            webhook_set = self._world.webhook is not None
        if webhook_set and (self._delivery is None or self._delivery.done()):
            self._delivery = asyncio.create_task(self._deliver_webhooks())

    async def _deliver_webhooks(self) -> None:
        """POST pending updates to the webhook one at a time, in order, like Telegram."""
        world = self._world

        def next_job() -> _Delivery | Literal[False] | None:
            if world.closing or world.webhook is None:
                return False
            batch = world.peek_updates(1)
            return (
                _Delivery(world.webhook.url, world.webhook.secret_token, batch[0])
                if batch
                else None
            )

        client: httpx.AsyncClient | None = None  # made lazily: it costs ~40 ms (TLS setup)
        try:
            while True:
                job: _Delivery | Literal[False] | None = await world.wait_for(next_job, 1.0)
                if job is False:
                    return
                if job is None:
                    continue
                if client is None:
                    client = httpx.AsyncClient(trust_env=False, timeout=10.0)
                error = await _post_update(client, job)
                with world.lock:
                    world.webhook_attempted(job.update["update_id"], error)
                if error is not None:
                    await asyncio.sleep(self.webhook_retry_delay)
        finally:
            if client is not None:
                await client.aclose()

    # -- virtual users and updates --------------------------------------------------------

    def user(
        self,
        user_id: int | None = None,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ka",
    ) -> VirtualUser:
        """The virtual user with this id, created on first use (ids from 1001 if omitted)."""
        with self._world.lock:
            if user_id is None:
                user_id = self._next_user_id
            self._next_user_id = max(self._next_user_id, user_id + 1)
            existing = self._users.get(user_id)
            if existing is not None:
                return existing
            api_user: JSON = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name or f"User{user_id}",
            }
            if last_name:
                api_user["last_name"] = last_name
            if username:
                api_user["username"] = username
            if language_code:
                api_user["language_code"] = language_code
            chat = self._world.add_user(api_user)
            user = self._users[user_id] = VirtualUser(self, self._world, chat)
            return user

    def users(self) -> list[VirtualUser]:
        with self._world.lock:
            return list(self._users.values())

    def enqueue_update(self, update: JSON) -> int:
        """Queue a raw update (any ``update_id`` in it is replaced); returns its update_id."""
        return self._world.enqueue(update)

    def pending_updates(self) -> list[JSON]:
        with self._world.lock:
            return list(self._world.updates)

    # -- error injection ------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any) fail with this error."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _default_description(error_code, retry_after)
        error = ApiError(error_code, description, retry_after=retry_after)
        with self._world.lock:
            self._world.add_failure(method, error, chat_id, times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before handling them.

        The call still takes effect afterwards, as on Telegram when the client timed out.
        """
        with self._world.lock:
            self._world.add_delay(method, seconds, times)

    def block(self, chat_id: int | str) -> None:
        """Every call addressed to ``chat_id`` now gets 403 "bot was blocked by the user"."""
        with self._world.lock:
            self._world.blocked.add(chat_id)

    def unblock(self, chat_id: int | str) -> None:
        with self._world.lock:
            self._world.blocked.discard(chat_id)

    def set_rate_limit(
        self, per_second: float | None = 300, per_chat_per_second: float | None = None
    ) -> None:
        """Answer 429 with retry_after above these rates (sliding 1 s window); None = off."""
        with self._world.lock:
            self._world.set_rate_limit(per_second, per_chat_per_second)

    # -- what the bot did -----------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[BotMessage]:
        """The bot's messages to ``chat_id`` in order, edits applied, deleted ones flagged."""
        with self._world.lock:
            chat = self._world.chats.get(chat_id)
            return list(chat.bot_log) if chat else []

    def calls(
        self, method: str | None = None, *, include_rejected: bool = False
    ) -> list[RecordedCall]:
        with self._world.lock:
            return [
                call
                for call in self._world.recorded
                if (method is None or call.method.lower() == method.lower())
                and (call.ok or include_rejected)
            ]

    def send_count_by_chat(self) -> dict[int | str, int]:
        """How many messages the bot successfully sent to each chat."""
        with self._world.lock:
            return dict(self._world.send_counts)

    @property
    def too_many_requests(self) -> int:
        """How many 429 answers the rate limit gave."""
        with self._world.lock:
            return self._world.too_many_requests

    @property
    def webhook_url(self) -> str | None:
        with self._world.lock:
            return self._world.webhook.url if self._world.webhook else None

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        key = json.dumps(scope or {"type": "default"}, sort_keys=True), language_code
        with self._world.lock:
            return list(self._world.commands.get(key, []))

    def menu_button(self, chat_id: int | None = None) -> JSON | None:
        with self._world.lock:
            chat = self._world.chats.get(chat_id) if chat_id is not None else None
            return chat.menu_button if chat else self._world.default_menu_button

    def callback_answer(self, query_id: str) -> JSON | None:
        """What the bot answered to a callback query (None while unanswered)."""
        with self._world.lock:
            state = self._world.callbacks.get(query_id)
            return state.answer if state else None

    def file(self, file_id: str) -> FileRecord:
        with self._world.lock:
            return self._world.files[file_id]

    @property
    def problems(self) -> list[str]:
        """Harness misuse seen by the server (e.g. a non-loopback webhook, a fake bug)."""
        with self._world.lock:
            return list(self._world.problems)

    # -- waiting --------------------------------------------------------------------------

    async def wait_until(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,
        message: str | Callable[[], str] = "a condition",
    ) -> T:
        """Await until ``predicate()`` returns something truthy, and return that.

        ``predicate`` runs under the fake's lock whenever its state changes; while it raises
        AssertionError it counts as not ready. ``message`` (or what it returns) becomes the
        AssertionError text on timeout.
        """
        result = await self._world.wait_for(_ready(predicate), timeout)
        if result is None:
            raise AssertionError(self._timeout_text(message, timeout))
        return result

    def wait_until_sync(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,
        message: str | Callable[[], str] = "a condition",
    ) -> T:
        """Blocking ``wait_until`` for sync tests (e.g. driving a ``lagbot run`` process)."""
        result = self._world.wait_for_sync(_ready(predicate), timeout)
        if result is None:
            raise AssertionError(self._timeout_text(message, timeout))
        return result

    def _timeout_text(self, message: str | Callable[[], str], timeout: float) -> str:
        if callable(message):
            with self._world.lock:
                return message()
        return f"timed out after {timeout}s waiting for {message}"


class _ServerThread:
    """uvicorn on 127.0.0.1:<free port> in a daemon thread that owns its event loop.

    Not ``tests.fakes._server.BackgroundServer``: that one listens on a socket made with
    proto 0, so asyncio does not set TCP_NODELAY on accepted connections and every answer
    waits ~40 ms for a delayed ACK (Nagle) - too slow for the benchmarks this fake serves.
    """

    def __init__(self, app: Starlette) -> None:
        self._app = app
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started; call start() first")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("FakeTelegram is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self._app,
            loop="asyncio",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = self._server = _Server(config)
        thread = self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-telegram", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("FakeTelegram did not start")
            time.sleep(0.002)

    def stop(self) -> None:
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=10)


class _Server(uvicorn.Server):
    """uvicorn's server, but stopping at once instead of at its next 0.1 s tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit = asyncio.Event()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.on_tick(0)  # sets the default response headers
        if not self.should_exit:
            await self._exit.wait()

    def request_exit(self) -> None:
        self.should_exit = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._exit.set)


class _Delivery(NamedTuple):
    url: str
    secret_token: str | None
    update: JSON


def _ready(predicate: Callable[[], T | None]) -> Callable[[], T | None]:
    # An AssertionError means "not yet" (e.g. ``u.last()`` before the bot said anything).
    def check() -> T | None:
        try:
            result = predicate()
        except AssertionError:
            return None
        return result or None

    return check


def _default_description(code: int, retry_after: int | None) -> str:
    if code == 429:
        return f"Too Many Requests: retry after {retry_after}"
    if code == 403:
        return BLOCKED
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        return f"Error {code}"
    return phrase if code >= 500 else f"{phrase}: injected failure"


def _json(status: int, body: JSON) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status_code=status, media_type="application/json"
    )


async def _read_params(request: Request) -> JSON:
    """Bot API parameters from the query string and a form, multipart or JSON body."""
    params: JSON = {key: _decode(key, value) for key, value in request.query_params.items()}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        if body:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            params.update(data)
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    params[key] = Upload(value.filename, await value.read(), value.content_type)
                else:
                    params[key] = _decode(key, value)
    return params


def _decode(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _post_update(client: httpx.AsyncClient, job: _Delivery) -> str | None:
    """POST one update to the webhook; the error Telegram would report, or None."""
    headers = {"Content-Type": "application/json"}
    if job.secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = job.secret_token
    body = json.dumps(job.update).encode()
    try:
        response = await client.post(job.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"Connection failed: {exc.__class__.__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
