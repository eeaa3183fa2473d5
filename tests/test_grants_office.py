"""Paper applications brought to the office, and the amounts awarded to funded applicants.

The secretariat adds a villager who came with an idea on paper from /applicants G3 — a new
person or a member found by name or phone — and from then on they are an applicant like any
other: their stage notices reach them by SMS when they gave a phone, and the list says "tell in
person" when nothing reaches them. Recording "funded" asks the grant and the co-financing; the
Board sees the totals per call in /grantstats and the counts CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, select

from bot.i18n import t
from models.audit import AuditLog
from models.grants_applicants import GrantApplicant, Stage
from models.grants_input import GrantInputError
from models.grants_office import parse_gel
from models.members import Consent, Member, Role
from tests.grants_support import (
    DAYTIME,
    QUEUED,
    applicant_row,
    interested,
    published,
    secretariat,
    settle,
    tg_member,
    to_stage,
)
from tests.harness import RunningBot, running_bot


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def office_member(bot: RunningBot, name: str) -> Member:
    async with bot.rt.db.session() as session:
        query = select(Member).where(Member.name == name)
        member: Member = (await session.execute(query)).scalars().one()
        return member


async def test_a_new_villager_on_paper_hears_of_their_stage_by_sms(bot: RunningBot) -> None:
    tamar, secretary = await secretariat(bot)
    call = await published(bot.rt)
    await settle(bot, call, tamar)

    await tamar.send(f"/applicants {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press("➕ ქაღალდის განაცხადი")
    assert "ვინ მოიტანა?" in (await tamar.reply(QUEUED)).text
    await tamar.press("ახალი პირი")
    await tamar.reply(QUEUED)
    await tamar.send("Rəşad Məmmədov")
    assert "მობილურის ნომერი" in (await tamar.reply(QUEUED)).text
    await tamar.send("555 12")  # not a number: asked again with the reason
    assert (await tamar.reply(QUEUED)).text.startswith("ეს მობილურის ნომერი არ არის")
    await tamar.send("555 77 88 99")
    await tamar.reply(QUEUED)
    await tamar.press("კაბალი")
    await tamar.reply(QUEUED)
    await tamar.press("Azərbaycanca")
    types = await tamar.reply(QUEUED)
    assert types.buttons[:3] == [["ფიზიკური პირი"], ["კოოპერატივი"], ["არასამთავრობო ორგანიზაცია"]]
    await tamar.press_data("gro:t:company")  # a type this call does not accept: not taken
    assert "განმცხადებლის ტიპი?" in (await tamar.reply(QUEUED)).text
    await tamar.press("კოოპერატივი")
    await tamar.reply(QUEUED)
    await tamar.send("Fındıq qurutma sexi")
    saved = await tamar.reply(QUEUED)
    rashad = await office_member(bot, "Rəşad Məmmədov")
    row = await applicant_row(bot.rt, rashad)
    assert row is not None and row.channel == "office" and row.stage == Stage.INTERESTED
    assert saved.text.startswith(f"✓ #{row.id} Rəşad Məmmədov დაემატა {call.code}-ს")
    assert "ოფისში, ქაღალდზე შემოტანილი" in saved.text and "+995555778899" in saved.text
    assert row.applicant_type == "cooperative" and row.idea_title == "Fındıq qurutma sexi"
    assert row.village == "კაბალი" and row.community_id == rashad.community_id
    assert rashad.joined_via == "office" and rashad.language == "az" and not rashad.telegram_id
    assert not rashad.consent_announcements  # a paper form is not an opt-in to announcements
    async with bot.rt.db.session() as session:
        query = select(Consent).where(Consent.member_id == rashad.id)
        consent = (await session.execute(query)).scalars().one()
        interest = select(AuditLog).where(AuditLog.action == "grant.interest")
        audit = (await session.execute(interest)).scalars().one()
    assert consent.channel == "paper" and consent.kind == "data"
    assert audit.actor_member_id == secretary.id and audit.details["channel"] == "office"
    assert audit.details["for_member"] == rashad.id

    # Then an applicant like any other: the stage notice reaches their phone, in Azerbaijani.
    await tamar.press("→ იდეა მიღებულია")
    await tamar.reply(QUEUED)
    await tamar.press("✓ ჩაწერა და შეტყობინება")
    assert (await tamar.reply(QUEUED)).text.startswith("✓ ჩაწერილია. შეტყობინება რიგშია.")
    sms = (await bot.sms_replies("+995555778899", 1, timeout=QUEUED))[-1]
    assert '"Fındıq qurutma sexi"' in sms and call.code in sms

    # One per member per call: the same person on paper again is refused.
    await tamar.send(f"/applicants {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press("➕ ქაღალდის განაცხადი")
    await tamar.reply(QUEUED)
    await tamar.send("555778899")
    found = await tamar.reply(QUEUED)
    await tamar.press(f"#{rashad.id} Rəşad Məmmədov")
    await tamar.reply(QUEUED)
    await tamar.press("კოოპერატივი")
    await tamar.reply(QUEUED)
    await tamar.send("Başqa ideya")
    assert [f"#{rashad.id} Rəşad Məmmədov"] in found.buttons
    assert t("grants.err_details_locked", "ka", code=call.code) in (await tamar.reply(QUEUED)).text
    fresh = await applicant_row(bot.rt, rashad)
    assert fresh is not None and fresh.idea_title == "Fındıq qurutma sexi"


async def test_someone_nothing_reaches_is_marked_tell_in_person(bot: RunningBot) -> None:
    tamar, _ = await secretariat(bot, language="en")
    nino_user, nino = await tg_member(bot, name="ნინო ბერიძე")
    call = await published(bot.rt)
    await settle(bot, call, tamar, nino_user)

    # An existing member, found by name.
    await tamar.send(f"/applicants {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press("➕ Paper application")
    await tamar.reply(QUEUED)
    await tamar.send("ნინო")
    assert "choose the person" in (await tamar.reply(QUEUED)).text
    await tamar.press(f"#{nino.id} ნინო ბერიძე")
    await tamar.reply(QUEUED)
    await tamar.press("Individual")
    await tamar.reply(QUEUED)
    await tamar.send("თაფლის სახლი")
    assert "added to" in (await tamar.reply(QUEUED)).text
    row = await applicant_row(bot.rt, nino)
    assert row is not None and row.channel == "office" and row.idea_title == "თაფლის სახლი"

    # A new person with no phone.
    await tamar.send(f"/applicants {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press("➕ Paper application")
    await tamar.reply(QUEUED)
    await tamar.press("New person")
    await tamar.reply(QUEUED)
    await tamar.send("ვანო ლომიძე")
    await tamar.reply(QUEUED)
    await tamar.press("No phone")
    await tamar.reply(QUEUED)
    await tamar.press("Apeni")
    await tamar.reply(QUEUED)
    await tamar.press("ქართული")
    await tamar.reply(QUEUED)
    await tamar.press("NGO")
    await tamar.reply(QUEUED)
    await tamar.send("საბავშვო მოედანი")
    card = await tamar.reply(QUEUED)
    assert "Channels: 🗣 tell in person" in card.text
    vano = await office_member(bot, "ვანო ლომიძე")
    vano_row = await applicant_row(bot.rt, vano)
    assert vano_row is not None and vano.phone is None

    await tamar.send(f"/applicants {call.code}")
    listing = (await tamar.reply(QUEUED)).text
    line = next(x for x in listing.split("\n") if x.startswith(f"#{vano_row.id} "))
    assert line.endswith("Interested · 🗣 tell in person")
    assert "🗣" not in next(x for x in listing.split("\n") if x.startswith(f"#{row.id} "))
    await tamar.press(f"#{vano_row.id} ვანო ლომიძე — Interested")
    await tamar.reply(QUEUED)
    await tamar.press("→ Idea received")
    await tamar.reply(QUEUED)
    await tamar.press("✓ Record and notify")
    assert (await tamar.reply(QUEUED)).text.startswith("✓ Recorded, but no channel reaches")


async def test_funded_applicants_get_an_amount_and_the_board_sees_the_totals(
    bot: RunningBot,
) -> None:
    tamar, _ = await secretariat(bot, language="en")
    board_user, _ = await tg_member(bot, role=Role.BOARD, language="en")
    nino_user, nino = await tg_member(bot, name="ნინო ბერიძე")
    dato_user, dato = await tg_member(bot, name="დათო კაპანაძე")
    call = await published(bot.rt)  # 1 000–20 000 GEL, co-financing at least 10%
    await settle(bot, call, tamar, board_user, nino_user, dato_user)
    nino_row = await interested(bot.rt, call, nino)
    await interested(bot.rt, call, dato)
    for member in (nino, dato):
        await to_stage(bot, member, Stage.IDEA_RECEIVED, Stage.SHORTLISTED,
                       Stage.FULL_APPLICATION, Stage.INTERVIEW)  # fmt: skip

    await tamar.send(f"/applicants {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press(f"#{nino_row.id} ნინო ბერიძე — Interview / field visit")
    await tamar.reply(QUEUED)
    await tamar.press("→ Funded")
    await tamar.reply(QUEUED)
    await tamar.press("✓ Record and notify")
    note, question = await tamar.replies(2, QUEUED)
    assert note.text.startswith("✓ Recorded. The notice is queued.")
    assert "What amount was awarded (GEL)? The call's range: 1 000–20 000 GEL." in question.text
    await tamar.send("twelve")
    assert (await tamar.reply(QUEUED)).text.startswith("Type the amount in GEL as digits")
    await tamar.send("25 000")
    assert "at least 10%" in (await tamar.reply(QUEUED)).text
    await tamar.send("1000 GEL")
    saved = (await tamar.reply(QUEUED)).text
    assert saved.startswith("✓ Recorded: 25 000 GEL, co-financing 1 000 GEL (4%).")
    assert "⚠️ The amount is outside the call's range (1 000–20 000 GEL)" in saved
    assert "⚠️ Co-financing is 4%, the call asks for at least 10%" in saved
    assert "Awarded: 25 000 GEL · co-financing: 1 000 GEL" in saved
    row = await applicant_row(bot.rt, nino)
    assert row is not None and (row.awarded_amount, row.cofinancing_amount) == (25000, 1000)

    # Corrected from the card: within the range, no warning.
    await tamar.press("💰 Awarded amount")
    await tamar.reply(QUEUED)
    await tamar.send("18000")
    await tamar.reply(QUEUED)
    await tamar.send("2 000")
    corrected = (await tamar.reply(QUEUED)).text
    assert corrected.startswith("✓ Recorded: 18 000 GEL, co-financing 2 000 GEL (10%).")
    assert "⚠️" not in corrected
    await to_stage(bot, dato, Stage.FUNDED)  # funded on the web: no amount yet

    await board_user.send(f"/grantstats {call.code}")
    stats = (await board_user.reply(QUEUED)).text.split("\n")
    assert stats[2] == "2 · 2 · 2 · 2 (withdrawn: 0)"
    assert stats[3] == (
        "Awarded: 18 000 GEL · co-financing: 2 000 GEL (amount recorded for 1/2 funded)"
    )
    await board_user.send("/grantstats")
    assert "  Awarded: 18 000 GEL" in (await board_user.reply(QUEUED)).text
    await board_user.send(f"/grantstats {call.code}")
    await board_user.reply(QUEUED)
    await board_user.press("📄 Counts (CSV)")
    document = await board_user.reply(QUEUED)
    assert document.document is not None and document.document.content is not None
    rows = list(csv.reader(io.StringIO(document.document.content.decode("utf-8-sig"))))
    assert ["Awarded (GEL)", "", "18000"] in rows and ["Co-financing (GEL)", "", "2000"] in rows
    assert ["Amount recorded (of funded)", "", "1/2"] in rows
    await tamar.send(f"/export grants {call.code}")
    _, applicants_doc = await tamar.replies(2, QUEUED)
    assert applicants_doc.document is not None and applicants_doc.document.content is not None
    listing = list(csv.reader(io.StringIO(applicants_doc.document.content.decode("utf-8-sig"))))
    assert listing[0][-2:] == ["Awarded (GEL)", "Co-financing (GEL)"]
    by_id = {line[0]: line for line in listing[1:]}
    assert by_id[str(nino_row.id)][-2:] == ["18000", "2000"]

    # The board reads; it records nothing (a forged button is refused and audited).
    await board_user.press_data(f"gro:aw:{nino_row.id}")
    await bot.tg.wait_until(lambda: board_user.callback_answers[-1] is not None)
    assert t("core.not_allowed", "en") in str(board_user.callback_answers[-1])
    await board_user.press_data(f"gro:n:{call.id}")
    await bot.tg.wait_until(lambda: board_user.callback_answers[-1] is not None)
    async with bot.rt.db.session() as session:
        query = select(AuditLog).where(AuditLog.action == "access.refused")
        refused = (await session.execute(query)).scalars().all()
        award = select(AuditLog.details).where(AuditLog.action == "grant.award")
        awards = (await session.execute(award.order_by(col(AuditLog.id)))).scalars().all()
    assert len(refused) == 2
    assert [a["amount"] for a in awards] == [25000, 18000]

    # A correction to "not funded" takes the amount away: totals count the funded only.
    await to_stage(bot, nino, Stage.NOT_FUNDED)
    row = await applicant_row(bot.rt, nino)
    assert row is not None and row.awarded_amount is None
    await board_user.send(f"/grantstats {call.code}")
    assert "Awarded: 0 GEL" in (await board_user.reply(QUEUED)).text


def test_amounts_are_read_as_typed_in_the_office() -> None:
    assert parse_gel("12 000") == parse_gel("12,000 GEL") == parse_gel("₾12000") == 12000
    assert parse_gel("15000 ლარი") == 15000 and parse_gel("0", allow_zero=True) == 0
    for wrong in ("0", "-5", "12.5k", "", "99999999"):
        with pytest.raises(GrantInputError):
            parse_gel(wrong)


async def test_members_cannot_add_paper_applications(bot: RunningBot) -> None:
    villager, _ = await tg_member(bot, language="en")
    call = await published(bot.rt)
    await settle(bot, call, villager)
    await villager.send(f"/applicants {call.code}")
    assert (await villager.reply(QUEUED)).text == t("core.not_allowed", "en")
    await villager.press_data(f"gro:n:{call.id}")
    await bot.tg.wait_until(lambda: villager.callback_answers[-1] is not None)
    assert t("core.not_allowed", "en") in str(villager.callback_answers[-1])
    async with bot.rt.db.session() as session:
        assert (await session.execute(select(GrantApplicant))).first() is None
        assert (
            await session.execute(select(Member).where(Member.joined_via == "office"))
        ).first() is None
