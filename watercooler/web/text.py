"""Jinja2 filters for the pages: times and handles as people read them."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment


def short_time(value: str | datetime | None) -> str:
    """An entity's ISO time as `2026-11-27 14:05 UTC`: the same for every reader."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def handle(acct: str, domain: str) -> str:
    """`@name@domain` for an entity's `acct`, which leaves out the local domain."""
    return f"@{acct}" if "@" in acct else f"@{acct}@{domain}"


def register_filters(environment: Environment) -> None:
    environment.filters["short_time"] = short_time
    environment.filters["handle"] = handle
