"""Polls from the dashboard: sent with the capability's ballots, live results with small
groups hidden, closed with the results announced, exported as CSV."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.base import utcnow
from models.members import Member
from models.outbox import OutboxMessage
from models.polls import Poll, PollStatus
from models.polls_voting import cast_vote
from tests.dashboard_support import Browser, board, browser, second_browser, secretariat, text_of
from tests.factories import make_member

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here


def poll_form(rt: Runtime, **overrides: str) -> dict[str, str]:
    closes = (utcnow() + timedelta(days=2)).astimezone(rt.settings.tz).strftime("%Y-%m-%dT%H:%M")
    values = {
        "question": "სად ჩავატაროთ შემდეგი კრება?",
        "options": "ლაგოდეხი\nკაბალი\nაფენი",
        "closes": closes,
    }
    values.update(overrides)
    return values


async def send_poll(rt: Runtime, web: Browser, **overrides: str) -> int:
    await web.get("/admin/polls/new")
    sent = await web.post("/admin/polls/new", poll_form(rt, **overrides))
    assert sent.status_code == 303, text_of(sent)
    return int(sent.headers["location"].split("/")[3].split("?")[0])


async def test_sending_a_poll_queues_a_ballot_for_each_member(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        members = [await make_member(session, name=f"M{i}") for i in range(3)]
        await make_member(session, name="Sim", phone="+995500000021", telegram=False)
    poll_id = await send_poll(rt, secretariat)
    page = text_of(await secretariat.get(f"/admin/polls/{poll_id}"))
    assert "სად ჩავატაროთ შემდეგი კრება?" in page and "ხმა მისცა 0-მა 3-დან" in page
    async with rt.db.session() as session:
        ballots = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.kind == "poll_ballot")
                )
            )
            .scalars()
            .all()
        )
        entry = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "poll.create")))
            .scalars()
            .one()
        )
    assert len(ballots) == len(members)
    assert {b.member_id for b in ballots} == {m.id for m in members}
    assert entry.actor_label.startswith("web:") and entry.details["recipients"] == 3


async def test_a_bad_poll_is_explained_and_kept(rt: Runtime, secretariat: Browser) -> None:
    await secretariat.get("/admin/polls/new")
    one = await secretariat.post("/admin/polls/new", poll_form(rt, options="მხოლოდ ერთი"))
    assert one.status_code == 400 and "2–10 ვარიანტი" in text_of(one)
    assert "სად ჩავატაროთ" in one.text  # the question typed is kept
    nobody = await secretariat.post("/admin/polls/new", poll_form(rt))
    assert nobody.status_code == 400 and "არავინაა" in text_of(nobody)
    async with rt.db.session() as session:
        assert (await session.execute(select(Poll))).first() is None


async def test_live_results_hide_small_groups_then_close_and_export(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    async with rt.db.session() as session:
        voters = [
            await make_member(session, name=f"V{i}", community="kabali" if i < 5 else "pona")
            for i in range(7)
        ]
    poll_id = await send_poll(rt, secretariat)
    async with rt.db.session() as session:
        poll = await session.get(Poll, poll_id)
        assert poll is not None
        for i, voter in enumerate(voters):
            member = await session.get(Member, voter.id)
            assert member is not None
            await cast_vote(
                session=session, poll=poll, member=member, choices=[1 if i < 4 else 2],
                channel="sms", app_secret=rt.settings.secret_key, youth_ages=(14, 29),
            )  # fmt: skip
    page = text_of(await board.get(f"/admin/polls/{poll_id}"))
    assert "ხმა მისცა 7-მა 7-დან (100%)" in page
    assert "1. ლაგოდეხი 4 (57%)" in page
    assert "დამალულია (<5)" in page  # Pona's two voters are not shown apart
    assert (
        await board.post(f"/admin/polls/{poll_id}/close", {"confirm": "yes"})
    ).status_code == 403
    await secretariat.get(f"/admin/polls/{poll_id}")
    unconfirmed = await secretariat.post(f"/admin/polls/{poll_id}/close")
    assert "error=confirm" in unconfirmed.headers["location"]
    closed = await secretariat.post(f"/admin/polls/{poll_id}/close", {"confirm": "yes"})
    assert closed.headers["location"].endswith("done=closed")
    async with rt.db.session() as session:
        poll = await session.get(Poll, poll_id)
        assert poll is not None and poll.status == PollStatus.CLOSED
        assert poll.closed_by is not None and poll.closed_by.startswith("web:")
    again = await secretariat.post(f"/admin/polls/{poll_id}/close", {"confirm": "yes"})
    assert "error=closed" in again.headers["location"]
    csv = await secretariat.get(f"/admin/polls/{poll_id}.csv")
    assert csv.status_code == 200 and "V0" in csv.text  # a named poll: the votes
    assert (await board.get(f"/admin/polls/{poll_id}.csv")).status_code == 403


async def test_a_named_vote_shows_on_the_members_page(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        voter = await make_member(session, name="Voter")
    poll_id = await send_poll(rt, secretariat)
    async with rt.db.session() as session:
        poll = await session.get(Poll, poll_id)
        member = await session.get(Member, voter.id)
        assert poll is not None and member is not None
        await cast_vote(
            session=session, poll=poll, member=member, choices=[2], channel="sms",
            app_secret=rt.settings.secret_key, youth_ages=(14, 29),
        )  # fmt: skip
    profile = text_of(await secretariat.get(f"/admin/members/{voter.id}"))
    assert "სად ჩავატაროთ შემდეგი კრება? P1 — კაბალი" in profile
    assert "იხურება" in text_of(await secretariat.get("/admin"))  # the overview lists it


async def test_the_web_form_saves_versions_in_other_languages(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session, name="Aysel", language="az")
    page = text_of(await secretariat.get("/admin/polls/new"))
    assert "სხვა ენებზე" in page
    short = poll_form(rt, question_ru="Где провести собрание?", options_ru="Лагодехи\nКабали")
    bad = await secretariat.post("/admin/polls/new", short)
    assert bad.status_code == 400 and "იმდენივე პასუხი" in text_of(bad)
    assert "Где провести собрание?" in bad.text  # kept
    versions = poll_form(
        rt,
        question_az="Növbəti yığıncaq harada olsun?",
        options_az="Laqodexi\nQabalı\nAfeni",
    )
    poll_id = await send_poll(rt, secretariat, **versions)
    async with rt.db.session() as session:
        poll = await session.get(Poll, poll_id)
        ballot = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.kind == "poll_ballot")
                )
            )
            .scalars()
            .one()
        )
    assert poll is not None and poll.question == "სად ჩავატაროთ შემდეგი კრება?"
    assert poll.question_versions == {"az": "Növbəti yığıncaq harada olsun?"}
    assert poll.option_versions == {"az": ["Laqodexi", "Qabalı", "Afeni"]}
    assert "Növbəti yığıncaq harada olsun?" in ballot.text


async def test_the_poll_page_shows_the_saved_versions_under_the_georgian_one(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session, name="Aysel", language="az")
    plain_id = await send_poll(rt, secretariat)
    plain = await board.get(f"/admin/polls/{plain_id}")
    assert 'id="poll-versions"' not in plain.text  # no versions, no section
    poll_id = await send_poll(
        rt,
        secretariat,
        question_az="Növbəti yığıncaq harada olsun?",
        options_az="Laqodexi\nQabalı\nAfeni",
        question_en="Where <b>next</b> & when?",
        options_en="Lagodekhi\nKabali\n<i>Apeni</i>",
    )
    response = await board.get(f"/admin/polls/{poll_id}")
    page = text_of(response)
    assert "სად ჩავატაროთ შემდეგი კრება?" in page and "1. ლაგოდეხი" in page
    assert (
        "სხვა ენებზე აზერბაიჯანული Növbəti yığıncaq harada olsun? Laqodexi Qabalı Afeni "
        "ინგლისური Where <b>next</b> & when? Lagodekhi Kabali <i>Apeni</i>"
    ) in page  # the language's name, its question, its answers in the Georgian order
    assert "რუსული" not in page  # no Russian version was written
    assert "Where &lt;b&gt;next&lt;/b&gt; &amp; when?" in response.text  # escaped
    assert "<i>Apeni</i>" not in response.text
