"""The overview page beyond the member numbers: the SMS gateway phone's health when the LAG
sends SMS through its own phone (the same lines as /stats and /gateway)."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import Runtime
from models.base import utcnow
from models.gateway import gateway_status
from tests.conftest import make_settings
from tests.dashboard_support import (
    Browser,
    admin_account,
    board,
    browser,
    browser_for,
    second_browser,
    secretariat,
    text_of,
)

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here


async def test_the_overview_shows_a_silent_gateway_phone(db_url: str) -> None:
    settings = make_settings(
        db_url, sms_gateway_url="http://127.0.0.1:9/", sms_gateway_username="sms",
        sms_gateway_password="gateway-password",
    )  # fmt: skip
    rt = Runtime(settings)
    await rt.prepare_data()
    try:
        async with rt.db.session() as session:
            status = await gateway_status(session=session)
            status.last_contact_at = status.monitoring_since = utcnow() - timedelta(hours=2)
            session.add(status)
        async with browser_for(rt) as client:
            web = Browser(client)
            await web.sign_in(rt, await admin_account(rt, "Board", "board"))
            page = text_of(await web.get("/admin"))
    finally:
        await rt.db.dispose()
    assert "SMS ტელეფონი (ადგილობრივი SIM)" in page
    assert "⚠ ტელეფონი" in page and "არ პასუხობს" in page  # silent for two hours
    assert "გასაგზავნი რიგში: 0" in page


async def test_no_gateway_section_without_a_gateway(rt: Runtime, secretariat: Browser) -> None:
    page = text_of(await secretariat.get("/admin"))
    assert "მიმოხილვა" in page and "SMS ტელეფონი" not in page
