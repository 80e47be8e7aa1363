"""What the signature tests share: the fixture folder, a fixed clock and a static key store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from federation.signatures import ResolvedKey, VerifyingKey

FIXTURES = Path(__file__).parent.parent / "fixtures" / "signatures"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY_ID = "https://a.test/users/alice#main-key"
OWNER = "https://a.test/users/alice"
INBOX = "https://b.test/inbox"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class StaticKeys:
    """A KeyResolver over fixed keys; ``fresh`` is what a refresh returns. Records calls."""

    def __init__(
        self,
        keys: dict[str, VerifyingKey],
        fresh: dict[str, VerifyingKey] | None = None,
        owner: str = OWNER,
    ) -> None:
        self.keys = keys
        self.fresh = keys if fresh is None else fresh
        self.owner = owner
        self.calls: list[tuple[str, bool]] = []

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None:
        self.calls.append((key_id, refresh))
        key = (self.fresh if refresh else self.keys).get(key_id)
        return None if key is None else ResolvedKey(key_id, self.owner, key)
