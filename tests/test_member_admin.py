"""The secretariat's member tools, and that nobody else can use them."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date

import pytest
from sqlmodel import col, select

from models.audit import AuditLog
from models.members import Consent, Member
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")

ADMIN_COMMANDS = [
    "/member 1 yes", "/approve 1", "/promote 1", "/demote 1", "/members", "/export members",
    "/stats",
]  # fmt: skip


async def _text(bot: RunningBot, user: VirtualUser, text: str) -> str:
    message = await bot.tg.wait_until(
        lambda: next((m for m in reversed(user.inbox) if text in m.body), None),
        PATIENCE,
        lambda: f"no message with {text!r}: {user.texts()[-2:]!r}",
    )
    return message.body


async def test_every_admin_command_is_refused_to_a_plain_member(bot: RunningBot) -> None:
    villager = bot.tg.user(language_code="en")
    stranger = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        await make_member(session, name="Villager", telegram=villager.id, language="en")
    for command in ADMIN_COMMANDS:
        villager.skip_unread()
        await villager.send(command)
        assert (await villager.reply()).text == "This command is for the secretariat only."
        stranger.skip_unread()
        await stranger.send(command)
        assert "register first" in (await stranger.reply()).text
    await villager.press_data("mem:2:s=civil", message=villager.inbox[-1])  # forged paging
    assert (await villager.reply()).text == "This command is for the secretariat only."
    refused: list[AuditLog] = []
    for _ in range(50):  # the refusal is answered first, then audited
        async with bot.rt.db.session() as session:
            refused = list(
                (
                    await session.execute(
                        select(AuditLog).where(col(AuditLog.action) == "access.refused")
                    )
                ).scalars()
            )
            members = (await session.execute(select(Member))).scalars().all()
        if len(refused) == 2 * len(ADMIN_COMMANDS) + 1:
            break
        await asyncio.sleep(0.1)
    assert len(refused) == 2 * len(ADMIN_COMMANDS) + 1
    assert {r.target for r in refused} == {c.split()[0] for c in ADMIN_COMMANDS}
    assert [m.role for m in members] == ["member"] and not members[0].is_lag_member
    menu = [c["command"] for c in bot.tg.commands(None, "en")]
    assert "members" not in menu and "stats" not in menu  # the default menu hides them


async def test_secretariat_marks_formal_members_approves_and_changes_roles(
    bot: RunningBot,
) -> None:
    admin = bot.tg.user(language_code="en")
    teen = bot.tg.user(language_code="en")
    helper = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        boss = await make_member(
            session, name="Eka Secretary", telegram=admin.id, language="en", role="secretariat"
        )
        coop = await make_member(session, name="Zaza Farmer", telegram=False, sector="private")
        await make_member(session, name="Zaza Builder", telegram=False)
        young = await make_member(
            session,
            name="Teen Ager",
            telegram=teen.id,
            language="en",
            status="pending_guardian",
            birth_year=date.today().year - 15,
        )
        aide = await make_member(session, name="Helper Person", telegram=helper.id, language="en")
    await admin.send("/member Zaza yes")
    listing = await _text(bot, admin, "Several match")
    assert f"#{coop.id} Zaza Farmer" in listing
    await admin.send(f"/member #{coop.id} yes Lagodekhi Farmers Cooperative")
    marked = await _text(bot, admin, "is a formal LAG member")
    assert "Private" in marked and "Lagodekhi Farmers Cooperative" in marked
    await admin.send("/member Nobody yes")
    assert "not found" in await _text(bot, admin, "not found")
    await admin.send(f"/approve {young.id}")
    await _text(bot, admin, "is active")
    assert "welcome to the LAG" in await _text(bot, teen, "welcome to the LAG")
    await admin.send(f"/approve {young.id}")
    assert "not waiting" in await _text(bot, admin, "not waiting")
    await admin.send(f"/promote {aide.id}")
    await _text(bot, admin, "role — secretariat")
    assert "secretariat" in await _text(bot, helper, "Your role")
    helper_menu = [c["command"] for c in bot.tg.commands({"type": "chat", "chat_id": helper.id})]
    assert "stats" in helper_menu and "export" in helper_menu
    await admin.send(f"/demote {aide.id}")
    await _text(bot, admin, "role — member")
    await admin.send(f"/demote {boss.id}")  # the last secretariat member cannot go
    assert "last secretariat member" in await _text(bot, admin, "last secretariat")
    async with bot.rt.db.session() as session:
        farmer = await session.get(Member, coop.id)
        approved = await session.get(Member, young.id)
        guardian = (
            (
                await session.execute(
                    select(Consent).where(
                        col(Consent.member_id) == young.id, col(Consent.kind) == "guardian"
                    )
                )
            )
            .scalars()
            .one()
        )
        actions = [
            a.action
            for a in (await session.execute(select(AuditLog).order_by(col(AuditLog.id)))).scalars()
        ]
    assert farmer is not None and farmer.is_lag_member and farmer.lag_member_since
    assert farmer.organisation == "Lagodekhi Farmers Cooperative"
    assert approved is not None and approved.status == "active" and guardian.channel == "paper"
    assert actions == ["member.lag_member", "member.approved", "role.change", "role.change"]


async def test_members_list_export_and_stats(bot: RunningBot) -> None:
    admin = bot.tg.user(language_code="en")
    year = date.today().year
    async with bot.rt.db.session() as session:
        await make_member(
            session,
            name="Admin",
            telegram=admin.id,
            language="en",
            role="secretariat",
            sector="public",
            is_lag_member=True,
        )
        for i in range(23):
            await make_member(
                session,
                name=f"Kabali Farmer {i:02d}",
                telegram=False,
                community="kabali",
                sector="private",
                is_lag_member=True,
                birth_year=year - 20 if i < 5 else 1970,
                gender="male" if i % 2 else "female",
            )
        await make_member(
            session,
            name="ნინო ბერიძე",
            telegram=False,
            community="apeni",
            sector="civil",
            is_lag_member=True,
            sms_opt_out_at=None,
        )
        await make_member(session, name="Gone Person", telegram=False, status="erased")
    await admin.send("/members kabali private")
    page1 = await _text(bot, admin, "Participants: 23 (page 1/2)")
    assert "Kabali Farmer 00" in page1 and "Kabali Farmer 22" not in page1
    await admin.press("▶")
    page2 = await _text(bot, admin, "(page 2/2)")
    assert "Kabali Farmer 22" in page2
    await admin.send("/members youth kabali")
    assert "Participants: 5" in await _text(bot, admin, "Participants: 5")
    await admin.send("/members nonsense")
    assert "Unknown filter" in await _text(bot, admin, "Unknown filter")
    await admin.send("/export members")
    document = await bot.tg.wait_until(
        lambda: next((m for m in admin.inbox if m.document is not None), None)
    )
    assert document.document is not None and document.document.content is not None
    content = document.document.content
    assert content.startswith("\ufeff".encode())  # BOM: Excel reads Georgian as UTF-8
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 25 and "Gone Person" not in content.decode("utf-8-sig")
    nino = next(r for r in rows if r["name"] == "ნინო ბერიძე")
    assert nino["community"] == "აფენი" and nino["sector"] == "civil"
    await admin.send("/stats")
    stats = await _text(bot, admin, "Participants: 25")
    assert "formal members: 25" in stats
    assert "Kabali: 0 / 23 / 0" in stats
    assert "Private sector holds 92%" in stats or "The Private sector holds 92%" in stats
    assert "Youth (14–29): 5 (20%)" in stats
    assert "Telegram only 0 · SMS only 24 · both 1 · none 0" in stats
