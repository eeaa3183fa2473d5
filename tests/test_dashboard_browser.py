"""The dashboard in a real browser (headless Chromium, driven by Playwright), against a whole
running lagbot with the fake Telegram and Twilio: what a secretary actually clicks.

Screenshots of the main pages, at desktop and phone widths, are saved under
test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from models.base import utcnow
from models.members import Role
from tests.factories import make_member
from tests.harness import RunningBot

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    # CI installs Chromium and sets LAGBOT_REQUIRE_BROWSER: there a missing browser fails.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("LAGBOT_REQUIRE_BROWSER"),
        reason="Debian's chromium is not installed",
    ),
]


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def shoot(page: Any, name: str) -> None:
    """The page at desktop width, then at phone width (full height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


def local_input(bot: RunningBot, days: int, hour: int) -> str:
    moment = (utcnow() + timedelta(days=days)).astimezone(bot.settings.tz)
    return moment.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


async def test_a_secretary_runs_an_event_from_the_browser(bot: RunningBot, chromium: Any) -> None:
    nino = bot.tg.user(first_name="Nino")
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=nino.id, role=Role.SECRETARIAT, name="ნინო ბერიძე")
        for i, (community, sector) in enumerate(
            [("kabali", "private"), ("kabali", "civil"), ("pona", "public"),
             ("lagodekhi", "civil"), ("areshperani", "private"), ("apeni", "public")]
        ):  # fmt: skip
            await make_member(session, name=f"წევრი {i + 1}", community=community,
                              sector=sector, is_lag_member=True, telegram=False)  # fmt: skip
        # someone the secretariat tries the bot as, from the simulator's test range
        await make_member(session, name="სატესტო", phone="+995500000001", telegram=False)

    # 1. /weblogin in Telegram brings a one-time link
    await nino.send("/weblogin")
    link = (await nino.reply()).text.split("http", 1)[1].split()[0]
    context = await chromium.new_context(viewport=DESKTOP, accept_downloads=True, locale="ka-GE")
    page = await context.new_page()
    await page.goto("http" + link)
    await shoot(page, "01-link")
    await page.click("#use-link")
    await page.wait_for_url(bot.base_url + "/admin")
    assert "ნინო ბერიძე" in await page.inner_text("header")
    await shoot(page, "02-overview")

    # 2. create and publish an event
    await page.click("nav >> text=ღონისძიებები")
    await page.click("text=ახალი ღონისძიება")
    await page.fill("input[name=title_ka]", "საერთო კრება")
    await page.fill("textarea[name=description_ka]", "დღის წესრიგი: 2027 წლის ბიუჯეტი")
    await page.fill("input[name=starts]", local_input(bot, 9, 11))
    await page.fill("input[name=ends]", local_input(bot, 9, 13))
    await page.fill("input[name=place]", "ლაგოდეხის კულტურის სახლი")
    await shoot(page, "03-event-form")
    await page.press("input[name=place]", "Enter")  # Enter saves, as the main button does
    await page.click("#publish")
    await page.wait_for_selector("text=გამოქვეყნდა")
    event_url = page.url.split("?")[0]
    code = "E" + event_url.rsplit("/", 1)[1]
    assert await page.inner_text("#count-going") == "0"

    # 3. RSVP from the simulator, as a villager would by SMS
    await page.click("nav >> text=სიმულატორი")
    await page.fill("textarea[name=text]", f"YES {code}")
    await page.click("#send")
    await page.wait_for_selector(".bubble.out")
    await page.wait_for_selector(".bubble.out:not(.pending)", timeout=5000)
    await shoot(page, "04-simulator")
    answer = await page.inner_text(".bubble.out >> nth=-1")
    assert f"NO {code}" in answer  # "we expect you …; if you cannot come: NO E1"

    # 4. the event page shows the answer (apart from the real counts)
    await page.goto(event_url)
    assert "+1" in await page.inner_text("#rsvp-counts")
    await shoot(page, "05-event")

    # 5. compose an urgent broadcast and watch it complete (the page refreshes itself)
    await page.click("nav >> text=გზავნილები")
    await page.click("text=ახალი გზავნილი")
    await page.fill("textarea[name=text_ka]", "ხვალ 11:00-ზე საერთო კრებაა კულტურის სახლში.")
    await page.check("input[name=urgent]")
    await page.click("#preview")
    assert "UCS-2" in await page.inner_text("main")
    await shoot(page, "06-broadcast-preview")
    await page.click("#send-broadcast")
    await page.wait_for_selector("#bc-status >> text=დასრულდა", timeout=20000)
    assert await page.inner_text("#bc-waiting") == "0"
    await shoot(page, "07-broadcast-report")
    assert len(bot.tw.messages) >= 6  # every member without Telegram got the SMS

    # 6. members: filter and export a CSV
    await page.click("nav >> text=წევრები")
    await page.select_option("select[name=community]", label="კაბალი")
    await page.click("text=ფილტრი")
    await shoot(page, "08-members")
    async with page.expect_download() as download_info:
        await page.click("text=CSV ექსპორტი")
    download = await download_info.value
    content = (await download.path()).read_text(encoding="utf-8-sig")
    names = sorted(row[1] for row in list(csv.reader(io.StringIO(content)))[1:])
    assert names == ["წევრი 1", "წევრი 2"]  # Kabali only; never the simulated one

    # 7. the audit log has it all; English is one click away
    await page.click("nav >> text=აუდიტის ჟურნალი")
    assert "member.export" in await page.inner_text("main")
    await page.click("button[value=en]")
    await page.wait_for_selector("text=Audit log")
    await shoot(page, "09-audit-en")
    await page.click("nav >> text=Overview")
    await shoot(page, "10-overview-en")
    await context.close()


async def test_the_login_page_and_a_spent_link(bot: RunningBot, chromium: Any) -> None:
    page = await chromium.new_page(viewport=DESKTOP)
    await page.goto(bot.base_url + "/admin/members")
    assert page.url.startswith(bot.base_url + "/admin/login?next=")
    await shoot(page, "00-login")
    await page.goto(bot.base_url + "/admin/link/not-a-real-token")
    assert "ვადა გაუვიდა" in await page.inner_text("main")
    await page.close()
