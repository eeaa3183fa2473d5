"""Pacing: 3,000 recipients against a fake Bot API that answers 429 above 300 msg/s.

The engine's Telegram rate is set a little under the limit (TELEGRAM_RATE_PER_SECOND, 2%
headroom for timing jitter); the bound is N / limit. Aim: ≥ 0.95 of the bound, zero 429s.

    .venv/bin/python bench/pacing.py [--n 3000] [--limit 300] [--save-baseline]
"""

from __future__ import annotations

import argparse

from common import bench_runtime, report, run, run_engine


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--headroom", type=float, default=0.98)
    parser.add_argument("--save-baseline", action="store_true")
    args = parser.parse_args()
    rate = args.limit * args.headroom
    async with bench_runtime(args.n, limit=args.limit, telegram_rate_per_second=rate) as bench:
        elapsed = await run_engine(bench)
        too_many = bench.tg.counts()[1]
    bound = args.n / args.limit
    report(
        "pacing",
        {
            "recipients": args.n,
            "limit_per_s": args.limit,
            "engine_rate_per_s": rate,
            "seconds": elapsed,
            "bound_seconds": bound,
            "fraction_of_bound": bound / elapsed,
            "messages_per_s": args.n / elapsed,
            "http_429": too_many,
        },
        {"seconds": False, "http_429": False},
    )


if __name__ == "__main__":
    run(main)
