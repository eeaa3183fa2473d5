"""After a broadcast: /broadcasts, /report with failures by reason and a CSV, and
`lagbot broadcast status`."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest

from bot.cli import main as lagbot
from bot.runtime import Runtime
from models.audiences import Audience
from models.broadcasts import publish_broadcast
from models.outbox import OutStatus
from tests.broadcast_helpers import delivery_bot, member_for, wait_rows
from tests.conftest import make_settings
from tests.factories import make_member


async def test_the_report_gives_failures_by_reason_and_a_csv(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        await member_for(bot, nino, role="secretariat", phone=False, name="ნინო")
        await member_for(bot, bot.tg.user(), phone=False, name="ლევანი")
        blocked = bot.tg.user()
        await member_for(bot, blocked, phone="+995599800001", name="თამარი")
        await member_for(bot, telegram=False, phone="+995599800002", name="გელა")
        bot.tg.block(blocked.id)
        bot.tw.fail_next(21211, to="+995599800002")
        async with bot.rt.db.session() as session:
            broadcast = await publish_broadcast(
                session=session, settings=bot.settings, texts={"ka": "კრება ორშაბათს"},
                audience=Audience(), urgent=False, created_by=None,
            )  # fmt: skip
        bot.rt.delivery.wake()
        await wait_rows(
            bot,
            lambda rs: len(rs) == 5 and all(r.status not in ("queued", "sending") for r in rs),
            broadcast_id=broadcast.id,
        )
        nino.skip_unread()  # the broadcast itself: Nino is a member too

        await nino.send("/broadcasts")
        listing = (await nino.reply()).text
        assert "#1 · " in listing
        assert "დასრულდა · 5: ✓ 2 · გაგზ. 3 · ✕ 1 · რიგში 0 — კრება ორშაბათს" in listing

        await nino.send("/report 1")
        report, document = await nino.replies(2)
        assert "ანგარიში: დაგზავნა #1" in report.text
        assert "ვერ გაიგზავნა, მიზეზები:\n• twilio 21211:" in report.text
        assert (
            "გამოტოვებული, მიზეზები:\n• telegram 403: Forbidden: bot was blocked by the user — 1"
            in (report.text)
        )
        assert document.document is not None and document.document.filename == "broadcast-1.csv"
        content = document.document.content
        assert content is not None and content.startswith("\ufeff".encode())
        table = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        by_name = {(row["name"], row["channel"]): row for row in table}
        assert by_name[("თამარი", "telegram")]["status"] == OutStatus.SKIPPED
        assert by_name[("თამარი", "sms")]["status"] == OutStatus.SENT  # the SMS version instead
        assert by_name[("გელა", "sms")]["error_code"] == "21211"
        assert by_name[("ლევანი", "telegram")]["status"] == OutStatus.DELIVERED

        await nino.send("/report 99")
        assert (await nino.reply()).text == "დაგზავნა #99 არ არსებობს. სია: /broadcasts"
        await nino.send("/report")
        assert "/report 12" in (await nino.reply()).text


def test_lagbot_broadcast_status_draws_a_progress_bar(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        rt = Runtime(make_settings(db_url))
        await rt.prepare_data()
        async with rt.db.session() as session:
            for _ in range(4):
                await make_member(session, telegram=False)
            await publish_broadcast(session=session, settings=rt.settings,
                                    texts={"ka": "ტესტი"}, audience=Audience(), urgent=True,
                                    created_by=None)  # fmt: skip
        await rt.db.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert lagbot(["broadcast", "status"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("#1 sending   [░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░]   0% 0/4")
    assert lagbot(["broadcast", "status", "7"]) == 1
