"""Registration on Telegram, as conversations: every step's happy path and its rejections."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from models.dialogs import get_dialog
from models.members import Consent, Member
from tests.fakes.telegram_models import BotMessage
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")


async def _member(bot: RunningBot, user: VirtualUser) -> Member | None:
    async with bot.rt.db.session() as session:
        result = await session.execute(select(Member).where(Member.telegram_id == user.id))
        return result.scalars().first()


_seen: dict[int, int] = {}


@pytest.fixture(autouse=True)
def _fresh_transcripts() -> None:
    _seen.clear()


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
        find, PATIENCE, lambda: f"no new message with {text!r}; got {user.texts()[-3:]!r}"
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
    for expected in (
        "ნინო ბერიძე",
        "+995599123456",
        "არეშფერანი",
        "ზემო ბოლქვი",
        "სამოქალაქო",
        "1990",
        "ქალი",
        "ტურიზმი",
    ):
        assert expected in summary, expected
    assert "კულტურა" not in summary
    assert await _member(bot, nino) is None  # still only a draft
    await nino.press("✅ დადასტურება")
    welcome = await _until(bot, nino, "გილოცავთ")
    assert "/profile" in welcome  # the menu of commands follows
    member = await _member(bot, nino)
    assert member is not None and member.status == "active"
    assert (member.name, member.phone, member.phone_verified) == (
        "ნინო ბერიძე",
        "+995599123456",
        True,
    )
    assert (member.sector, member.birth_year, member.gender) == ("civil", 1990, "female")
    assert member.village == "ზემო ბოლქვი" and member.interests == ["tourism"]
    assert member.consent_announcements and member.joined_via == "telegram"
    assert member.telegram_username == "nino_b"
    async with bot.rt.db.session() as session:
        consents = (
            (await session.execute(select(Consent).where(col(Consent.member_id) == member.id)))
            .scalars()
            .all()
        )
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


async def _to_step(bot: RunningBot, user: VirtualUser, step: str) -> None:
    """Answer the questions before `step` in English, the happy way."""
    await start_in(bot, user, "English")
    await _until(bot, user, "Do you agree")
    await user.press("✅ I agree")
    await _until(bot, user, "announcements")
    await user.press("No")
    await _until(bot, user, "first and last name")
    if step == "name":
        return
    await user.send("Giorgi Kapanadze")
    await _until(bot, user, "Your mobile number")
    if step == "phone":
        return
    await user.send("+995 577 12 34 56")
    await _until(bot, user, "Which community")
    await user.press("Kabali")
    await _until(bot, user, "Which village")
    await user.press("Skip")
    await _until(bot, user, "Which sector")
    await user.press("Private")
    await _until(bot, user, "Year of birth")


async def test_every_wrong_answer_is_asked_again_with_a_reason(bot: RunningBot) -> None:
    giorgi = bot.tg.user(language_code="en")
    await _to_step(bot, giorgi, "name")
    for typed, reason in [
        ("12345", "cannot contain digits"),
        ("see https://spam.example", "cannot contain a link"),
        ("😀😀😀", "in letters"),
        ("G", "in letters"),
        ("Giorgi <b>", "only have letters"),
        ("A" * 101, "too long"),
    ]:
        await giorgi.send(typed)
        answer = await _until(bot, giorgi, "first and last name")
        assert reason in answer, (typed, answer)
    await giorgi.send("Giorgi Kapanadze")
    await _until(bot, giorgi, "Your mobile number")
    for typed, reason in [
        ("hello", "does not look like a mobile number"),
        ("0322 24 11 11", "landline"),  # Tbilisi landline
        ("599", "does not look like a mobile number"),
    ]:
        await giorgi.send(typed)
        answer = await _until(bot, giorgi, "Your mobile number")
        assert reason in answer, (typed, answer)
    await giorgi.share_contact("+995555000111", user_id=424242, first_name="Neighbour")
    assert "your own number" in await _until(bot, giorgi, "Your mobile number")
    await giorgi.send("0577 12 34 56")  # with the leading 0: still a Georgian mobile
    await _until(bot, giorgi, "Which community")
    await giorgi.send("qabal")  # typed instead of pressed, in Azerbaijani: still understood
    await _until(bot, giorgi, "Which village")
    await giorgi.send("12")
    assert "village name in letters" in await _until(bot, giorgi, "Which village")
    await giorgi.send("Ganjala")
    await _until(bot, giorgi, "Which sector")
    await giorgi.send("something")
    assert "from 1 to 3" in await _until(bot, giorgi, "Which sector")
    await giorgi.press("Private")
    await _until(bot, giorgi, "Year of birth")
    for typed, reason in [
        ("eighty", "4 digits"),
        ("85", "4 digits"),
        ("1850", "cannot be right"),
        ("2031", "cannot be right"),
    ]:
        await giorgi.send(typed)
        assert reason in await _until(bot, giorgi, "Year of birth"), typed
    await giorgi.send("1985")
    await _until(bot, giorgi, "gender")
    await giorgi.press("No, skip")  # gender is optional, with its own consent
    await _until(bot, giorgi, "What interests you")
    await giorgi.press("✅ Done")
    summary = await _until(bot, giorgi, "Please check")
    assert "Gender: —" in summary and "Village: Ganjala" in summary
    assert "Community: Kabali" in summary and "Phone: +995577123456" in summary
    await giorgi.press("✏️ Name")  # correct a field from the summary
    await _until(bot, giorgi, "first and last name")
    await giorgi.send("Giorgi Kapanadze-Beridze")
    assert "Giorgi Kapanadze-Beridze" in await _until(bot, giorgi, "Please check")
    await giorgi.press("✅ Confirm")
    await _until(bot, giorgi, "Congratulations")
    member = await _member(bot, giorgi)
    assert member is not None and member.name == "Giorgi Kapanadze-Beridze"
    assert member.gender is None and member.consent_announcements is False
    assert member.phone_verified is False  # typed, not shared: proves nothing


async def test_declining_consent_keeps_nothing(bot: RunningBot) -> None:
    user = bot.tg.user(language_code="ru")
    await start_in(bot, user, "Русский")
    await _until(bot, user, "Вы согласны")
    await user.press("❌ Не согласен(на)")
    assert "ничего не сохранено" in await _until(bot, user, "ничего")
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="telegram", address=str(user.id)) is None
    assert await _member(bot, user) is None


async def test_under_14_is_refused_and_nothing_is_kept(bot: RunningBot) -> None:
    child = bot.tg.user(language_code="en")
    await _to_step(bot, child, "birth_year")
    this_year = __import__("datetime").date.today().year
    await child.send(str(this_year - 12))
    assert "from age 14" in await _until(bot, child, "14")
    assert await _member(bot, child) is None
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="telegram", address=str(child.id)) is None


async def test_under_consent_age_waits_for_a_guardian(bot: RunningBot) -> None:
    from tests.factories import make_member

    secretary = bot.tg.user(language_code="en")  # must exist before the bot writes to them
    async with bot.rt.db.session() as session:
        await make_member(
            session,
            name="Secretary",
            role="secretariat",
            language="en",
            telegram=secretary.id,
            phone=False,
        )
    teen = bot.tg.user(language_code="en")
    await _to_step(bot, teen, "birth_year")
    this_year = __import__("datetime").date.today().year
    await teen.send(str(this_year - 15))
    await _until(bot, teen, "gender")
    await teen.press("No, skip")
    await _until(bot, teen, "What interests you")
    await teen.press("✅ Done")
    await _until(bot, teen, "Please check")
    await teen.press("✅ Confirm")
    done = await _until(bot, teen, "parent or guardian")
    assert "LAG office" in done and "/profile" not in done  # no member menu yet
    member = await _member(bot, teen)
    assert member is not None and member.status == "pending_guardian"
    notice = await _until(bot, secretary, "waiting for a parent")
    assert f"/approve {member.id}" in notice
    await teen.send("/start")  # coming back before the guardian signed: not "welcome back"
    again = await _until(bot, teen, "waiting for a parent's or guardian's consent")
    assert "Welcome back" not in again and "consent form at the LAG office" in again
    assert "/approve" not in again and "/members" not in again  # no command list for members


async def test_start_tells_a_pending_minor_in_georgian_what_is_missing(bot: RunningBot) -> None:
    from tests.factories import make_member

    teen = bot.tg.user(language_code="ka")
    async with bot.rt.db.session() as session:
        await make_member(session, name="ლუკა", telegram=teen.id, status="pending_guardian")
    await teen.send("/start")
    text = (await teen.reply()).text
    assert text.startswith("გამარჯობა, ლუკა!") and "დაბრუნება" not in text
    assert "მშობლის ან მეურვის თანხმობას" in text and "LAG-ის ოფისში" in text


async def test_an_old_button_gets_the_current_question(bot: RunningBot) -> None:
    user = bot.tg.user(language_code="en")
    await _to_step(bot, user, "phone")
    old = next(m for m in user.inbox if "announcements" in m.body)
    await user.press_data("reg:consent_ann:yes", message=old)  # pressed again after moving on
    again = await _until(bot, user, "Your mobile number")
    assert "already behind us" in again
    async with bot.rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
    assert dialog is not None and dialog.step == "phone" and dialog.data["consent_ann"] is False


async def test_cancel_deletes_the_draft_and_any_first_message_starts_over(
    bot: RunningBot,
) -> None:
    user = bot.tg.user(language_code="en")
    await _to_step(bot, user, "phone")
    await user.send("/cancel")
    assert "was deleted" in await _until(bot, user, "Registration cancelled")
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="telegram", address=str(user.id)) is None
    await user.send("hello?")  # not a command: still offered the languages
    message = await _message(bot, user, "Choose a language")
    assert message.labels == ["ქართული", "Azərbaycanca", "Русский", "English"]


async def test_quick_taps_on_interests_are_never_lost(bot: RunningBot) -> None:
    user = bot.tg.user(language_code="en")
    await _to_step(bot, user, "birth_year")
    await user.send("1980")
    await _until(bot, user, "gender")
    await user.press("No, skip")
    await _until(bot, user, "What interests you")
    for label in ("Tourism", "Culture", "Youth", "Environment"):  # no waiting in between
        await user.press(label)
    await bot.tg.wait_until(
        lambda: (
            {"✓ Tourism", "✓ Culture", "✓ Youth", "✓ Environment"} <= set(user.last().labels)
            or None
        )
    )
    await user.press("✅ Done")
    summary = await _until(bot, user, "Please check")
    assert "Interests: Tourism, Environment, Culture, Youth" in summary
