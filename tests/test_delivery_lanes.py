"""How much a lane holds and sends at once follows its rate."""

from __future__ import annotations

from bot.delivery_lanes import lanes_for
from tests.conftest import make_settings


def _bulk_telegram(rate: float) -> tuple[int, int]:
    settings = make_settings("sqlite+aiosqlite:///unused.sqlite3", telegram_rate_per_second=rate)
    lane = next(lane for lane in lanes_for(settings, ["twilio"]) if lane.name == "telegram:bulk")
    return lane.window, lane.concurrency


def test_a_paced_lane_holds_a_third_of_a_second_and_covers_the_round_trip() -> None:
    assert _bulk_telegram(30) == (16, 5)  # 30 msg/s × 0.15 s on the wire → 5 calls
    assert _bulk_telegram(300) == (90, 8)


def test_an_unpaced_lane_claims_big_batches_and_keeps_two_calls_on_the_wire() -> None:
    assert _bulk_telegram(0) == (256, 2)


def test_every_channel_has_a_fast_lane_beside_its_bulk_lane() -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.sqlite3")
    names = [lane.name for lane in lanes_for(settings, ["twilio", "gateway"])]
    assert names == [
        "telegram:fast",
        "telegram:bulk",
        "sms:gateway:fast",
        "sms:gateway:bulk",
        "sms:twilio:fast",
        "sms:twilio:bulk",
    ]
