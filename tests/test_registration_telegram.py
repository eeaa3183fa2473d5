"""Registration on Telegram, as conversations: every step's happy path and its rejections."""

from __future__ import annotations

from sqlmodel import col, select

from models.dialogs import get_dialog
from models.members import Consent, Member
from tests.fakes.telegram_models import BotMessage
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot


async def _member(bot: RunningBot, user: VirtualUser) -> Member | None:
    async with bot.rt.db.session() as session:
        result = await session.execute(select(Member).where(Member.telegram_id == user.id))
        return result.scalars().first()


_seen: dict[int, int] = {}


async def _until(bot: RunningBot, user: VirtualUser, text: str) -> str:
    return (await _message(bot, user, text)).body


async def _message(bot: RunningBot, user: VirtualUser, text: str) -> BotMessage:
    """Wait for a new bot message (after the last one this returned) containing `text`."""

    def find() -> tuple[int, BotMessage] | None:
        inbox = user.inbox
        for index in range(_seen.get(user.id, 0), len(inbox)):
            if text in inbox[index].body:
                return index, inbox[index]
        return None

    index, message = await bot.tg.wait_until(
        find, 5.0, lambda: f"no new message with {text!r}; got {user.texts()[-3:]!r}"
    )
    _seen[user.id] = index + 1
    return message


async def start_in(bot: RunningBot, user: VirtualUser, language: str = "ქართული") -> None:
    await user.send("/start")
    await user.reply()
    await user.press(language)


async def test_full_registration_in_georgian(bot: RunningBot) -> None:
    nino = bot.tg.user(language_code="ka", username="nino_b")
    await start_in(bot, nino)
    consent = await _until(bot, nino, "ეთანხმებით")
    assert "/forget" in consent and "/mydata" in consent and "2026-11" in consent
    assert await _member(bot, nino) is None  # nothing stored before consent
    await nino.press("✅ ვეთანხმები")
    await _until(bot, nino, "სიახლეები")
    await nino.press("კი")
    await _until(bot, nino, "სახელი და გვარი")
    await nino.send("ნინო ბერიძე")
    ask_phone = await _message(bot, nino, "თქვენი მობილურის ნომერი")
    assert "სახელი: ნინო ბერიძე ✓" in ask_phone.body
    assert ask_phone.buttons == [["📱 ჩემი ნომრის გაზიარება"]]
    await nino.share_contact("995599123456")
    labels = (await _message(bot, nino, "რომელ თემში")).labels
    assert len(labels) == 15 and "კაბალი" in labels and "ქ. ლაგოდეხი" in labels
    await nino.press("არეშფერანი")
    village = await _message(bot, nino, "სოფელში")
    assert "ზემო ბოლქვი" in village.labels and "გამოტოვება" in village.labels
    await nino.press("ზემო ბოლქვი")
    await _until(bot, nino, "რომელ სექტორს")
    await nino.press("სამოქალაქო")
    await _until(bot, nino, "დაბადების წელი")
    await nino.send("1990")
    await _until(bot, nino, "სქესს")
    await nino.press("კი, ვეთანხმები და ვიტყვი")
    await _until(bot, nino, "თქვენი სქესი")
    await nino.press("ქალი")
    await _until(bot, nino, "რა გაინტერესებთ")
    await nino.press("ტურიზმი")
    await bot.tg.wait_until(lambda: "✓ ტურიზმი" in nino.last().labels)
    await nino.press("კულტურა")
    await bot.tg.wait_until(lambda: "✓ კულტურა" in nino.last().labels)
    await nino.press("✓ კულტურა")  # toggled off again
    await bot.tg.wait_until(lambda: "კულტურა" in nino.last().labels)
    await nino.press("✅ მზადაა")
    summary = await _until(bot, nino, "შეამოწმეთ")
    for expected in ("ნინო ბერიძე", "+995599123456", "არეშფერანი", "ზემო ბოლქვი",
                     "სამოქალაქო", "1990", "ქალი", "ტურიზმი"):  # fmt: skip
        assert expected in summary, expected
    assert "კულტურა" not in summary
    assert await _member(bot, nino) is None  # still only a draft
    await nino.press("✅ დადასტურება")
    welcome = await _until(bot, nino, "გილოცავთ")
    assert "/profile" in welcome  # the menu of commands follows
    member = await _member(bot, nino)
    assert member is not None and member.status == "active"
    assert (member.name, member.phone, member.phone_verified) == (
        "ნინო ბერიძე", "+995599123456", True,
    )  # fmt: skip
    assert (member.sector, member.birth_year, member.gender) == ("civil", 1990, "female")
    assert member.village == "ზემო ბოლქვი" and member.interests == ["tourism"]
    assert member.consent_announcements and member.joined_via == "telegram"
    assert member.telegram_username == "nino_b"
    async with bot.rt.db.session() as session:
        consents = (
            await session.execute(select(Consent).where(col(Consent.member_id) == member.id))
        ).scalars().all()
        assert await get_dialog(session=session, channel="telegram", address=str(nino.id)) is None
    assert {(c.kind, c.given, c.channel, c.text_version) for c in consents} == {
        ("data", True, "telegram", "2026-11"),
        ("announcements", True, "telegram", "2026-11"),
        ("gender", True, "telegram", "2026-11"),
    }
    menu = bot.tg.commands({"type": "chat", "chat_id": nino.id})
    assert "profile" in [c["command"] for c in menu]
    await nino.send("/start")
    assert "ბრძანებები" in (await _until(bot, nino, "კეთილი"))  # a member gets the menu
