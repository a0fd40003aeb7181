"""Placeholder: filled in by its own change."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Adds no commands yet."""
