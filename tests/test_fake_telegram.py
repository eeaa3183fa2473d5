"""The fake Telegram server works with the real python-telegram-bot HTTP stack."""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeAlias

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_format import render
from tests.fakes.telegram_models import ApiError

App: TypeAlias = "Application[Any, Any, Any, Any, Any, Any]"

# PTB 22 warns whenever a RetryAfter is built; the int form is fine for these tests.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

LIKE = InlineKeyboardMarkup([[InlineKeyboardButton("👍 მომწონს", callback_data="like")]])


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def ptb(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """A bare PTB ``Bot`` (no Application) talking to the fake."""
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        yield client


@pytest.fixture
async def app(tg: FakeTelegram) -> AsyncIterator[App]:
    """A real PTB application in long polling: /start greets, text is echoed with a button."""
    application = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    events: list[str] = application.bot_data.setdefault("events", [])

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user and update.effective_message
        await update.effective_message.reply_text(f"გამარჯობა, {update.effective_user.first_name}!")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message
        text = update.effective_message.text
        await update.effective_message.reply_text(f"echo: {text}", reply_markup=LIKE)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        message = update.effective_message
        assert query and message
        events.append(f"callback {query.data} on {message.message_id}")
        await query.answer("მადლობა")
        await query.edit_message_text(f"{message.text} ✓")

    async def membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member
        events.append(f"member {update.my_chat_member.new_chat_member.status}")

    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER))
    async with application:
        await application.start()
        assert application.updater
        await application.updater.start_polling(timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


# -- conversations with a real PTB Application ---------------------------------------------


async def test_user_sends_text_and_gets_the_echo(tg: FakeTelegram, app: App) -> None:
    nino = tg.user(first_name="Nino")

    await nino.send("გამარჯობა")

    answer = await nino.reply()
    assert answer.text == "echo: გამარჯობა"
    assert answer.buttons == [["👍 მომწონს"]]


async def test_start_command_reaches_the_command_handler(
    tg: FakeTelegram,
    app: App,
) -> None:
    giorgi = tg.user(first_name="Giorgi")

    await giorgi.send("/start")

    assert (await giorgi.reply()).text == "გამარჯობა, Giorgi!"
    assert giorgi.texts() == ["გამარჯობა, Giorgi!"]


async def test_pressing_a_button_delivers_a_callback_query(
    tg: FakeTelegram,
    app: App,
) -> None:
    nino = tg.user(first_name="Nino")
    await nino.send("კითხვა")
    question = await nino.reply()

    query_id = await nino.press("👍 მომწონს")

    await tg.wait_until(lambda: question.edit_date is not None, message="the edit")
    assert question.text == "echo: კითხვა ✓"
    assert question.buttons == []  # editMessageText without reply_markup drops the keyboard
    assert tg.callback_answer(query_id) == {"text": "მადლობა"}
    assert app.bot_data["events"] == [f"callback like on {question.message_id}"]


async def test_pressing_a_missing_label_lists_the_buttons_present(
    tg: FakeTelegram,
    app: App,
) -> None:
    nino = tg.user()
    await nino.send("hi")
    await nino.reply()

    with pytest.raises(AssertionError, match=r"(?s)no inline button 'English'.*👍 მომწონს"):
        await nino.press("English", timeout=0.2)


async def test_blocking_the_bot_sends_my_chat_member_and_forbids_sending(
    tg: FakeTelegram,
    app: App,
) -> None:
    nino = tg.user()

    await nino.block_bot()

    await tg.wait_until(lambda: "member kicked" in app.bot_data["events"])
    with pytest.raises(Forbidden, match=r"bot was blocked by the user"):
        await app.bot.send_message(nino.id, "are you there?")

    await nino.unblock_bot()

    await tg.wait_until(lambda: "member member" in app.bot_data["events"])
    await app.bot.send_message(nino.id, "welcome back")
    assert (await nino.reply()).text == "welcome back"


async def test_reply_timeout_shows_what_was_received(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()
    await ptb.send_message(nino.id, "first")
    await nino.reply()

    with pytest.raises(AssertionError, match=r"(?s)no new bot message.*'first'"):
        await nino.reply(timeout=0.1)


# -- Telegram's validation -----------------------------------------------------------------


async def test_callback_data_is_limited_to_64_utf8_bytes(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data=data)]])

    await ptb.send_message(nino.id, "fits", reply_markup=keyboard("x" * 64))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await ptb.send_message(nino.id, "too long", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):  # 22 letters, 66 bytes
        await ptb.send_message(nino.id, "too long", reply_markup=keyboard("ა" * 22))
    assert [m.text for m in tg.sent_to(nino.id)] == ["fits"]


async def test_message_text_rules(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()

    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await ptb.send_message(nino.id, "   ")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await ptb.send_message(nino.id, "ა" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await ptb.send_message(424242, "hello")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag"):
        await ptb.send_message(nino.id, "<div>hi</div>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await ptb.send_message(nino.id, "*დიახ*.", parse_mode="MarkdownV2")

    sent = await ptb.send_message(nino.id, "ა" * 4096)
    html = await ptb.send_message(nino.id, "<b>შეხვედრა</b> &amp; კრება", parse_mode="HTML")
    assert len(sent.text or "") == 4096
    assert html.text == "შეხვედრა & კრება"
    assert tg.sent_to(nino.id)[-1].raw_text == "<b>შეხვედრა</b> &amp; კრება"


async def test_edits_follow_telegram_rules(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()
    sent = await ptb.send_message(nino.id, "v1", reply_markup=LIKE)

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await ptb.edit_message_text("v1", nino.id, sent.message_id, reply_markup=LIKE)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await ptb.edit_message_text("v2", nino.id, 999)

    await ptb.edit_message_text("v2", nino.id, sent.message_id, reply_markup=LIKE)
    await ptb.edit_message_reply_markup(nino.id, sent.message_id, reply_markup=None)
    await ptb.delete_message(nino.id, sent.message_id)

    [message] = tg.sent_to(nino.id)
    assert (message.text, message.reply_markup, message.deleted) == ("v2", None, True)
    assert [version["text"] for version in message.history] == ["v1", "v2"]
    assert nino.inbox == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await ptb.delete_message(nino.id, sent.message_id)


@pytest.mark.parametrize(
    ("text", "parse_mode", "shown"),
    [
        ("<b>a</b> &lt;3 &amp; <i>b</i>", "HTML", "a <3 & b"),
        ('<a href="https://lag.ge">LAG</a>', "HTML", "LAG"),
        (
            "*b* _i_ __u__ ~s~ ||x|| `c` [l](https://lag.ge) 1\\.5",
            "MarkdownV2",
            "b i u s x c l 1.5",
        ),
        ("*b* snake\\_case", "Markdown", "b snake_case"),
    ],
)
def test_parse_modes_render_what_the_user_sees(text: str, parse_mode: str, shown: str) -> None:
    assert render(text, parse_mode) == shown


@pytest.mark.parametrize(
    ("text", "parse_mode", "error"),
    [
        ("<b>a<i>b</b></i>", "HTML", "Unmatched end tag"),
        ("<b>open", "HTML", 'Can\'t find end tag corresponding to start tag "b"'),
        ("line<br>break", "HTML", 'Unsupported start tag "br"'),
        ("1-2", "MarkdownV2", "Character '-' is reserved"),
        ("*open", "MarkdownV2", "Can't find end of Bold entity"),
        ("*open", "Markdown", "Can't find end of the entity"),
    ],
)
def test_malformed_markup_is_refused(text: str, parse_mode: str, error: str) -> None:
    with pytest.raises(ApiError) as refused:
        render(text, parse_mode)
    assert refused.value.description.startswith("Bad Request: can't parse entities: ")
    assert error in refused.value.description


# -- injected failures ---------------------------------------------------------------------


async def test_injected_429_surfaces_as_retry_after(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()
    tg.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(RetryAfter) as raised:
        await ptb.send_message(nino.id, "hi")
    await ptb.send_message(nino.id, "hi again")

    retry_after = raised.value.retry_after
    seconds = retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after
    assert seconds == 7
    assert [m.text for m in nino.inbox] == ["hi again"]
    assert [c.ok for c in tg.calls("sendMessage", include_rejected=True)] == [False, True]


async def test_injected_server_error_only_for_the_chosen_chat(tg: FakeTelegram, ptb: Bot) -> None:
    nino, giorgi = tg.user(), tg.user()
    tg.fail_next("sendMessage", 502, chat_id=giorgi.id)

    await ptb.send_message(nino.id, "fine")
    with pytest.raises(NetworkError, match=r"Bad Gateway"):
        await ptb.send_message(giorgi.id, "boom")

    assert tg.send_count_by_chat() == {nino.id: 1}


async def test_delay_makes_the_client_time_out_but_the_message_still_arrives(
    tg: FakeTelegram,
) -> None:
    nino = tg.user()
    tg.delay_next("sendMessage", 0.5)
    request = HTTPXRequest(read_timeout=0.1)
    async with Bot(tg.token, base_url=tg.base_url, request=request) as slow_client:
        with pytest.raises(TimedOut):
            await slow_client.send_message(nino.id, "slow")

    assert (await nino.reply(timeout=2)).text == "slow"


async def test_blocked_chat_gets_403(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()
    tg.block(nino.id)

    with pytest.raises(Forbidden, match=r"bot was blocked by the user"):
        await ptb.send_message(nino.id, "hi")

    tg.unblock(nino.id)
    await ptb.send_message(nino.id, "hi")


async def test_rate_limit_answers_429_over_the_limit(tg: FakeTelegram, ptb: Bot) -> None:
    users = [tg.user() for _ in range(8)]
    tg.set_rate_limit(per_second=5)

    results = await asyncio.gather(
        *(ptb.send_message(u.id, "news") for u in users), return_exceptions=True
    )

    assert sum(isinstance(r, RetryAfter) for r in results) == 3
    assert tg.too_many_requests == 3
    assert sum(tg.send_count_by_chat().values()) == 5


async def test_per_chat_rate_limit(tg: FakeTelegram, ptb: Bot) -> None:
    nino, giorgi = tg.user(), tg.user()
    tg.set_rate_limit(per_second=None, per_chat_per_second=1)

    await ptb.send_message(nino.id, "1")
    await ptb.send_message(giorgi.id, "1")
    with pytest.raises(RetryAfter):
        await ptb.send_message(nino.id, "2")


# -- files, polls, places, settings --------------------------------------------------------


async def test_send_document_keeps_filename_and_bytes(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()
    pdf = b"%PDF-1.4 protocol of the LAG meeting\x00\xff"

    sent = await ptb.send_document(nino.id, pdf, filename="ოქმი.pdf", caption="ოქმი")

    message = await nino.reply()
    assert message.document is not None
    assert (message.document.filename, message.document.content) == ("ოქმი.pdf", pdf)
    assert message.caption == "ოქმი"
    assert sent.document is not None
    downloaded = await (await ptb.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == pdf


async def test_location_venue_and_poll(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()

    await ptb.send_location(nino.id, 41.82, 46.28)
    await ptb.send_venue(nino.id, 41.82, 46.28, "LAG office", "Lagodekhi, Rustaveli 1")
    poll = await ptb.send_poll(nino.id, "When?", ["Monday", "Friday"], is_anonymous=False)
    await nino.vote("Friday")
    closed = await ptb.stop_poll(nino.id, poll.message_id)

    location, venue, sent_poll = await nino.replies(3)
    assert location.location == {"latitude": 41.82, "longitude": 46.28}
    assert venue.venue is not None and venue.venue["title"] == "LAG office"
    assert sent_poll.poll is not None and sent_poll.poll["is_closed"]
    assert [o.voter_count for o in closed.options] == [0, 1]
    answers = await ptb.get_updates(allowed_updates=["poll_answer"])
    assert [a.poll_answer.option_ids for a in answers if a.poll_answer] == [(1,)]


async def test_commands_are_kept_per_scope_and_language(tg: FakeTelegram, ptb: Bot) -> None:
    from telegram import BotCommand, BotCommandScopeAllPrivateChats

    private = BotCommandScopeAllPrivateChats()
    await ptb.set_my_commands([BotCommand("start", "Start")])
    await ptb.set_my_commands([BotCommand("start", "დაწყება")], private, language_code="ka")

    assert tg.commands() == [{"command": "start", "description": "Start"}]
    assert tg.commands({"type": "all_private_chats"}, "ka")[0]["description"] == "დაწყება"
    assert (await ptb.get_my_commands(private, language_code="ka"))[0].description == "დაწყება"
    await ptb.delete_my_commands()
    assert await ptb.get_my_commands() == ()


# -- webhook -------------------------------------------------------------------------------


async def test_webhook_mode_posts_updates_with_the_secret(tg: FakeTelegram, ptb: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: Request) -> Response:
        secret = request.headers.get("x-telegram-bot-api-secret-token")
        received.append((secret, await request.json()))
        return Response()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(receiver, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        await ptb.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="lag-s3cret")
        nino = tg.user()

        update_id = await nino.send("hello hook")

        [(secret, update)] = received
        assert secret == "lag-s3cret"
        assert update["update_id"] == update_id
        assert update["message"]["text"] == "hello hook"  # type: ignore[index]
        assert (await ptb.get_webhook_info()).pending_update_count == 0
        with pytest.raises(Conflict, match=r"webhook is active"):
            await ptb.get_updates()

        await ptb.delete_webhook()
        await nino.send("back to polling")
        [polled] = await ptb.get_updates()
        assert polled.message and polled.message.text == "back to polling"
    finally:
        server.should_exit = True
        await serving


async def test_webhook_to_a_foreign_host_is_refused_and_fails_the_test() -> None:
    fake = FakeTelegram().start()
    async with Bot(fake.token, base_url=fake.base_url) as ptb:
        with pytest.raises(BadRequest, match=r"only delivers to 127\.0\.0\.1"):
            await ptb.set_webhook("https://example.org/hook")

    assert fake.webhook_url is None
    with pytest.raises(AssertionError, match=r"non-loopback"):
        fake.stop()


# -- raw HTTP, from sync code --------------------------------------------------------------


def test_raw_http_from_sync_code(tg: FakeTelegram) -> None:
    nino = tg.user()
    url = f"{tg.base_url}{tg.token}"
    with httpx.Client(trust_env=False) as http:
        assert http.get(f"{tg.base_url}1:WRONG/getMe").json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }
        assert http.post(f"{url}/sendTelepathy").status_code == 404

        first = tg.enqueue_update({"message": {"message_id": 1, "text": "a"}})
        second = tg.enqueue_update({"message": {"message_id": 2, "text": "b"}})
        assert second == first + 1
        got = http.post(f"{url}/getUpdates", json={"offset": second, "timeout": 0}).json()
        assert [u["update_id"] for u in got["result"]] == [second]

        sent = http.post(f"{url}/sendMessage", json={"chat_id": nino.id, "text": "sync"})
    assert sent.json()["result"]["text"] == "sync"
    [message] = tg.wait_until_sync(lambda: nino.inbox)
    assert message.text == "sync"


async def test_long_poll_returns_as_soon_as_the_user_writes(tg: FakeTelegram, ptb: Bot) -> None:
    nino = tg.user()
    poll = asyncio.create_task(ptb.get_updates(timeout=5))
    await asyncio.sleep(0.1)

    await nino.send("now")

    [update] = await asyncio.wait_for(poll, timeout=1)
    assert update.message and update.message.text == "now"


async def test_wrong_token_is_invalid_token(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:NOPE", base_url=tg.base_url):
            pass
