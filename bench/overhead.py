"""Overhead: 3,000 sends with no rate limit — the engine (claims, pacing, recording every
outcome in the database) against a bare `for chat: await bot.send_message(...)` loop, in the
same run and against the same fake Bot API. Aim: engine ≥ 0.8× the bare loop's throughput.

    .venv/bin/python bench/overhead.py [--n 3000] [--save-baseline]
"""

from __future__ import annotations

import argparse
import time

from common import TOKEN, bench_runtime, report, run, run_engine
from telegram import Bot


async def bare_loop(base_url: str, chats: list[int]) -> float:
    async with Bot(TOKEN, base_url=base_url) as bot:
        started = time.monotonic()
        for chat in chats:
            await bot.send_message(chat_id=chat, text=f"Broadcast to chat {chat}")
        return time.monotonic() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--save-baseline", action="store_true")
    args = parser.parse_args()
    async with bench_runtime(args.n, telegram_rate_per_second=0) as bench:
        bare = await bare_loop(bench.tg.base_url, bench.chats)
        engine = await run_engine(bench)
    report(
        "overhead",
        {
            "sends": args.n,
            "bare_loop_per_s": args.n / bare,
            "engine_per_s": args.n / engine,
            "engine_vs_bare": bare / engine,
        },
        {},
    )


if __name__ == "__main__":
    run(main)
