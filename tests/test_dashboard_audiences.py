"""Saved audiences on the dashboard: the compose forms pick a saved audience and save the
ticked one (interests included) with the rules of /audiences in Telegram; /admin/audiences
lists them with who they reach now, renames and deletes (confirmed). Board reads only."""

from __future__ import annotations

import re

from sqlmodel import col, select

from bot.runtime import Runtime
from models.audiences import Audience, SavedAudience, save_audience
from models.audit import AuditLog
from models.outbox import OutboxMessage
from models.polls import Poll
from tests.dashboard_support import Browser, board, browser, second_browser, secretariat, text_of
from tests.factories import make_member
from tests.test_dashboard_broadcasts import DRAFT_RE
from tests.test_dashboard_polls import poll_form

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here
TEXT = {"text_ka": "ტურიზმის სემინარი ხვალ 11:00-ზე.", "when": "now"}


async def saved_rows(rt: Runtime) -> list[SavedAudience]:
    async with rt.db.session() as session:
        query = select(SavedAudience).order_by(col(SavedAudience.id))
        return list((await session.execute(query)).scalars())


async def actions(rt: Runtime) -> list[tuple[str, str, str]]:
    async with rt.db.session() as session:
        query = select(AuditLog.action, AuditLog.target, AuditLog.actor_label).order_by(
            col(AuditLog.id)
        )
        return [tuple(row) for row in (await session.execute(query)).all()]


async def tourism_people(rt: Runtime) -> list[int]:
    async with rt.db.session() as session:
        one = await make_member(session, name="Guesthouse", interests=["tourism"])
        two = await make_member(session, name="Guide", interests=["tourism", "agriculture"])
        await make_member(session, name="Farmer", interests=["agriculture"])
    assert one.id and two.id
    return [one.id, two.id]


def checked(page: str, value: str) -> bool:
    return bool(re.search(rf'name="aud_interest" value="{value}" checked', page))


async def test_an_audience_with_interests_is_saved_on_the_broadcast_form_and_used_again(
    rt: Runtime, secretariat: Browser
) -> None:
    wanted = await tourism_people(rt)
    form = text_of(await secretariat.get("/admin/broadcasts/new"))
    assert "ინტერესები" in form and "ტურიზმი" in form and "3 წევრი" in form
    saved = await secretariat.post(
        "/admin/broadcasts/preview",
        {**TEXT, "aud_interest": "tourism", "aud_name": "  ტურიზმი   ყველა ", "aud_do": "save"},
    )
    assert saved.status_code == 200
    assert "აუდიტორია შენახულია: „ტურიზმი ყველა“" in text_of(saved)
    assert "2 წევრი" in text_of(saved) and checked(saved.text, "tourism")
    assert not DRAFT_RE.search(saved.text)  # saving is not previewing
    [row] = await saved_rows(rt)
    assert row.name == "ტურიზმი ყველა" and row.filter == {"interests": ["tourism"]}
    assert ("audience.save", "ტურიზმი ყველა") in [(a, t) for a, t, _ in await actions(rt)]
    assert all(
        label.startswith("web:") for a, _, label in await actions(rt) if a == "audience.save"
    )

    fresh = await secretariat.get("/admin/broadcasts/new")
    assert f'<option value="{row.id}">ტურიზმი ყველა</option>' in fresh.text
    used = await secretariat.post(
        "/admin/broadcasts/preview", {**TEXT, "aud_saved": str(row.id), "aud_do": "use"}
    )
    assert used.status_code == 200 and checked(used.text, "tourism")
    assert "არჩეულია შენახული აუდიტორია „ტურიზმი ყველა“" in text_of(used)
    assert "2 წევრი" in text_of(used) and "ტურიზმის სემინარი" in text_of(used)  # text kept

    preview = await secretariat.post(
        "/admin/broadcasts/preview", {**TEXT, "aud_interest": "tourism"}
    )
    draft = DRAFT_RE.search(preview.text)
    assert draft and "2 მიმღები" in text_of(preview)
    await secretariat.post("/admin/broadcasts/send", {"draft": draft.group(1)})
    async with rt.db.session() as session:
        query = select(OutboxMessage.member_id).where(OutboxMessage.kind == "broadcast")
        sent_to = sorted((await session.execute(query)).scalars())
    assert sent_to == wanted


async def test_a_bad_name_is_explained_and_nothing_is_saved(
    rt: Runtime, secretariat: Browser
) -> None:
    await tourism_people(rt)
    await secretariat.get("/admin/broadcasts/new")

    async def save(name: str) -> str:
        page = await secretariat.post(
            "/admin/broadcasts/preview",
            {**TEXT, "aud_interest": "tourism", "aud_name": name, "aud_do": "save"},
        )
        assert page.status_code == 400 or "შენახულია" in text_of(page)
        return text_of(page)

    assert "სახელი ცარიელია" in await save("   ")
    assert "სახელი გრძელია: 41 სიმბოლო" in await save("ა" * 41)
    assert "აუდიტორია შენახულია" in await save("Tourism")
    taken = await save("TOURISM")
    assert "„TOURISM“ უკვე არსებობს" in taken and checked(secretariat.last.text, "tourism")  # type: ignore[union-attr]
    assert [r.name for r in await saved_rows(rt)] == ["Tourism"]


async def test_the_audiences_page_counts_renames_and_deletes_after_a_confirmation(
    rt: Runtime, secretariat: Browser
) -> None:
    await tourism_people(rt)
    async with rt.db.session() as session:
        kept = await save_audience(
            session=session, name="Tourism", audience=Audience(interests=["tourism"]), actor=None
        )
        other = await save_audience(
            session=session, name="Farmers", audience=Audience(interests=["agriculture"]),
            actor=None,
        )  # fmt: skip
    page = text_of(await secretariat.get("/admin/audiences"))
    assert "Tourism" in page and "Farmers" in page
    assert "2 წევრი" in page and "ტურიზმი" in page  # who it reaches now, in words
    assert "/admin/audiences" in (await secretariat.get("/admin")).text  # in the menu

    taken = await secretariat.post(f"/admin/audiences/{kept.id}/rename", {"name": "farmers"})
    assert taken.status_code == 400 and "„farmers“ უკვე არსებობს" in text_of(taken)
    renamed = await secretariat.post(
        f"/admin/audiences/{kept.id}/rename", {"name": "Tourism, all villages"}
    )
    assert renamed.status_code == 303
    assert "სახელი შეეცვალა" in text_of(await secretariat.get(renamed.headers["location"]))

    unconfirmed = await secretariat.post(f"/admin/audiences/{other.id}/delete")
    assert unconfirmed.status_code == 400 and "ჯერ მონიშნეთ დადასტურება" in text_of(unconfirmed)
    assert len(await saved_rows(rt)) == 2
    deleted = await secretariat.post(f"/admin/audiences/{other.id}/delete", {"confirm": "yes"})
    assert deleted.headers["location"] == "/admin/audiences?done=deleted"
    assert [r.name for r in await saved_rows(rt)] == ["Tourism, all villages"]
    changes = [(a, t) for a, t, label in await actions(rt) if label.startswith("web:")]
    assert ("audience.rename", "Tourism, all villages") in changes
    assert ("audience.delete", "Farmers") in changes


async def test_the_board_reads_saved_audiences_and_a_forged_form_changes_nothing(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    await tourism_people(rt)
    async with rt.db.session() as session:
        saved = await save_audience(
            session=session, name="Tourism", audience=Audience(interests=["tourism"]), actor=None
        )
    page = await board.get("/admin/audiences")
    assert page.status_code == 200 and "Tourism" in text_of(page)
    assert "/rename" not in page.text and "/delete" not in page.text
    assert (
        await board.post(f"/admin/audiences/{saved.id}/rename", {"name": "X"})
    ).status_code == 403
    deleting = await board.post(f"/admin/audiences/{saved.id}/delete", {"confirm": "yes"})
    assert deleting.status_code == 403
    refused = [t for a, t, _ in await actions(rt) if a == "access.refused"]
    assert f"POST /admin/audiences/{saved.id}/delete" in refused

    await secretariat.get("/admin/audiences")
    forged = await secretariat.post(
        f"/admin/audiences/{saved.id}/delete", {"confirm": "yes"}, csrf="forged"
    )
    assert forged.status_code == 403
    await secretariat.get("/admin/broadcasts/new")
    forged_save = await secretariat.post(
        "/admin/broadcasts/preview", {**TEXT, "aud_name": "Other", "aud_do": "save"}, csrf="x"
    )
    assert forged_save.status_code == 403
    assert [r.name for r in await saved_rows(rt)] == ["Tourism"]


async def test_the_poll_and_event_forms_pick_and_keep_interests(
    rt: Runtime, secretariat: Browser
) -> None:
    wanted = await tourism_people(rt)
    async with rt.db.session() as session:
        saved = await save_audience(
            session=session, name="Tourism", audience=Audience(interests=["tourism"]), actor=None
        )
    await secretariat.get("/admin/polls/new")
    used = await secretariat.post(
        "/admin/polls/new", poll_form(rt, aud_saved=str(saved.id), aud_do="use")
    )
    assert used.status_code == 200 and checked(used.text, "tourism")
    assert "სად ჩავატაროთ შემდეგი კრება?" in used.text  # the question is kept
    async with rt.db.session() as session:
        assert (await session.execute(select(Poll))).first() is None  # "Use" sends nothing
    sent = await secretariat.post("/admin/polls/new", poll_form(rt, aud_interest="tourism"))
    assert sent.status_code == 303
    async with rt.db.session() as session:
        poll = (await session.execute(select(Poll))).scalars().one()
        query = select(OutboxMessage.member_id).where(OutboxMessage.kind == "poll_ballot")
        ballots = sorted((await session.execute(query)).scalars())
    assert poll.audience == {"interests": ["tourism"]} and ballots == wanted

    await secretariat.get("/admin/events/new")
    event_form = await secretariat.post(
        "/admin/events/new", {"title_ka": "სემინარი", "aud_saved": str(saved.id), "aud_do": "use"}
    )
    assert event_form.status_code == 200 and checked(event_form.text, "tourism")
    assert 'value="სემინარი"' in event_form.text
