"""/profile: a member sees every field and changes each one, validated like registration."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from models.audit import AuditLog
from models.members import Consent, Member
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")


class Transcript:
    """Waits for the next bot message (after the last one seen) that contains a text."""

    def __init__(self, bot: RunningBot, user: VirtualUser) -> None:
        self.bot, self.user, self.seen = bot, user, len(user.inbox)

    async def next(self, text: str) -> str:
        def find() -> tuple[int, str] | None:
            inbox = self.user.inbox
            for index in range(self.seen, len(inbox)):
                if text in inbox[index].body:
                    return index, inbox[index].body
            return None

        index, body = await self.bot.tg.wait_until(
            find, PATIENCE, lambda: f"no new {text!r}: {self.user.texts()[-2:]!r}"
        )
        self.seen = index + 1
        return body


async def test_member_edits_every_field_of_the_profile(bot: RunningBot) -> None:
    user = bot.tg.user(language_code="en")
    chat = Transcript(bot, user)
    async with bot.rt.db.session() as session:
        member = await make_member(
            session,
            name="Dato Old",
            telegram=user.id,
            language="en",
            phone="+995599000001",
            community="areshperani",
            village="ზემო ბოლქვი",
            gender=None,
            interests=[],
        )
        await make_member(session, name="Other Person", telegram=False, phone="+995599000002")
        member_id = member.id
    await user.send("/profile")
    shown = await chat.next("Your profile")
    for line in (
        "Name: Dato Old",
        "Phone: +995599000001",
        "Community: Areshperani",
        "Village: Zemo Bolkvi",
        "Sector: Civil society",
        "Gender: —",
        "SMS letters: Native letters",
        "Announcements: Yes",
    ):
        assert line in shown, line
    await user.press("✏️ Name")
    await chat.next("first and last name")
    await user.send("D4to")
    assert "cannot contain digits" in await chat.next("digits")
    await user.press("✏️ Name")
    await chat.next("first and last name")
    await user.send("Dato Newname")
    assert "Name: Dato Newname" in await chat.next("Saved ✓")
    await user.press("✏️ Phone")
    await chat.next("(cancel: /cancel)")
    await user.send("599 000 002")  # somebody else's number
    assert "already registered to another participant" in await chat.next("another participant")
    await user.press("✏️ Community")
    await chat.next("Choose — Community")
    await user.press("Shroma")
    moved = await chat.next("village was cleared")
    assert "Community: Shroma" in moved and "Village: —" in moved
    await user.press("✏️ Village")
    await chat.next("Which village")
    await user.send("Shroma")
    assert "Village: Shroma" in await chat.next("Saved ✓")
    await user.press("✏️ Gender")
    await chat.next("Choose — Gender")
    await user.press("Female")
    assert "Gender: Female" in await chat.next("Saved ✓")
    await user.press("✏️ Gender")
    await chat.next("Choose — Gender")
    await user.press("🗑 Remove gender")
    assert "Gender: —" in await chat.next("Saved ✓")
    await user.press("✏️ SMS letters")
    await chat.next("Choose — SMS letters")
    await user.press("Latin letters")
    assert "SMS letters: Latin letters" in await chat.next("Saved ✓")
    await user.press("✏️ Announcements")
    await chat.next("Choose — Announcements")
    await user.press("No")
    assert "Announcements: No" in await chat.next("Saved ✓")
    await user.press("✏️ Birth year")
    await chat.next("Year of birth")
    await user.send("1991")
    assert "Birth year: 1991" in await chat.next("Saved ✓")
    await user.press("✏️ Interests")
    await chat.next("What interests you")
    await user.press("Tourism")
    await bot.tg.wait_until(lambda: "✓ Tourism" in user.last().labels or None)
    await user.press("✅ Done")
    assert "Interests: Tourism" in await chat.next("Saved ✓")
    await user.press("✏️ Sector")
    await chat.next("Choose — Sector")
    await user.press("Public")
    assert "Sector: Public" in await chat.next("Saved ✓")
    await user.press("✏️ Phone")
    await chat.next("(cancel: /cancel)")
    await user.send("/cancel")
    await chat.next("Cancelled.")
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member_id)
        gender = (
            (
                await session.execute(
                    select(Consent.given)
                    .where(col(Consent.member_id) == member_id, col(Consent.kind) == "gender")
                    .order_by(col(Consent.id))
                )
            )
            .scalars()
            .all()
        )
        audited = (
            (
                await session.execute(
                    select(AuditLog.details).where(col(AuditLog.action) == "profile.update")
                )
            )
            .scalars()
            .all()
        )
    assert fresh is not None
    assert (fresh.name, fresh.phone, fresh.village, fresh.gender, fresh.sms_script) == (
        "Dato Newname",
        "+995599000001",
        "Shroma",
        None,
        "latin",
    )
    assert (fresh.birth_year, fresh.interests, fresh.sector) == (1991, ["tourism"], "public")
    assert fresh.consent_announcements is False
    assert gender == [True, False]  # gender consent given, then withdrawn
    assert {d["field"] for d in audited} >= {
        "name",
        "community",
        "village",
        "gender",
        "sms_script",
        "consent_ann",
        "birth_year",
        "interests",
        "sector",
    }
    assert all("Dato" not in str(d) for d in audited)  # audited by field, never by value


async def test_changing_language_on_telegram_is_audited_like_every_profile_field(
    bot: RunningBot,
) -> None:
    """/language and /profile's language buttons take the one path SMS PROFILE takes too."""
    user = bot.tg.user(language_code="en")
    chat = Transcript(bot, user)
    async with bot.rt.db.session() as session:
        member = await make_member(session, name="Dato Old", telegram=user.id, language="en")
        member_id = member.id
    await user.send("/language")
    await chat.next("Choose a language")
    await user.press("Русский")
    await bot.tg.wait_until(lambda: "Язык: русский ✓" in user.last().text or None)
    await user.send("/profile")
    assert "Язык: Русский" in await chat.next("Ваш профиль")
    await user.press("✏️ Язык")
    await chat.next("Выберите язык")
    await user.press("ქართული")
    await bot.tg.wait_until(lambda: "ენა: ქართული ✓" in user.last().text or None)
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member_id)
        audited = (
            (
                await session.execute(
                    select(AuditLog)
                    .where(col(AuditLog.action) == "profile.update")
                    .order_by(col(AuditLog.id))
                )
            )
            .scalars()
            .all()
        )
    assert fresh is not None and fresh.language == "ka"
    assert [(a.details["field"], a.details["channel"]) for a in audited] == [
        ("language", "telegram"),
        ("language", "telegram"),
    ]
    assert all(
        a.target == f"member:{member_id}" and a.actor_member_id == member_id for a in audited
    )
