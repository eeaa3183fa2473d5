"""What both benchmarks share: a lagbot Runtime on a fresh SQLite file, wired to a fake Bot API,
with N queued broadcast rows; and printing results next to the saved baseline."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import col, func, select, update  # noqa: E402

from bot.db import run_migrations  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from models.outbox import OutboxMessage, OutStatus, Priority  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

BASELINE = Path(__file__).resolve().parent / "baseline.json"
RESULTS = Path(__file__).resolve().parent / "results"
TOKEN = "123456:BENCH-token-for-lagbot"


class RemoteTelegram:
    """The fake Bot API in a child process, as Telegram would be: its CPU does not compete
    with the engine's for this process's GIL (which would measure Python threads, not lagbot).
    """

    def __init__(self, users: int, *, per_second: float | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_fake, args=(child, users, per_second), daemon=True)
        self._proc.start()
        self.token, self.base_url, self.chats = self._conn.recv()

    def counts(self) -> tuple[int, int]:
        """(messages accepted, 429 answers) so far."""
        self._conn.send("counts")
        sent, too_many = self._conn.recv()
        return int(sent), int(too_many)

    def close(self) -> None:
        self._conn.send("stop")
        self._proc.join(10)


def _serve_fake(conn: Any, users: int, per_second: float | None) -> None:
    with FakeTelegram(token=TOKEN) as tg:
        chats = [tg.user().id for _ in range(users)]
        if per_second:
            tg.set_rate_limit(per_second=per_second, per_chat_per_second=1)
        conn.send((tg.token, tg.base_url, chats))
        while (command := conn.recv()) != "stop":
            if command == "counts":
                conn.send((sum(tg.send_count_by_chat().values()), tg.too_many_requests))


@dataclass
class Bench:
    rt: Runtime
    tg: RemoteTelegram
    chats: list[int]


def settings_for(db_url: str, tg: RemoteTelegram, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": db_url,
        "telegram_bot_token": tg.token,
        "telegram_api_base_url": tg.base_url,
        "twilio_account_sid": None,
        "twilio_auth_token": None,
        "sms_gateway_url": None,
        "web_secret_key": "bench-secret-key-0123456789",
        "scheduler_tick_seconds": 3600,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def bench_runtime(
    n: int, *, limit: float | None = None, **settings: Any
) -> AsyncIterator[Bench]:
    """A Runtime (Telegram started, no polling, delivery engine not started) with `n` bulk
    rows queued for `n` chats the fake Bot API (in its own process) knows."""
    tg = RemoteTelegram(n, per_second=limit)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            run_migrations(db_url)
            rt = Runtime(settings_for(db_url, tg, **settings))
            await rt.prepare_data()
            async with rt.db.session() as session:
                session.add_all(
                    OutboxMessage(
                        channel="telegram",
                        provider="telegram",
                        address=str(chat),
                        text=f"Broadcast to chat {chat}",
                        kind="broadcast",
                        priority=Priority.BULK,
                        broadcast_id=1,
                    )
                    for chat in tg.chats
                )
            app = rt.telegram_app
            assert app is not None
            await app.initialize()
            await app.start()
            try:
                yield Bench(rt, tg, tg.chats)
            finally:
                await rt.delivery.stop()
                await app.stop()
                await app.shutdown()
                await rt.db.dispose()
    finally:
        tg.close()


async def run_engine(bench: Bench) -> float:
    """Start the engine; seconds until the fake has accepted one more message per chat and
    every row is recorded as delivered in the database. The engine is stopped again."""
    n = len(bench.chats)
    before, _ = bench.tg.counts()
    started = time.monotonic()
    await bench.rt.delivery.start()
    while bench.tg.counts()[0] < before + n:
        await asyncio.sleep(0.05)
    while await delivered(bench) < n:
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    await bench.rt.delivery.stop()
    return elapsed


async def requeue(bench: Bench) -> None:
    """Every row back to queued, for another round of the same broadcast."""
    async with bench.rt.db.session() as session:
        await session.execute(
            update(OutboxMessage).values(
                status=OutStatus.QUEUED,
                attempts=0,
                claimed_at=None,
                claimed_by=None,
                sent_at=None,
                final_at=None,
                provider_message_id=None,
            )
        )


async def delivered(bench: Bench) -> int:
    async with bench.rt.db.session() as session:
        query = select(func.count()).where(col(OutboxMessage.status) == "delivered")
        return int((await session.execute(query)).scalar_one())


def report(name: str, results: dict[str, float], higher_is_better: dict[str, bool]) -> None:
    """Print this run next to the baseline, and keep it in bench/results/."""
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    base = baseline.get(name, {})
    print(f"\n{name}  (python {platform.python_version()}, {platform.machine()})")
    print(f"  {'metric':<28}{'this run':>12}{'baseline':>12}{'vs base':>10}")
    for key, value in results.items():
        old = base.get(key)
        if isinstance(old, int | float) and old:
            change = value / old if higher_is_better.get(key, True) else old / value if value else 0
            versus = f"{change:9.2f}×"
        else:
            versus = "—"
        shown = f"{old:12.3f}" if isinstance(old, int | float) else f"{'—':>12}"
        print(f"  {key:<28}{value:12.3f}{shown}{versus:>10}")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(results, indent=2))
    if "--save-baseline" in sys.argv:
        baseline[name] = results
        BASELINE.write_text(json.dumps(baseline, indent=2, sort_keys=True) + "\n")
        print(f"  saved as the baseline in {BASELINE.relative_to(ROOT)}")


def run(main: Any) -> None:
    asyncio.run(main())
