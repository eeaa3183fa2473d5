"""Overhead: 3,000 sends with no rate limit — the engine (claims, pacing, recording every
outcome in the database) against a bare `for chat: await bot.send_message(...)` loop, in the
same run and against the same fake Bot API. Aim: engine ≥ 0.8× the bare loop's throughput.

The two alternate for a few rounds (the same rows re-queued each time): a shared 2-core
machine's speed drifts by the minute, so the figure is the median of each round's ratio
(the bare loop and the engine run back to back), beside the ratio of each side's best.

    .venv/bin/python bench/overhead.py [--n 3000] [--rounds 5] [--save-baseline]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import TOKEN, bench_runtime, report, requeue, run, run_engine
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--save-baseline", action="store_true")
    args = parser.parse_args()
    bare: list[float] = []
    engine: list[float] = []
    async with bench_runtime(args.n, telegram_rate_per_second=0) as bench:
        for round_ in range(args.rounds):
            bare.append(await bare_loop(bench.tg.base_url, bench.chats))
            if round_:
                await requeue(bench)
            engine.append(await run_engine(bench))
            print(f"  round {round_ + 1}: bare {bare[-1]:.2f} s, engine {engine[-1]:.2f} s")
    report(
        "overhead",
        {
            "sends": args.n,
            "rounds": args.rounds,
            "bare_loop_per_s": args.n / min(bare),
            "engine_per_s": args.n / min(engine),
            "engine_vs_bare": statistics.median(b / e for b, e in zip(bare, engine, strict=True)),
            "engine_vs_bare_best": min(bare) / min(engine),
        },
        {},
    )


if __name__ == "__main__":
    run(main)
