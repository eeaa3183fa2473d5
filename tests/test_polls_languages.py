"""Polls in every member's language: the secretariat adds az / ru / en versions of the question
and options; each member gets theirs (else az → ru → ka, ru → ka, en → ka), on both channels,
in reminders and results; /results and the CSV stay in Georgian; old polls are unchanged."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.sms.encoding import sms_info
from bot.sms.translit import to_latin_sms
from models.base import utcnow
from models.members import Role
from models.polls import PollInvalid
from tests.harness import RunningBot
from tests.polls_support import (
    OPTIONS,
    QUESTION,
    add_member,
    bot,
    counts,
    reload,
    send_poll,
    tick,
)

__all__ = ["bot"]  # the fixture, used by name

AZ_PHONE, KA_PHONE, EN_PHONE = "+995599320001", "+995599320002", "+995599320003"
VERSIONS = {
    "az": ("Təlim üçün hansı tarix uyğundur?", ["3 dekabr", "5 dekabr", "10 dekabr"]),
    "ru": ("Какая дата подходит для тренинга?", ["3 декабря", "5 декабря", "10 декабря"]),
}


async def test_an_azerbaijani_sms_member_and_a_russian_telegram_member_get_their_versions(
    bot: RunningBot,
) -> None:
    await add_member(bot, None, phone=AZ_PHONE, language="az")
    olga = bot.tg.user()
    await add_member(bot, olga, phone=False, language="ru")
    poll = await send_poll(bot, versions=VERSIONS)

    [ballot] = await bot.sms_replies(AZ_PHONE, 1)
    assert f"{poll.code}: Təlim üçün hansı tarix uyğundur?" in ballot
    assert "1) 3 dekabr 2) 5 dekabr 3) 10 dekabr" in ballot
    assert "დეკემბერი" not in ballot

    telegram = await olga.reply()
    assert "Какая дата подходит для тренинга?" in telegram.text
    assert olga.buttons(telegram) == [["1) 3 декабря"], ["2) 5 декабря"], ["3) 10 декабря"]]

    # Olga's vote is confirmed with her words; the Azerbaijani answers by SMS, in hers.
    await olga.press("2) 5 декабря")
    await bot.tg.wait_until(lambda: "✓ 2) 5 декабря" in olga.last().labels)
    assert "5 декабря" in (olga.callback_answers[-1] or {}).get("text", "")
    [answer] = await bot.sms(AZ_PHONE, f"{poll.code} 3")
    assert "3) 10 dekabr" in answer
    assert await counts(bot, poll) == [0, 1, 1]


async def test_a_member_whose_language_has_no_version_gets_georgian(bot: RunningBot) -> None:
    await add_member(bot, None, phone=EN_PHONE, language="en")
    await add_member(bot, None, phone=AZ_PHONE, language="az")
    poll = await send_poll(bot, versions={"ru": VERSIONS["ru"]})  # no az, no en
    [english] = await bot.sms_replies(EN_PHONE, 1)
    assert f"{poll.code}: {QUESTION}" in english  # en → ka
    assert "1) 3 დეკემბერი" in english
    [azeri] = await bot.sms_replies(AZ_PHONE, 1)
    assert "Какая дата подходит для тренинга?" in azeri  # az → ru before ka


async def test_an_option_word_in_any_version_votes(bot: RunningBot) -> None:
    await add_member(bot, None, phone=AZ_PHONE, language="az")
    poll = await send_poll(
        bot,
        question="ფესტივალი სად გავმართოთ?",
        options=["ლაგოდეხი", "კაბალი"],
        versions={"az": ("Festival harada olsun?", ["Laqodexi", "Qax"])},
    )
    await bot.sms_replies(AZ_PHONE, 1)
    [answer] = await bot.sms(AZ_PHONE, f"{poll.code} qax")
    assert "2) Qax" in answer
    [by_georgian] = await bot.sms(AZ_PHONE, "ლაგოდეხი")
    assert "1) Laqodexi" in by_georgian
    assert await counts(bot, poll) == [1, 0]


async def test_reminder_and_results_come_in_the_members_language(bot: RunningBot) -> None:
    await add_member(bot, None, phone=AZ_PHONE, language="az")
    await add_member(bot, None, phone=KA_PHONE)
    now = utcnow()
    poll = await send_poll(bot, versions=VERSIONS, closes_in=timedelta(days=3), now=now)
    await bot.sms_replies(AZ_PHONE, 1)
    await bot.sms_replies(KA_PHONE, 1)
    await bot.sms(KA_PHONE, f"{poll.code} 1")

    await tick(bot, poll.reminder_at + timedelta(minutes=1))
    reminder = (await bot.sms_replies(AZ_PHONE, 2))[1]  # only the Azerbaijani has not voted
    assert "Təlim üçün hansı tarix uyğundur?" in reminder and "10 dekabr" in reminder

    await bot.sms(AZ_PHONE, f"{poll.code} 2")
    await tick(bot, poll.closes_at + timedelta(minutes=1))
    az_results = (await bot.sms_replies(AZ_PHONE, 4))[3]
    assert "5 dekabr" in az_results and "დეკემბერი" not in az_results
    ka_results = (await bot.sms_replies(KA_PHONE, 3))[2]
    assert "5 დეკემბერი" in ka_results


async def test_results_stay_georgian_for_a_russian_secretary_who_got_her_ballot_in_russian(
    bot: RunningBot,
) -> None:
    olga = bot.tg.user()
    await add_member(bot, olga, phone=False, role=Role.SECRETARIAT, language="ru")
    await add_member(bot, None, phone=AZ_PHONE, language="az")
    poll = await send_poll(bot, versions=VERSIONS)
    assert "Какая дата подходит для тренинга?" in (await olga.reply()).text  # her own ballot
    await bot.sms_replies(AZ_PHONE, 1)
    [answer] = await bot.sms(AZ_PHONE, f"{poll.code} 2")
    assert "2) 5 dekabr" in answer  # the member, in his version

    await olga.send(f"/results {poll.code}")
    results = (await olga.reply()).text
    assert f"{poll.code} · {QUESTION}" in results  # the poll as the secretariat wrote it
    assert "2) 5 დეკემბერი — 1 (100%)" in results
    assert "Какая дата" not in results and "декабря" not in results
    assert "dekabr" not in results


async def test_the_csv_stays_georgian_for_a_poll_with_versions(bot: RunningBot) -> None:
    olga = bot.tg.user()
    await add_member(bot, olga, phone=False, role=Role.SECRETARIAT, language="ru")
    await add_member(bot, None, phone=AZ_PHONE, language="az", name="Aysel Məmmədova")
    named = await send_poll(bot, versions=VERSIONS)
    hidden = await send_poll(bot, versions=VERSIONS, anonymous=True)
    await olga.replies(2)  # her ballots, in Russian
    await bot.sms_replies(AZ_PHONE, 2)
    [named_answer] = await bot.sms(AZ_PHONE, f"{named.code} 2")
    [hidden_answer] = await bot.sms(AZ_PHONE, f"{hidden.code} 3")
    assert "2) 5 dekabr" in named_answer and "3) 10 dekabr" in hidden_answer

    await olga.send(f"/pollcsv {named.code}")
    votes = await olga.reply()
    assert votes.document is not None and votes.document.content is not None
    rows = list(csv.reader(io.StringIO(votes.document.content.decode("utf-8-sig"))))
    [aysel] = [row for row in rows[1:] if row[1] == "Aysel Məmmədova"]
    assert aysel[7:9] == ["2", "5 დეკემბერი"]  # the Georgian option, not "5 dekabr"

    await olga.send(f"/pollcsv {hidden.code}")
    totals = await olga.reply()
    assert totals.document is not None and totals.document.content is not None
    content = totals.document.content.decode("utf-8-sig")
    assert content.startswith(f"{hidden.code},{QUESTION}")
    assert "3,10 დეკემბერი,1,100" in content
    assert "dekabr" not in content and "декабря" not in content and "Какая" not in content


async def test_versions_must_have_the_same_options(bot: RunningBot) -> None:
    with pytest.raises(PollInvalid):
        await send_poll(bot, versions={"ru": ("Вопрос?", ["3 декабря", "5 декабря"])})


async def test_a_poll_without_versions_is_georgian_for_everyone(bot: RunningBot) -> None:
    await add_member(bot, None, phone=AZ_PHONE, language="az")
    poll = await send_poll(bot)
    [ballot] = await bot.sms_replies(AZ_PHONE, 1)
    assert f"{poll.code}: {QUESTION}" in ballot
    fresh = await reload(bot, poll)
    assert fresh.question_versions is None and fresh.option_versions is None
    assert fresh.version("ru") == (QUESTION, OPTIONS)


async def test_the_secretary_adds_an_azerbaijani_version_in_newpoll(bot: RunningBot) -> None:
    tamar = bot.tg.user()
    await add_member(bot, tamar, phone=False, role=Role.SECRETARIAT)
    await add_member(bot, None, phone=AZ_PHONE, language="az")
    await tamar.send("/newpoll")
    await tamar.reply()
    await tamar.send("ფესტივალზე წამოხვალთ?")
    await tamar.reply()
    await tamar.send("კი\nარა")
    await tamar.reply()
    await tamar.press("🌐 ენები")
    await bot.tg.wait_until(lambda: "+ Azərbaycanca" in tamar.last().labels)
    await tamar.press("+ Azərbaycanca")
    await bot.tg.wait_until(lambda: "ფესტივალზე წამოხვალთ?" in tamar.last().text)
    await tamar.send("Festivala gələcəksiniz?")
    assert "1) კი\n2) არა" in (await tamar.reply()).text
    await tamar.send("Bəli")  # one answer of two: asked again
    assert "ზუსტად 2 პასუხი" in (await tamar.reply()).text
    await tamar.send("Bəli\nXeyr")
    versions = await tamar.reply()
    assert "Azərbaycanca: Festivala gələcəksiniz?\n1) Bəli\n2) Xeyr" in versions.text
    await tamar.press("შემდეგი ➜")
    await bot.tg.wait_until(lambda: "ნაბიჯი 3/8" in tamar.last().text)
    await tamar.press("ერთი პასუხი")
    await bot.tg.wait_until(lambda: "ნაბიჯი 4/8" in tamar.last().text)
    await tamar.press("👤 სახელობითი")
    await bot.tg.wait_until(lambda: "ნაბიჯი 5/8" in tamar.last().text)
    await tamar.press("შემდეგი ➜")
    await bot.tg.wait_until(lambda: "ნაბიჯი 6/8" in tamar.last().text)
    await tamar.send("3d")
    await tamar.reply()
    await tamar.press("დახურვამდე დამალვა")
    await bot.tg.wait_until(lambda: "ნაბიჯი 8/8" in tamar.last().text)
    await tamar.press("კი")
    await bot.tg.wait_until(lambda: "წინასწარი ნახვა" in tamar.last().text)
    preview = tamar.last().text
    assert "SMS ენების მიხედვით:\nქართული: " in preview and "\nAzərbaycanca: " in preview
    await tamar.press("✅ გაგზავნა")
    await bot.tg.wait_until(lambda: "✅ P" in tamar.last().text)
    [ballot] = await bot.sms_replies(AZ_PHONE, 1)
    assert "Festivala gələcəksiniz?" in ballot and "1) Bəli 2) Xeyr" in ballot
    # The preview priced the Azerbaijani version as it went out, not the Georgian one.
    parts, latin = sms_info(ballot).parts, sms_info(to_latin_sms(ballot)).parts
    assert f"Azərbaycanca: {parts} SMS (ლათინური ასოებით {latin})" in preview
