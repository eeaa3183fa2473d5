"""The real `lagbot run` process against the fake Telegram and Twilio servers.

Each test starts the console script as a newcomer would, talks to it only from outside
(Telegram updates, signed SMS webhooks, HTTP), and stops it with SIGTERM.
"""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.harness import LAG_NUMBER, TEST_TOKEN
from tests.process import LAGBOT, LagbotProcess, process_env

pytestmark = pytest.mark.e2e


def full_env(db_url: str, tg: FakeTelegram, tw: FakeTwilio, **extra: object) -> dict[str, str]:
    env = process_env(
        db_url,
        telegram_bot_token=tg.token,
        telegram_api_base_url=tg.base_url,
        twilio_account_sid=tw.account_sid,
        twilio_auth_token=tw.auth_token,
        twilio_from="LAG",
        twilio_api_base_url=tw.base_url,
        **extra,
    )
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{env['HTTP_PORT']}"
    return env


async def test_newcomer_talks_to_the_real_process_then_it_stops_cleanly(db_url: str) -> None:
    with (
        FakeTelegram(token=TEST_TOKEN) as tg,
        FakeTwilio() as tw,
        LagbotProcess(full_env(db_url, tg, tw)) as lagbot,
    ):
        villager = tg.user(language_code="ka")
        await villager.send("/start")
        assert "აირჩიეთ ენა" in (await villager.reply(timeout=15)).text
        await villager.send("/help")
        assert "/start" in (await villager.reply(timeout=10)).text

        response = await tw.send_inbound(
            lagbot.base_url + "/sms/inbound", from_="+995599111222", to=LAG_NUMBER, body="HELP"
        )
        assert response.status_code == 200
        await tg.wait_until(lambda: tw.messages_to("+995599111222"), timeout=10)
        assert "STOP" in tw.messages_to("+995599111222")[0].body

        forged = await tw.send_inbound(
            lagbot.base_url + "/sms/inbound",
            from_="+995599111222",
            to=LAG_NUMBER,
            body="STOP",
            forge=True,
        )
        assert forged.status_code == 403
        # The menu was set per language at start-up (default scope, Georgian by default).
        assert any(c["command"] == "help" for c in tg.commands())
        assert lagbot.terminate() == 0
        assert "lagbot stopped" in lagbot.log()


async def test_webhook_mode_checks_the_secret_token(db_url: str) -> None:
    with FakeTelegram(token=TEST_TOKEN) as tg, FakeTwilio() as tw:
        env = full_env(db_url, tg, tw, telegram_webhook_secret="s3cret-token_value")
        env["TELEGRAM_WEBHOOK_URL"] = env["PUBLIC_BASE_URL"] + "/telegram/webhook"
        with LagbotProcess(env) as lagbot:
            assert tg.webhook_url == env["TELEGRAM_WEBHOOK_URL"]
            villager = tg.user(language_code="en")
            await villager.send("/help")
            assert "/start" in (await villager.reply(timeout=15)).text

            update = {"update_id": 999, "message": {"message_id": 1}}
            async with httpx.AsyncClient() as client:
                missing = await client.post(lagbot.base_url + "/telegram/webhook", json=update)
                wrong = await client.post(
                    lagbot.base_url + "/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
                )
            assert (missing.status_code, wrong.status_code) == (403, 403)
            assert lagbot.terminate() == 0


def test_starts_with_no_credentials_and_names_each_disabled_channel(db_url: str) -> None:
    with LagbotProcess(process_env(db_url)) as lagbot:
        health = httpx.get(lagbot.base_url + "/healthz").json()
        assert health == {"status": "ok", "telegram": False, "sms": []}
        assert lagbot.terminate() == 0
        log = lagbot.log()
    assert "Telegram disabled: TELEGRAM_BOT_TOKEN is not set" in log
    assert "Twilio SMS disabled" in log


def test_a_bad_setting_fails_with_one_clear_line(db_url: str) -> None:
    env = process_env(db_url, http_port="eighty")
    result = subprocess.run(
        [str(LAGBOT), "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "HTTP_PORT" in lines[0] and "Traceback" not in result.stderr


def test_placeholder_secrets_are_refused_outside_dev(db_url: str) -> None:
    env = process_env(db_url, environment="production", telegram_bot_token="changeme")
    result = subprocess.run(
        [str(LAGBOT), "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "placeholder" in result.stderr and "Traceback" not in result.stderr


def test_help_and_module_entry_point() -> None:
    out = subprocess.run([str(LAGBOT), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "run" in out.stdout and "db" in out.stdout
    module = subprocess.run(
        [str(LAGBOT.parent / "python"), "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert module.stdout == out.stdout.replace("lagbot", "lagbot")
