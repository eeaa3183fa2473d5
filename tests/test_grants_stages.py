"""/applicants G3: the secretariat records stages; each applicant hears of theirs on their own
channel — the shortlisted, the not shortlisted, the funded and the not funded alike. Then the
counts for the Board and donors, and the CSV files."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, select

from bot.i18n import t
from models.audit import AuditLog
from models.grants_applicants import Stage
from models.members import Role
from tests.grants_support import (
    DAYTIME,
    QUEUED,
    applicant_row,
    interested,
    outbox_rows,
    published,
    secretariat,
    settle,
    sms_member,
    tg_member,
    to_stage,
)
from tests.harness import RunningBot, running_bot


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def test_stages_and_notices_reach_every_applicant(bot: RunningBot) -> None:
    tamar, _ = await secretariat(bot)
    nino_user, nino = await tg_member(bot, name="ნინო ბერიძე")
    dato_user, dato = await tg_member(bot, name="დათო კაპანაძე")
    aliyev = await sms_member(bot, name="Əli Əliyev", language="az")
    call = await published(bot.rt)
    await settle(bot, call, tamar, nino_user, dato_user)
    await bot.sms_replies(aliyev.phone or "", 1, timeout=QUEUED)
    nino_row = await interested(bot.rt, call, nino, idea="თაფლის სახლი")
    await interested(bot.rt, call, dato)
    await interested(bot.rt, call, aliyev, idea="Fındıq qurutma")

    await tamar.send(f"/applicants {call.code}")
    listing = await tamar.reply(QUEUED)
    assert f"{call.code} · მცირე გრანტები სოფლის მეურნეობისთვის — განმცხადებლები: 3" in listing.text
    assert "დაინტერესებული 3" in listing.text
    assert f"#{nino_row.id} ნინო ბერიძე · კაბალი, ქ. ლაგოდეხი · კოოპერატივი" in listing.text
    await tamar.press(f"#{nino_row.id} ნინო ბერიძე — დაინტერესებული")
    card = await tamar.reply(QUEUED)
    assert nino.phone is not None and nino.phone in card.text and "Telegram, SMS" in card.text
    assert card.buttons == [["→ იდეა მიღებულია"], ["→ კონკურსიდან გავიდა"], ["← უკან"]]
    await tamar.press("→ იდეა მიღებულია")
    assert "„დაინტერესებული“ → „იდეა მიღებულია“" in (await tamar.reply(QUEUED)).text
    await tamar.press("✓ ჩაწერა და შეტყობინება")
    assert (await tamar.reply(QUEUED)).text.startswith("✓ ჩაწერილია. შეტყობინება რიგშია.")
    notice = await nino_user.reply(QUEUED)
    assert notice.text.startswith(f'{call.code} "მცირე გრანტები')
    assert 'თქვენი პროექტის იდეა "თაფლის სახლი" მივიღეთ' in notice.text
    assert "მოკლე სიის გამოცხადება:" in notice.text  # what comes next, and when

    await to_stage(bot, dato, Stage.IDEA_RECEIVED)
    await to_stage(bot, aliyev, Stage.IDEA_RECEIVED)
    await tamar.press("→ მოკლე სიაშია")
    await tamar.reply(QUEUED)
    await tamar.press("✓ ჩაწერა და შეტყობინება")
    await tamar.reply(QUEUED)
    shortlisted = await nino_user.reply(QUEUED)
    assert shortlisted.text.startswith("გილოცავთ!") and "სრული განაცხადის ვადა:" in shortlisted.text

    # Everyone else still at "idea received" is told they were not shortlisted.
    await tamar.press("← უკან")
    await tamar.reply(QUEUED)
    await tamar.press("დანარჩენები → მოკლე სიაში ვერ მოხვდა (2)")
    assert "2 განმცხადებელი" in (await tamar.reply(QUEUED)).text
    await tamar.press("✓ ჩაწერა და შეტყობინება")
    assert (await tamar.reply(QUEUED)).text.startswith("✓ გადატანილია: 2; შეტყობინება რიგშია: 2.")
    assert "სამწუხაროდ" in (await dato_user.reply(QUEUED)).text
    sms = (await bot.sms_replies(aliyev.phone or "", 2, timeout=QUEUED))[-1]
    assert "təəssüf ki" in sms and '"Fındıq qurutma"' in sms

    # Recorded without a notice: the applicant hears nothing.
    await to_stage(bot, nino, Stage.FULL_APPLICATION)
    nino_user.skip_unread()
    await tamar.send(f"/applicants {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press(f"#{nino_row.id} ნინო ბერიძე — სრული განაცხადი მიღებულია")
    await tamar.reply(QUEUED)
    await tamar.press("→ დაფინანსდა")
    await tamar.reply(QUEUED)
    await tamar.press("ჩაწერა შეტყობინების გარეშე")
    assert (await tamar.reply(QUEUED)).text.startswith("✓ ჩაწერილია, შეტყობინების გარეშე.")
    row = await applicant_row(bot.rt, nino)
    assert row is not None and row.stage == "funded"
    notices = await outbox_rows(bot.rt, kind="grant.stage")
    assert [n.member_id for n in notices].count(nino.id) == 2  # idea received, shortlisted
    async with bot.rt.db.session() as session:
        stages = [
            a.details for a in (await session.execute(
                select(AuditLog).where(AuditLog.action == "grant.stage"))).scalars()
        ]  # fmt: skip
    assert {"from": "full_application", "to": "funded"} in stages


async def test_a_stage_changed_meanwhile_is_not_overwritten(bot: RunningBot) -> None:
    tamar, _ = await secretariat(bot)
    villager, member = await tg_member(bot)
    call = await published(bot.rt)
    await settle(bot, call, tamar, villager)
    row = await interested(bot.rt, call, member)
    await tamar.send(f"/applicants {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press(f"#{row.id} ნინო ბერიძე — დაინტერესებული")
    await tamar.reply(QUEUED)
    await tamar.press("→ იდეა მიღებულია")
    await tamar.reply(QUEUED)
    await to_stage(bot, member, Stage.WITHDRAWN)  # the villager withdrew in the meantime
    await tamar.press("✓ ჩაწერა და შეტყობინება")
    assert "სხვამ შეცვალა" in (await tamar.reply(QUEUED)).text
    fresh = await applicant_row(bot.rt, member)
    assert fresh is not None and fresh.stage == "withdrawn"


async def test_counts_for_the_board_and_the_csv_files(bot: RunningBot) -> None:
    tamar, _ = await secretariat(bot, language="en")
    board_user, _ = await tg_member(bot, role=Role.BOARD, language="en")
    young_user, young = await tg_member(bot, birth_year=2004, gender="male", community="kabali")
    older = await sms_member(bot, birth_year=1965, gender="female", sector="private")
    call = await published(bot.rt)
    await settle(bot, call, tamar, board_user, young_user)
    await interested(bot.rt, call, young, kind="individual")
    await interested(bot.rt, call, older, kind="ngo")
    await to_stage(bot, young, Stage.IDEA_RECEIVED, Stage.SHORTLISTED, Stage.FULL_APPLICATION,
                   Stage.FUNDED)  # fmt: skip
    await to_stage(bot, older, Stage.IDEA_RECEIVED, Stage.NOT_SHORTLISTED)

    await board_user.send(f"/grantstats {call.code}")
    stats = await board_user.reply(QUEUED)
    lines = stats.text.split("\n")
    assert lines[1] == "Interested · ideas · shortlisted · funded"
    assert lines[2] == "2 · 2 · 1 · 1 (withdrawn: 0)"
    assert "• Kabali: 1 · 1 · 1 · 1" in stats.text
    assert "• Women: 1 · 1 · 0 · 0" in stats.text and "• Youth (14–29): 1 · 1 · 1 · 1" in stats.text
    assert "• NGO: 1 · 1 · 0 · 0" in stats.text and "• Private sector: 1 · 1 · 0 · 0" in stats.text
    await board_user.press("📄 Counts (CSV)")
    document = await board_user.reply(QUEUED)
    assert document.document is not None and document.document.filename == f"{call.code}-counts.csv"
    assert document.document.content is not None
    rows = list(csv.reader(io.StringIO(document.document.content.decode("utf-8-sig"))))
    assert rows[1] == ["Breakdown", "Group", "Interested", "Ideas", "Shortlisted", "Funded",
                       "Withdrawn"]  # fmt: skip
    assert rows[2] == ["Total", "", "2", "2", "1", "1", "0"]
    assert ["By gender", "Men", "1", "1", "1", "1", "0"] in rows
    assert all((older.phone or "?") not in ",".join(r) for r in rows)  # no personal data for donors

    await tamar.send(f"/export grants {call.code}")
    counts_doc, applicants_doc = await tamar.replies(2, QUEUED)
    assert counts_doc.document is not None and applicants_doc.document is not None
    assert applicants_doc.document.filename == f"{call.code}-applicants.csv"
    assert applicants_doc.document.content is not None
    listing = list(csv.reader(io.StringIO(applicants_doc.document.content.decode("utf-8-sig"))))
    assert listing[0][:3] == ["ID", "Name", "Phone"]
    by_phone = {row[2]: row for row in listing[1:]}
    assert by_phone[older.phone or ""][5:7] == ["NGO", "თხილის საშრობი"]
    assert listing[0][10:13] == ["Channel", "Reached by", "Stage"]
    assert by_phone[older.phone or ""][11:13] == ["sms", "Not shortlisted"]
    assert by_phone[young.phone or ""][11] == "telegram"  # Telegram first, though it has a phone
    assert "Idea received" in by_phone[older.phone or ""][14]

    async with bot.rt.db.session() as session:
        query = select(AuditLog.action).where(col(AuditLog.action).startswith("grant.export"))
        exports = list((await session.execute(query)).scalars())
    assert sorted(exports) == ["grant.export_applicants", "grant.export_counts",
                               "grant.export_counts"]  # fmt: skip

    await board_user.send(f"/export grants {call.code}")  # personal data: the secretariat only
    assert (await board_user.reply(QUEUED)).text == t("core.not_allowed", "en")
