"""The secretariat's side: /newpoll step by step, /results with the chart, CSV, /closepoll,
and everyone else refused."""

from __future__ import annotations

import csv
import io

from PIL import Image
from sqlmodel import select

from models.audit import AuditLog
from models.members import Role
from models.polls import Poll, PollStatus
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot
from tests.polls_support import (
    add_member,
    bot,
    reload,
    send_poll,
)

__all__ = ["bot"]  # the fixture, used by name


async def secretary_of(bot: RunningBot) -> VirtualUser:
    user = bot.tg.user()
    await add_member(bot, user, phone=False, role=Role.SECRETARIAT, name="თამარ სამდივნო")
    return user


async def audit(bot: RunningBot, action: str) -> list[AuditLog]:
    async with bot.rt.db.session() as session:
        query = select(AuditLog).where(AuditLog.action == action)
        return list((await session.execute(query)).scalars())


async def test_the_secretary_creates_a_poll_step_by_step(bot: RunningBot) -> None:
    tamar = await secretary_of(bot)
    in_kabali, in_town = bot.tg.user(), bot.tg.user()
    await add_member(bot, in_kabali, phone=False, community="kabali")
    await add_member(bot, in_town, phone=False)

    await tamar.send("/newpoll")
    assert "ნაბიჯი 1/8" in (await tamar.reply()).text
    await tamar.send("რომელი თარიღი გაწყობთ?")
    assert "ნაბიჯი 2/8" in (await tamar.reply()).text
    await tamar.send("3 დეკემბერი\n5 დეკემბერი")
    listed = await tamar.reply()
    assert "1) 3 დეკემბერი\n2) 5 დეკემბერი" in listed.text
    await tamar.send("10 დეკემბერი")
    await tamar.reply()
    await tamar.press("✅ მზადაა")
    await bot.tg.wait_until(lambda: "ნაბიჯი 3/8" in tamar.last().text)
    await tamar.press("ერთი პასუხი")
    await bot.tg.wait_until(lambda: "ნაბიჯი 4/8" in tamar.last().text)
    await tamar.press("🕶 ანონიმური")
    await bot.tg.wait_until(lambda: "ნაბიჯი 5/8" in tamar.last().text)
    assert "მიმღები: 3 — Telegram 3 · SMS 0 · მიუწვდომელი 0" in tamar.last().text
    await tamar.press("თემები")
    await bot.tg.wait_until(lambda: "კაბალი" in tamar.last().labels)
    await tamar.press("კაბალი")
    await bot.tg.wait_until(lambda: "მიმღები: 1 —" in tamar.last().text)
    assert "აუდიტორია: კაბალი" in tamar.last().text
    await tamar.press("« უკან")
    await bot.tg.wait_until(lambda: "შემდეგი ➜" in tamar.last().labels)
    await tamar.press("შემდეგი ➜")
    await bot.tg.wait_until(lambda: "ნაბიჯი 6/8" in tamar.last().text)
    await tamar.send("someday")  # unreadable: asked again with examples
    assert "ვერ წავიკითხე" in (await tamar.reply()).text
    await tamar.send("3d")
    assert "ნაბიჯი 7/8" in (await tamar.reply()).text
    await tamar.press("დახურვამდე დამალვა")
    await bot.tg.wait_until(lambda: "ნაბიჯი 8/8" in tamar.last().text)
    await tamar.press("კი")
    await bot.tg.wait_until(lambda: "წინასწარი ნახვა" in tamar.last().text)
    preview = tamar.last().text
    assert "P?: რომელი თარიღი გაწყობთ? 1) 3 დეკემბერი 2) 5 დეკემბერი 3) 10 დეკემბერი" in preview
    assert "აუდიტორია: კაბალი" in preview and "🕶 ანონიმური" in preview

    await tamar.press("✅ გაგზავნა")
    await bot.tg.wait_until(lambda: "✅ P" in tamar.last().text)
    assert "გაეგზავნა 1 წევრს (1 Telegram-ით" in tamar.last().text
    ballot = await in_kabali.reply()
    assert "რომელი თარიღი გაწყობთ?" in ballot.text and "ანონიმური" in ballot.text
    assert in_town.inbox == []
    async with bot.rt.db.session() as session:
        poll = (await session.execute(select(Poll))).scalars().one()
    assert (poll.anonymous, poll.multiple, poll.results_to_voters) == (True, False, True)
    [created] = await audit(bot, "poll.create")
    assert created.target == poll.code and created.details["recipients"] == 1


async def test_bad_answers_in_newpoll_are_explained_and_nothing_is_lost(bot: RunningBot) -> None:
    tamar = await secretary_of(bot)
    await tamar.send("/newpoll")
    await tamar.reply()
    await tamar.send("?" * 301)
    assert "301 სიმბოლოსგან" in (await tamar.reply()).text
    await tamar.send("კითხვა?")
    await tamar.reply()
    await tamar.send("კი")
    only_one = await tamar.reply()
    assert "✅ მზადაა" not in only_one.labels  # two answers at least
    await tamar.send("კი\nარა")
    duplicate = await tamar.reply()
    assert "უკვე სიაშია: კი" in duplicate.text and "1) კი\n2) არა" in duplicate.text
    await tamar.press("↩ ბოლოს წაშლა")
    await bot.tg.wait_until(lambda: "2) არა" not in tamar.last().text)
    await tamar.send("არა")
    await tamar.reply()
    await tamar.press("✅ მზადაა")
    await bot.tg.wait_until(lambda: "ნაბიჯი 3/8" in tamar.last().text)
    await tamar.send("ერთი")  # typed where a button is expected
    assert "ღილაკებით" in (await tamar.reply()).text
    await tamar.press("✖ გაუქმება")
    await bot.tg.wait_until(lambda: "მონახაზი გაუქმდა" in tamar.last().text)
    async with bot.rt.db.session() as session:
        assert (await session.execute(select(Poll))).scalars().all() == []


async def test_results_show_counts_turnout_small_groups_and_a_chart(bot: RunningBot) -> None:
    tamar = await secretary_of(bot)
    town = [await add_member(bot, None, phone=f"+99559950{n:04d}") for n in range(6)]
    kabali = [
        await add_member(bot, None, phone=f"+99559960{n:04d}", community="kabali") for n in range(2)
    ]
    poll = await send_poll(bot, options=["კი", "არა"])
    for n, member in enumerate([*town, *kabali]):
        assert member.phone is not None
        await bot.sms_replies(member.phone, 1)
        await bot.sms(member.phone, f"{poll.code} {1 + n % 2}")
    await tamar.reply()  # her own ballot
    await tamar.send(f"/results {poll.code}")
    text = (await tamar.reply()).text
    assert "ხმა მისცა: 8 / 9 (89%)" in text
    assert "1) კი — 4 (50%)" in text and "2) არა — 4 (50%)" in text
    assert "თემების მიხედვით:" in text
    assert "ქ. ლაგოდეხი (6): 1) 3 (50%) · 2) 3 (50%)" not in text  # the town alone is 6…
    assert "კაბალი: <5" in text  # …but Kabali has 2, so the town is hidden too
    assert "ქ. ლაგოდეხი: ···" in text
    chart = await tamar.reply()
    assert chart.kind == "photo" and chart.photo is not None and chart.photo.content
    image = Image.open(io.BytesIO(chart.photo.content))
    assert image.format == "PNG" and image.size[0] == 900
    assert ["⬇ CSV"] in chart.buttons and ["🔒 დახურვა…"] in chart.buttons
    [seen] = await audit(bot, "poll.results")
    assert seen.target == poll.code


async def test_named_poll_csv_lists_every_vote_and_anonymous_csv_only_totals(
    bot: RunningBot,
) -> None:
    tamar = await secretary_of(bot)
    voter = bot.tg.user()
    await add_member(bot, voter, phone=False, name="გიორგი მაისურაძე")
    named = await send_poll(bot, options=["კი", "არა"])
    hidden = await send_poll(bot, options=["კი", "არა"], anonymous=True)
    await voter.replies(2)
    await voter.press_data(f"pv:{named.id}:1")
    await voter.press_data(f"pv:{hidden.id}:2")
    await bot.tg.wait_until(
        lambda: len(voter.callback_answers) == 2 and all(voter.callback_answers)
    )
    await tamar.replies(2)

    await tamar.send(f"/pollcsv {named.code}")
    document = await tamar.reply()
    assert document.document is not None and document.document.filename == f"{named.code}-votes.csv"
    assert document.document.content is not None
    rows = list(csv.reader(io.StringIO(document.document.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["წევრის id", "სახელი"]
    assert [r[1] for r in rows[1:]] == ["გიორგი მაისურაძე"] and rows[1][7:9] == ["1", "კი"]

    await tamar.send(f"/pollcsv {hidden.code}")
    totals = await tamar.reply()
    assert totals.document is not None and totals.document.content is not None
    content = totals.document.content.decode("utf-8-sig")
    assert "გიორგი" not in content and "1,კი,0,0" in content and "2,არა,1,100" in content
    assert [a.target for a in await audit(bot, "poll.export")] == [named.code, hidden.code]


async def test_closepoll_asks_first_then_closes_and_reports(bot: RunningBot) -> None:
    tamar = await secretary_of(bot)
    poll = await send_poll(bot, options=["კი", "არა"])
    await tamar.reply()
    await tamar.send(f"/closepoll {poll.code}")
    question = await tamar.reply()
    assert f"დავხუროთ {poll.code} ახლავე?" in question.text
    await tamar.press("ღიად დატოვება")
    await bot.tg.wait_until(lambda: "ღია რჩება" in tamar.last().text)
    assert (await reload(bot, poll)).status == PollStatus.OPEN
    await tamar.send(f"/closepoll {poll.code}")
    await tamar.reply()
    await tamar.press("🔒 ახლავე დახურვა")
    await bot.tg.wait_until(lambda: any("დაიხურა" in m.text for m in tamar.inbox))
    assert (await reload(bot, poll)).closed_by is not None
    await bot.tg.wait_until(lambda: any("/results" in m.text for m in tamar.inbox), timeout=5)
    [closed] = await audit(bot, "poll.close")
    assert closed.actor_member_id is not None and closed.target == poll.code
    tamar.skip_unread()
    await tamar.send(f"/closepoll {poll.code}")
    assert "უკვე დახურულია" in (await tamar.reply()).text


async def test_members_cannot_create_see_close_or_export_polls(bot: RunningBot) -> None:
    poll = await send_poll(bot, options=["კი", "არა"])
    member = bot.tg.user()
    await add_member(bot, member, phone=False)
    for command in ("/newpoll", "/polls", f"/results {poll.code}", f"/closepoll {poll.code}",
                    f"/pollcsv {poll.code}"):  # fmt: skip
        await member.send(command)
        assert "მხოლოდ სამდივნოსთვის" in (await member.reply()).text, command
    # Buttons forged by hand are refused too, and change nothing.
    await member.send("/help")
    help_message = await member.reply()
    await member.press_data(f"pc:{poll.id}:y", message=help_message)
    await member.press_data(f"px:{poll.id}", message=help_message)
    await member.press_data("np:send", message=help_message)
    await bot.tg.wait_until(lambda: len([a for a in member.callback_answers if a]) == 3)
    assert (await reload(bot, poll)).status == PollStatus.OPEN
    refused = await audit(bot, "access.refused")
    assert len(refused) >= 7


async def test_the_board_reads_results_but_cannot_close_or_export(bot: RunningBot) -> None:
    board = bot.tg.user()
    await add_member(bot, board, phone=False, role=Role.BOARD)
    poll = await send_poll(bot, options=["კი", "არა"])
    await board.reply()
    await board.send("/polls")
    listing = (await board.reply()).text
    assert listing.startswith("გამოკითხვები:") and f"{poll.code} · რომელი" in listing
    await board.send(f"/results {poll.code}")
    assert "ხმა მისცა: 0 / 1" in (await board.reply()).text
    chart = await board.reply()
    assert chart.kind == "photo" and chart.buttons == []  # no CSV or close for the board
    await board.send(f"/closepoll {poll.code}")
    assert "მხოლოდ სამდივნოსთვის" in (await board.reply()).text


async def test_an_open_anonymous_poll_shows_totals_but_no_breakdowns_yet(bot: RunningBot) -> None:
    tamar = await secretary_of(bot)
    poll = await send_poll(bot, options=["კი", "არა"], anonymous=True)
    await tamar.reply()
    await tamar.press("1) კი")
    await bot.tg.wait_until(lambda: "✓ 1) კი" in tamar.last().labels)
    await tamar.send(f"/results {poll.code}")
    text = (await tamar.reply()).text
    assert "1) კი — 1 (100%)" in text
    assert "ჭრილები გამოჩნდება გამოკითხვის დახურვის შემდეგ" in text
    assert "თემების მიხედვით" not in text  # a vote just cast could be traced through them
