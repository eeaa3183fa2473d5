"""Broadcasts from the dashboard: compose, preview the SMS parts and the cost, send or schedule,
then follow the progress and the delivery report — with the broadcasts capability's rules."""

from __future__ import annotations

import re

from sqlmodel import col, select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.broadcast_schedules import BroadcastSchedule
from models.broadcasts import Broadcast, BroadcastStatus
from models.outbox import OutboxMessage, OutStatus
from tests.dashboard_support import Browser, board, browser, second_browser, secretariat, text_of
from tests.factories import make_member

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here
DRAFT_RE = re.compile(r'name="draft" value="([^"]+)"')


async def preview(web: Browser, **fields: str) -> tuple[str, str]:
    """Compose and press Preview: (page text, the signed draft)."""
    await web.get("/admin/broadcasts/new")
    values = {"text_ka": "ხვალ 10:00-ზე კრებაა კულტურის სახლში.", "when": "now"}
    values.update(fields)
    page = await web.post("/admin/broadcasts/preview", values)
    found = DRAFT_RE.search(page.text)
    return text_of(page), found.group(1) if found else ""


async def test_compose_preview_and_send(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        tg = await make_member(session, name="Telegram person")
        sms = await make_member(session, name="SMS person", telegram=False, language="az")
        await make_member(session, name="Sim", phone="+995500000031", telegram=False)
    page, draft = await preview(secretariat, text_az="Sabah saat 10:00-da mədəniyyət evində.")
    assert "2 მიმღები" in page and "Telegram: 1 · SMS: 1" in page
    assert "UCS-2 სიმბოლოს „ə“ გამო" in page  # Azerbaijani ə makes the SMS UCS-2, and says so
    sent = await secretariat.post("/admin/broadcasts/send", {"draft": draft})
    assert sent.status_code == 303
    report = text_of(await secretariat.get(sent.headers["location"]))
    assert "მიწოდების ანგარიში" in report
    async with rt.db.session() as session:
        rows = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "broadcast")))
            .scalars()
            .all()
        )
        entry = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "broadcast.publish")))
            .scalars()
            .one()
        )
    assert {r.member_id for r in rows} == {tg.id, sms.id} and len(rows) == 2  # never the simulated
    az_row = next(r for r in rows if r.member_id == sms.id)
    assert az_row.text.startswith("Sabah saat 10:00-da mədəniyyət")
    assert entry.details["recipients"] == 2 and entry.actor_label.startswith("web:")


async def test_a_broadcast_without_georgian_is_refused_and_kept(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session)
    page, draft = await preview(secretariat, text_ka="", text_en="Meeting tomorrow")
    assert "ქართული ტექსტი სავალდებულოა" in page and "Meeting tomorrow" in page and not draft
    tampered = await secretariat.post("/admin/broadcasts/send", {"draft": "x.y"})
    assert tampered.status_code == 400
    async with rt.db.session() as session:
        assert (await session.execute(select(Broadcast))).first() is None


async def test_over_the_budget_needs_a_second_confirmation(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session, telegram=False)
    rt.settings.sms_monthly_budget = 0.01
    page, draft = await preview(secretariat)
    assert "ბიუჯეტს გადააჭარბებს" in page
    first = await secretariat.post("/admin/broadcasts/send", {"draft": draft})
    assert first.status_code == 400 and "მეორე დადასტურება" in text_of(first)
    async with rt.db.session() as session:
        assert (await session.execute(select(Broadcast))).first() is None
    second = await secretariat.post(
        "/admin/broadcasts/send", {"draft": draft, "over_budget_ok": "yes"}
    )
    assert second.status_code == 303
    async with rt.db.session() as session:
        broadcast = (await session.execute(select(Broadcast))).scalars().one()
    assert broadcast.over_budget


async def test_a_weekly_broadcast_is_scheduled(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        await make_member(session)
    page, _ = await preview(secretariat, when="weekly", time="09:30")
    assert "აირჩიეთ კვირის ერთი დღე მაინც" in page
    page, draft = await preview(secretariat, when="weekly", time="09:30", weekday="0")
    scheduled = await secretariat.post("/admin/broadcasts/send", {"draft": draft})
    assert scheduled.headers["location"] == "/admin/broadcasts?done=scheduled"
    listing = text_of(await secretariat.get("/admin/broadcasts"))
    assert "დაგეგმილი" in listing and "ყოველკვირა" in listing
    async with rt.db.session() as session:
        schedule = (await session.execute(select(BroadcastSchedule))).scalars().one()
        assert (await session.execute(select(Broadcast))).first() is None
    assert schedule.weekdays == [0] and schedule.local_time == "09:30"


async def test_stop_cancels_what_waits_and_board_only_reads(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    async with rt.db.session() as session:
        for _ in range(3):
            await make_member(session)
    _, draft = await preview(secretariat)
    sent = await secretariat.post("/admin/broadcasts/send", {"draft": draft})
    report_url = sent.headers["location"]
    assert (await board.get(report_url)).status_code == 200
    await board.get("/admin/account")
    assert (await board.post(report_url + "/stop")).status_code == 403
    assert (await board.get("/admin/broadcasts/new")).status_code == 403
    stopped = await secretariat.post(report_url + "/stop")
    assert stopped.headers["location"].endswith("done=stopped")
    async with rt.db.session() as session:
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
        broadcast = (await session.execute(select(Broadcast))).scalars().one()
    assert set(statuses) == {OutStatus.CANCELLED}
    assert broadcast.status == BroadcastStatus.CANCELLED
    csv = await secretariat.get(report_url + ".csv")
    assert csv.status_code == 200 and "cancelled" in csv.text


async def test_a_scheduled_broadcast_is_paused_resumed_and_cancelled_on_the_web(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session)
    _, draft = await preview(secretariat, when="weekly", time="09:30", weekday="2")
    await secretariat.post("/admin/broadcasts/send", {"draft": draft})
    async with rt.db.session() as session:
        schedule = (await session.execute(select(BroadcastSchedule))).scalars().one()
    base = f"/admin/broadcasts/schedules/{schedule.id}"

    async def status() -> str:
        async with rt.db.session() as session:
            fresh = await session.get(BroadcastSchedule, schedule.id)
            assert fresh is not None
            return fresh.status

    await board.get("/admin/broadcasts")
    assert (await board.post(f"{base}/pause")).status_code == 403
    assert await status() == "active"
    assert (await secretariat.post(f"{base}/pause", csrf="forged")).status_code == 403
    listing = await secretariat.get("/admin/broadcasts")
    assert f'action="{base}/pause"' in listing.text
    paused = await secretariat.post(f"{base}/pause")
    assert paused.headers["location"] == "/admin/broadcasts?done=schedule_pause"
    page = text_of(await secretariat.get(paused.headers["location"]))
    assert "შეჩერდა" in page and "შეჩერებული" in page
    assert await status() == "paused"
    again = await secretariat.post(f"{base}/pause")
    assert again.headers["location"].endswith("error=schedule_unchanged")
    await secretariat.post(f"{base}/resume")
    assert await status() == "active"
    unconfirmed = await secretariat.post(f"{base}/cancel")
    assert "error=confirm" in unconfirmed.headers["location"]
    assert await status() == "active"
    await secretariat.post(f"{base}/cancel", {"confirm": "yes"})
    assert await status() == "cancelled"
    assert "09:30" not in text_of(await secretariat.get("/admin/broadcasts"))
    async with rt.db.session() as session:
        actions = (
            await session.execute(
                select(AuditLog.action, AuditLog.actor_label)
                .where(AuditLog.target == f"schedule:{schedule.id}")
                .order_by(col(AuditLog.id))
            )
        ).all()
    assert [a for a, _ in actions][1:] == [  # after "broadcast.schedule" (created)
        "broadcast.schedule_paused", "broadcast.schedule_active", "broadcast.schedule_cancelled"
    ]  # fmt: skip
    assert all(label.startswith("web:") for _, label in actions)
