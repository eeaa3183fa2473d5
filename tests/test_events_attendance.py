"""At the door and after: check-in by personal code or by name (people without phones too), the
attendance sheet donors ask for (CSV + printable HTML with totals), and the assembly quorum."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.runtime import Runtime
from models.base import utcnow
from models.event_attendance import check_in
from models.event_queries import member_history
from models.event_reports import assembly_quorum, attendance_sheet, quorum_needed, sheet_csv
from models.event_rsvps import EventRsvp, answer_rsvp
from models.events import Event
from models.members import Member, Role
from tests.events_support import (
    DAYTIME,
    patient,  # noqa: F401  (a fixture, used by pytestmark)
    published,
    tg_member,
)
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot, running_bot

pytestmark = pytest.mark.usefixtures("patient")


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def admin_of(bot: RunningBot) -> tuple[VirtualUser, Member]:
    return await tg_member(bot, role=Role.SECRETARIAT, name="თამარ", consent_announcements=False)


async def say(user: VirtualUser, text: str) -> str:
    await user.send(text)
    return (await user.reply()).text


async def going(rt: Runtime, event: Event, *members: Member) -> None:
    async with rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        for member in members:
            await answer_rsvp(
                session=session, event=fresh, member=member, answer="going",
                channel="sms", settings=rt.settings, now=utcnow(),
            )  # fmt: skip


async def code_of(rt: Runtime, member: Member) -> str:
    async with rt.db.session() as session:
        row = (
            (await session.execute(select(EventRsvp).where(EventRsvp.member_id == member.id)))
            .scalars()
            .one()
        )
    code: str | None = row.checkin_code
    assert code is not None
    return code


async def test_check_in_by_code_twice_wrong_code_and_undo(bot: RunningBot) -> None:
    tamar, _ = await admin_of(bot)
    async with bot.rt.db.session() as session:
        nino = await make_member(session, name="ნინო ბერიძე", telegram=False)
    event = await published(bot.rt)
    await going(bot.rt, event, nino)
    code = await code_of(bot.rt, nino)

    await tamar.send(f"/checkin E{event.id} {code}")
    done = await tamar.reply()
    assert done.text == "✅ ნინო ბერიძე აღრიცხულია. დაესწრო 1 (მოსვლას აპირებდა 1)."
    already = await say(tamar, f"/checkin E{event.id} {code}")
    assert already.startswith("ნინო ბერიძე უკვე აღრიცხულია (")
    wrong = "9999" if code != "9999" else "1111"
    assert (await say(tamar, f"/checkin E{event.id} {wrong}")).startswith(
        f"კოდი {wrong} ამ ღონისძიებაზე არავის აქვს."
    )
    await tamar.press("↩ გაუქმება")
    assert (await tamar.reply()).text == "აღრიცხვა გაუქმდა."
    async with bot.rt.db.session() as session:
        row = (await session.execute(select(EventRsvp))).scalars().one()
    assert row.checked_in_at is None


async def test_check_in_from_the_list_and_a_walk_in_without_a_phone(bot: RunningBot) -> None:
    tamar, _ = await admin_of(bot)
    async with bot.rt.db.session() as session:
        nino = await make_member(session, name="ნინო ბერიძე", telegram=False)
        # Registered on paper by the secretariat: no Telegram, no phone.
        mariam = await make_member(session, name="მარიამ კაპანაძე", telegram=False, phone=False)
    event = await published(bot.rt)
    await going(bot.rt, event, nino)

    await tamar.send(f"/checkin E{event.id}")
    listing = await tamar.reply()
    assert tamar.buttons(listing) == [["ნინო ბერიძე"]]
    await tamar.press("ნინო ბერიძე")
    assert (await tamar.reply()).text.startswith("✅ ნინო ბერიძე აღრიცხულია.")

    await tamar.send(f"/checkin E{event.id} მარიამ")
    choose = await tamar.reply()
    assert tamar.buttons(choose) == [["მარიამ კაპანაძე"]]
    await tamar.press("მარიამ კაპანაძე")
    walk_in = (await tamar.reply()).text
    assert walk_in == (
        "✅ მარიამ კაპანაძე აღრიცხულია (წინასწარ არ უპასუხია). დაესწრო 2 (მოსვლას აპირებდა 1)."
    )
    text = await say(tamar, f"/attendees E{event.id}")
    assert "დაესწრო (აღრიცხულია): 2" in text and "🚶 მოვიდა პასუხის გარეშე (1):" in text
    async with bot.rt.db.session() as session:
        assert await member_history(session=session, member_id=mariam.id or 0) == (1, 0)


async def test_attendance_sheet_lists_participants_with_totals(bot: RunningBot) -> None:
    tamar, admin = await admin_of(bot)
    async with bot.rt.db.session() as session:
        people = [
            await make_member(session, name="ნინო", community="lagodekhi", sector="civil",
                              gender="female", birth_year=2001, telegram=False),
            await make_member(session, name="გიორგი", community="lagodekhi", sector="public",
                              gender="male", birth_year=1960, telegram=False, is_lag_member=True),
            await make_member(session, name="Əli <b>", community="kabali", sector="private",
                              gender=None, birth_year=None, telegram=False),
            await make_member(session, name="თეა", community="kabali", sector="civil",
                              gender="female", birth_year=1985, telegram=False),
        ]  # fmt: skip
    event = await published(bot.rt)
    await going(bot.rt, event, *people)

    await tamar.send(f"/export attendance E{event.id}")
    signin, _ = await tamar.replies(2)
    assert signin.caption is not None and "ხელმოწერის ფურცელი 4 ადამიანისთვის" in signin.caption

    async with bot.rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        for member in people[:3]:  # Tea did not come
            await check_in(
                session=session, event=fresh, actor=admin, now=utcnow(), member_id=member.id
            )
    await tamar.send(f"/export attendance E{event.id}")
    csv_doc, html_doc = await tamar.replies(2)
    assert csv_doc.document is not None and html_doc.document is not None
    assert csv_doc.document.filename == f"attendance-E{event.id}.csv"
    assert csv_doc.caption == f"E{event.id}: დასწრების ფურცელი, 3 მონაწილე."
    rows = list(csv.reader(io.StringIO((csv_doc.document.content or b"").decode("utf-8-sig"))))
    assert rows[0][:7] == ["#", "სახელი, გვარი", "თემი", "სოფელი", "სექტორი", "სქესი", "ასაკი"]
    names = [r[1] for r in rows[1:4]]
    assert sorted(names) == sorted(["ნინო", "გიორგი", "Əli <b>"])
    nino_row = next(r for r in rows if r[1:2] == ["ნინო"])
    assert nino_row[2:7] == ["ქ. ლაგოდეხი", "", "სამოქალაქო", "ქალი", "18–29"]
    totals = blocks(rows)
    assert ["სულ", "3"] in rows
    assert totals["თემი"] == {"ქ. ლაგოდეხი": 2, "კაბალი": 1}
    assert totals["სექტორი"] == {"საჯარო": 1, "კერძო": 1, "სამოქალაქო": 1}
    assert totals["სქესი"] == {"ქალი": 1, "კაცი": 1, "არ არის მითითებული": 1}
    assert totals["ასაკი"] == {"18–29": 1, "60+": 1, "არ არის მითითებული": 1}

    page = (html_doc.document.content or b"").decode("utf-8")
    assert page.startswith("<!doctype html>") and "@page { size: A4 landscape" in page
    assert "დასწრების ფურცელი — მეფუტკრეობის ტრენინგი" in page
    assert "Əli &lt;b&gt;" in page and "Əli <b>" not in page
    assert page.count("<td class=sig></td>") == 3 and "ხელმოწერა" in page


def blocks(rows: list[list[str]]) -> dict[str, dict[str, int]]:
    """The totals blocks after the participant rows: {heading: {label: count}}."""
    out: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for row in rows:
        if not row:
            current = None
            continue
        if current is None and len(row) == 2 and row[1] in ("რაოდენობა",):
            current = out.setdefault(row[0], {})
            continue
        if current is not None and len(row) == 2:
            current[row[0]] = int(row[1])
    return out


async def test_sheet_is_in_the_secretariat_members_language(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        member = await make_member(session, name="Ali", community="kabali", sector="private")
    event = await published(rt, now=now)
    await going(rt, event, member)
    async with rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        sheet = await attendance_sheet(
            session=session, event=fresh, settings=rt.settings, language="az"
        )
    content = sheet_csv(sheet)
    assert "Ad, soyad" in content and "Qabal" in content and "Özəl" in content


async def test_assembly_quorum_expected_present_and_the_49_percent_warning(bot: RunningBot) -> None:
    tamar, admin = await admin_of(bot)
    async with bot.rt.db.session() as session:
        formal = [
            await make_member(
                session, name=f"წევრი {i}", sector=sector, is_lag_member=True, telegram=False
            )
            for i, sector in enumerate(["civil"] * 6 + ["public"] * 2 + ["private"] * 2)
        ]
        guest = await make_member(session, name="სტუმარი", telegram=False)  # not a formal member
    event = await published(bot.rt, kind="assembly")
    await going(bot.rt, event, *formal[:5], formal[6], formal[8], guest)  # 7 formal + 1 guest

    text = await say(tamar, f"/quorum E{event.id}")
    assert "⚖️ კვორუმი: LAG-ის ოფიციალური წევრი 10, საჭიროა 6." in text
    assert "(წესი: 50%-ზე მეტი)" in text
    assert "მოსალოდნელი (მოვა): 7 ✅ კვორუმი იქნება" in text
    assert "დამსწრე (აღრიცხული): 0 ❌ კვორუმი არ არის, აკლია 6" in text

    async with bot.rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        for member in [*formal[:5], formal[6], guest]:  # 5 civil + 1 public + the guest
            await check_in(
                session=session, event=fresh, actor=admin, now=utcnow(), member_id=member.id
            )
    text = await say(tamar, f"/quorum E{event.id}")
    assert "დამსწრე (აღრიცხული): 6 ✅ კვორუმი არის" in text
    assert "სექტორები (დამსწრე): სამოქალაქო 5 (83%) · საჯარო 1 (17%)" in text
    assert "⚠️ სექტორს „სამოქალაქო“ აქვს 83% — 49%-ზე მეტი" in text

    attendees = await say(tamar, f"/attendees E{event.id}")
    assert "⚖️ კვორუმი" in attendees  # shown beside the list for an assembly
    async with bot.rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        quorum = await assembly_quorum(session=session, event=fresh, settings=bot.settings)
    assert (quorum.formal_total, quorum.needed, quorum.expected, quorum.present) == (10, 6, 7, 6)
    assert quorum.over_limit(present=True) == ["civil"]


def test_quorum_rule_more_than_or_at_least() -> None:
    assert quorum_needed(10, 0.5, strict=True) == 6  # more than half
    assert quorum_needed(11, 0.5, strict=True) == 6
    assert quorum_needed(10, 0.5, strict=False) == 5  # at least half
    assert quorum_needed(9, 2 / 3, strict=False) == 6
    assert quorum_needed(0, 0.5, strict=True) == 1


async def test_attendance_counts_for_stats_and_in_my_history(rt: Runtime) -> None:
    async with rt.db.session() as session:
        admin = await make_member(session, name="Tamar", role=Role.SECRETARIAT)
        nino = await make_member(session, name="Nino")
    held = await published(
        rt, starts=utcnow() - timedelta(days=1), now=utcnow() - timedelta(days=10)
    )
    async with rt.db.session() as session:
        fresh = await session.get(Event, held.id)
        assert fresh is not None
        await check_in(session=session, event=fresh, actor=admin, now=utcnow(), member_id=nino.id)
    stats = rt.hooks["stats.section.events"]
    async with rt.db.session() as session:
        assert await stats(session, "en") == [
            'Events: 1 held, 1 check-ins (1 different members), 0 "going" answers'
        ]
        assert await member_history(session=session, member_id=nino.id or 0) == (1, 0)


async def test_secretariat_sees_attendance_so_far_in_stats(bot: RunningBot) -> None:
    tamar, admin = await admin_of(bot)
    async with bot.rt.db.session() as session:
        nino = await make_member(session, name="ნინო ბერიძე", telegram=False)
    held = await published(
        bot.rt, starts=utcnow() - timedelta(days=1), now=utcnow() - timedelta(days=10)
    )
    async with bot.rt.db.session() as session:
        fresh = await session.get(Event, held.id)
        assert fresh is not None
        await check_in(session=session, event=fresh, actor=admin, now=utcnow(), member_id=nino.id)
    text = await say(tamar, "/stats")
    members, _, events = text.partition("ღონისძიებები: ჩატარდა 1")
    assert "მონაწილეები: 2" in members
    assert events.startswith(", დასწრება 1 (სხვადასხვა წევრი: 1)")
