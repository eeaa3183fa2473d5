"""Domain tables and the rules that live beside them.

Importing this package imports every table module, so `SQLModel.metadata` is complete
(for Alembic and for tests) however the package was reached.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


load_all()
