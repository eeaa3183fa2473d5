"""Start and stop a real `lagbot run` process (the console script), for end-to-end tests.

env = fakes_env(db_url, tg, tw, telegram_rate_per_second=50)  # or process_env(db_url)
with LagbotProcess(env) as proc:          # waits until /healthz answers
    ...
    proc.terminate()                       # SIGTERM; .kill() for SIGKILL
assert proc.returncode == 0
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

import httpx

from tests.harness import free_port

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegram
    from tests.fakes.twilio_api import FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
LAGBOT = Path(sys.executable).parent / "lagbot"


def process_env(db_url: str, **settings: object) -> dict[str, str]:
    """Environment for a `lagbot run` child: only what we set, nothing from a developer's .env."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "SYSTEMROOT"}
    }
    env.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": db_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(free_port()),
            "WEB_SECRET_KEY": "test-secret-key-0123456789",
            "TELEGRAM_POLL_TIMEOUT": "1",
            "SCHEDULER_TICK_SECONDS": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update({key.upper(): str(value) for key, value in settings.items()})
    return env


def fakes_env(db_url: str, tg: FakeTelegram, tw: FakeTwilio, **settings: object) -> dict[str, str]:
    """`process_env` wired to a FakeTelegram and a FakeTwilio (status callbacks included)."""
    env = process_env(
        db_url,
        telegram_bot_token=tg.token,
        telegram_api_base_url=tg.base_url,
        twilio_account_sid=tw.account_sid,
        twilio_auth_token=tw.auth_token,
        twilio_from="LAG",
        twilio_api_base_url=tw.base_url,
        **settings,
    )
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{env['HTTP_PORT']}")
    return env


class LagbotProcess:
    def __init__(
        self, env: dict[str, str], *, log_path: Path | None = None, cwd: Path | None = None
    ) -> None:
        self.env = env
        self.cwd = cwd or ROOT
        self.log_path = log_path or Path(tempfile.mkdtemp(prefix="lagbot-")) / "lagbot.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> LagbotProcess:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(LAGBOT), "run"],
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"lagbot exited early ({self.proc.returncode}):\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"lagbot did not become healthy:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]
        except FileNotFoundError:
            return ""

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: a clean shutdown exits 0."""
        return self._signal(signal.SIGTERM, timeout)

    def kill(self) -> int:
        """SIGKILL: no cleanup at all (crash tests)."""
        return self._signal(signal.SIGKILL, 10.0)

    def _signal(self, sig: int, timeout: float) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"lagbot ignored signal {sig}:\n{self.log()}") from None
        if self._log is not None:
            self._log.close()
            self._log = None
        return int(self.proc.returncode)

    def __enter__(self) -> LagbotProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
