"""Data flows one way: parameters -> request -> store -> rows -> encoder -> bytes. These tests
import one layer in a fresh interpreter and list the agentcdr modules that came with it, so
that a layer which starts importing one it must not know (a store from ``params``, a server
module from the client) fails here, not in a base install."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

LOADED = (
    "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
    "print(json.dumps(sorted(m for m in sys.modules if m.startswith('agentcdr'))))"
)


def loaded_with(module: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", LOADED, module], capture_output=True, text=True, check=True
    )
    return list(json.loads(out.stdout))


def under(modules: list[str], *packages: str) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # Pure request building knows no store, server or settings.
        ("agentcdr.params", ("agentcdr.store", "agentcdr.web", "agentcdr.settings")),
        ("agentcdr.paging", ("agentcdr.store", "agentcdr.web", "agentcdr.params")),
        # Encoders see a request and a page, never how the request was parsed.
        ("agentcdr.encoders", ("agentcdr.params", "agentcdr.store", "agentcdr.web")),
        # The client talks HTTP only: no server module, so `pip install agentcdr` on a
        # workstation needs nothing of the server's.
        (
            "agentcdr.client",
            (
                "agentcdr.store",
                "agentcdr.web",
                "agentcdr.encoders",
                "agentcdr.params",
                "agentcdr.settings",
                "agentcdr.auth",
            ),
        ),
        # The app opens stores by URL: no store module until a URL names one.
        ("agentcdr.web.app", ("agentcdr.store.sql", "agentcdr.store.vicidial")),
    ],
)
def test_a_layer_imports_nothing_it_must_not_know(module: str, forbidden: tuple[str, ...]) -> None:
    assert under(loaded_with(module), *forbidden) == []
