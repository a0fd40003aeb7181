"""Put on PYTHONPATH, this makes a Python process behave as a base install: the optional
drivers and libraries cannot be imported (``import asyncmy`` raises ImportError), however
many extras the test venv has."""

import sys

BLOCKED = ("asyncmy", "asyncpg", "pyarrow", "bcrypt")
for _name in BLOCKED:
    sys.modules[_name] = None  # type: ignore[assignment]
