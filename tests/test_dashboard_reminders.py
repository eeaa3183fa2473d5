"""The reminders page: what the scheduler will send next (the list /reminders shows), and the
secretariat's "send now", "skip" and "restore" with the same scheduler calls; the board reads."""

from __future__ import annotations

from sqlmodel import col, select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.outbox import OutboxMessage
from tests.dashboard_support import Browser, board, browser, second_browser, secretariat, text_of
from tests.factories import make_member
from tests.reminders_helpers import ListProvider, Spec, at

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here
NOW = at("2030-06-04 12:00")  # a Tuesday noon in Lagodekhi: no quiet hours
TITLE = "კრება ყაბალში — შეხსენება"


async def tomorrows_assembly(rt: Runtime) -> list[int]:
    """Tomorrow's assembly reminder for three villagers (ids)."""
    provider = ListProvider("assembly")
    ids = []
    async with rt.db.session() as session:
        for _ in range(3):
            member = await make_member(session, language="ka")
            assert member.id is not None
            ids.append(member.id)
            provider.add(
                Spec(f"event:9:member:{member.id}:1d", member.id, "ხვალ 10:00 — კრება ყაბალში",
                     at("2030-06-05 10:00"), at("2030-06-06 10:00"), ref="event:9:1d", title=TITLE)
            )  # fmt: skip
    assert rt.scheduler is not None
    rt.scheduler.register(provider)
    rt.scheduler.clock = lambda: NOW
    return ids


async def sent_to(rt: Runtime, ids: list[int]) -> int:
    async with rt.db.session() as session:
        rows = await session.execute(
            select(OutboxMessage.id).where(col(OutboxMessage.member_id).in_(ids))
        )
        return len(rows.all())


async def test_the_list_and_skip_restore_send_now(rt: Runtime, secretariat: Browser) -> None:
    ids = await tomorrows_assembly(rt)
    page = await secretariat.get("/admin/reminders")
    shown = text_of(page)
    assert TITLE in shown and "2030-06-05 10:00" in shown and " 3 " in shown
    action = next(a for a in page.text.split('action="')[1:] if a.startswith("/admin/reminders/"))
    skip_url = action.split('"')[0].replace("/send", "/skip")
    skipped = await secretariat.post(skip_url, {"days": "7"})
    assert skipped.headers["location"] == "/admin/reminders?days=7&done=skip"
    assert "გამოტოვებული" in text_of(await secretariat.get(skipped.headers["location"]))
    assert (await secretariat.post(skip_url, {"days": "7"})).headers["location"].endswith("gone=1")
    await secretariat.post(skip_url.replace("/skip", "/restore"), {"days": "7"})
    sent = await secretariat.post(skip_url.replace("/skip", "/send"), {"days": "7"})
    assert sent.headers["location"].endswith("done=send")
    assert await sent_to(rt, ids) == 3
    again = await secretariat.post(skip_url.replace("/skip", "/send"), {"days": "7"})
    assert again.headers["location"].endswith("gone=1")  # never twice
    assert await sent_to(rt, ids) == 3
    async with rt.db.session() as session:
        actions = list(
            (
                await session.execute(
                    select(AuditLog.action)
                    .where(col(AuditLog.action).startswith("reminders."))
                    .order_by(col(AuditLog.id))
                )
            ).scalars()
        )
    assert actions == ["reminders.skip", "reminders.restore", "reminders.send_now"]


async def test_the_board_reads_the_list_but_cannot_act(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    ids = await tomorrows_assembly(rt)
    page = await board.get("/admin/reminders")
    assert page.status_code == 200 and TITLE in text_of(page)
    assert "/send" not in page.text  # no buttons for the board
    action = (await secretariat.get("/admin/reminders")).text.split('action="/admin/reminders/')[1]
    send_url = "/admin/reminders/" + action.split('"')[0]
    assert (await board.post(send_url, {"days": "7"})).status_code == 403
    forged = await secretariat.post(send_url, {"days": "7"}, csrf="forged")
    assert forged.status_code == 403
    assert await sent_to(rt, ids) == 0
