#!/usr/bin/env python3
"""Set up lagbot's environment and run it: `python3 dev.py run` or `python3 dev.py test`.

Needs only Python 3.11+. The first call creates `.venv/` in the checkout, installs the
pinned `uv` into it and installs the locked dependencies from `uv.lock`; later calls
only re-sync (fast, offline when nothing changed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
UV_VERSION = "0.13.9"


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def setup() -> None:
    """Create .venv and install the locked dependencies."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on any python3
        sys.exit(f"lagbot needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    uv = BIN / "uv"
    if not uv.exists():
        if not (BIN / "python").exists() and _run(sys.executable, "-m", "venv", VENV) != 0:
            sys.exit("could not create .venv")
        # A .venv made by uv itself has no pip: bring it in first.
        _run(BIN / "python", "-m", "ensurepip", "--upgrade", "--default-pip")
        pip = [BIN / "python", "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"]
        if _run(*pip) != 0:
            sys.exit("could not install uv into .venv")
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(VENV), VIRTUAL_ENV=str(VENV))
    if _run(uv, "sync", "--frozen", "--inexact", "--quiet", env=env) != 0:
        sys.exit("could not install the locked dependencies (uv sync --frozen)")


def _exec(*cmd: str | Path) -> int:
    """Replace this process, so signals (Ctrl-C, SIGTERM) reach lagbot or pytest directly."""
    args = [str(c) for c in cmd]
    os.chdir(ROOT)
    os.execv(args[0], args)
    return 0  # not reached


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        print("commands: setup | run [lagbot args] | test [pytest args] | check | lagbot ARGS")
        return 0
    command, rest = argv[0], argv[1:]
    setup()
    if command == "setup":
        return 0
    if command == "run":
        return _exec(BIN / "lagbot", "run", *rest)
    if command == "lagbot":
        return _exec(BIN / "lagbot", *rest)
    if command == "test":
        return _exec(BIN / "python", "-m", "pytest", *rest)
    if command == "check":
        status = _run(BIN / "ruff", "check", ".")
        status |= _run(BIN / "ruff", "format", "--check", ".")
        status |= _run(BIN / "mypy")
        return status
    print(f"unknown command {command!r}; try: python3 dev.py --help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
