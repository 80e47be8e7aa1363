"""Scope checks follow Mastodon's hierarchy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store.records import AccountRecord, UserRecord
from watercooler.auth import Caller

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def caller(*scopes: str) -> Caller:
    user = UserRecord(1, 1, "a", None, "", False, False, NOW, None)
    account = AccountRecord(
        1, "a", None, "u", None, "Person", "", "", None, None, None, None, None, None,
        False, True, NOW, NOW, None, None,
    )  # fmt: skip
    return Caller(user=user, account=account, scopes=scopes)


@pytest.mark.parametrize(
    ("held", "asked", "allowed"),
    [
        (("read",), "read:statuses", True),
        (("read:statuses",), "read:statuses", True),
        (("read:statuses",), "read:accounts", False),
        (("read",), "write:statuses", False),
        (("admin:read",), "admin:read:accounts", True),
        (("admin:read",), "admin:write:accounts", False),
        (("follow",), "write:follows", True),
        (("follow",), "read:blocks", True),
        (("follow",), "write:statuses", False),
        (("write",), "admin:write", False),
    ],
)
def test_scope_hierarchy(held: tuple[str, ...], asked: str, allowed: bool) -> None:
    assert caller(*held).allows(asked) is allowed
