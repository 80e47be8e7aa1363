"""Checking the audit log's hash chain (`watercooler audit verify`), from the database or from
an export.

The triggers (migration 0021/0027) stop the software from changing the log; someone with the
database file and a SQLite shell can drop them. What they do afterwards shows here: a changed
row no longer matches its hash, a removed row leaves a gap in the ids and breaks the next
row's `prev_hash`, rows put in between break the links too. Removing the newest rows leaves a
shorter chain that is intact in itself: only a head noted outside the database shows that
(`expect_head`).

`ChainCheck` takes the rows one at a time, oldest first, and keeps only the previous row's id
and hash, so the walk runs in constant memory however long the log; the same check reads a
JSON lines export (each line a stored row, `details` an object) with `check_line`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from store.audit import GENESIS, canonical_json, stored_rows, triggers
from store.db import Connection

HASHED = ("action", "actor_account_id", "actor_name", "at", "details", "id", "origin", "target")
"""The columns whose canonical JSON, after `prev_hash` and a newline, is a row's hash."""
TRIGGERS = {
    "audit_log_no_update": "BEFORE UPDATE",
    "audit_log_no_delete": "BEFORE DELETE",
    "audit_log_chain": "BEFORE INSERT",
}
"""The triggers that keep the log append-only, and the event each must guard."""
PAGE = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing wrong: `row` is the id it concerns (None: the schema, or the head);
    `kind` one of 'content changed', 'row missing', 'chain broken', 'triggers missing',
    'head missing'; `detail` for the operator."""

    row: int | None
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        return f"{where}{self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a walk found: `count` rows checked, the `head` (id and hash of the newest row;
    (0, GENESIS) for an empty log), and the first `problem` (None: intact)."""

    count: int
    head_id: int
    head: str
    problem: Problem | None = None
    expected_head_id: int | None = None
    """The row whose hash is the expected head, when one was given and found."""
    unguarded: tuple[str, ...] = ()
    """The guarding triggers that are missing (`missing_triggers`)."""

    @property
    def intact(self) -> bool:
        return self.problem is None and not self.unguarded

    @property
    def problems(self) -> list[Problem]:
        """The first bad row (or head), then the missing triggers: everything to report."""
        found = [self.problem] if self.problem is not None else []
        if self.unguarded:
            detail = (
                f"{', '.join(self.unguarded)}: the software can no longer stop the log from"
                " being changed or cut"
            )
            found.append(Problem(None, "triggers missing", detail))
        return found


def content_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """SHA-256 of `prev_hash`, a newline and the canonical JSON of the hashed columns."""
    hashed = {name: content[name] for name in HASHED}
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(hashed)}".encode()).hexdigest()


def parse_expected_head(value: str) -> tuple[int | None, str]:
    """'HASH' or 'ID:HASH' (what `audit verify` prints) -> (id or None, lowercase hash);
    ValueError if it is neither."""
    id_text, _, digest = value.strip().rpartition(":")
    digest = digest.lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("a head is 64 hex digits, optionally after its row id and a colon")
    if id_text and not id_text.isdigit():
        raise ValueError("a head's row id is a number")
    return (int(id_text) if id_text else None), digest


class ChainCheck:
    """Feed rows oldest first; the first problem is kept and later rows are ignored."""

    def __init__(self, *, expect_head: str | None = None, trust_first: bool = False) -> None:
        """`trust_first`: the rows may start after row 1 (an export `--since` a date); the
        first row's `prev_hash` is then taken as given (`first_id` says where it began)."""
        self.count = 0
        self.last_id = 0
        self.last_hash = GENESIS
        self.first_id: int | None = None
        self._trust_first = trust_first
        self.problem: Problem | None = None
        self._expect_id, self._expect = (
            parse_expected_head(expect_head) if expect_head else (None, None)
        )
        self._expect_found: int | None = None

    def check_row(self, row: Mapping[str, Any]) -> Problem | None:
        """A row as stored (`details` the stored text): the canonical form is checked too,
        so no change to the text slips by, even one that parses to the same object."""
        text = row["details"]
        try:
            details = json.loads(text)
        except (TypeError, ValueError):
            return self._found(Problem(row["id"], "content changed", "details is not JSON"))
        if not isinstance(details, dict) or canonical_json(details) != text:
            detail = "details is not the canonical JSON object that was hashed"
            return self._found(Problem(row["id"], "content changed", detail))
        return self._check({**row, "details": details})

    def check_line(self, line: str | bytes, number: int) -> Problem | None:
        """One line of a JSON lines export (`details` an object)."""
        try:
            row = json.loads(line)
        except ValueError:
            return self._found(Problem(None, "content changed", f"line {number} is not JSON"))
        missing = [
            n for n in (*HASHED, "prev_hash", "hash") if not isinstance(row, dict) or n not in row
        ]
        if missing:
            detail = f"line {number} lacks {', '.join(missing)}"
            return self._found(Problem(None, "content changed", detail))
        return self._check(row)

    def _check(self, row: Mapping[str, Any]) -> Problem | None:
        if self.problem is not None:
            return self.problem
        id_ = row["id"]
        if self.first_id is None and isinstance(id_, int):
            self.first_id = id_
            if self._trust_first and id_ > 1:
                self.last_id, self.last_hash = id_ - 1, row["prev_hash"]
        if not isinstance(id_, int) or id_ <= self.last_id:
            detail = f"ids must increase: {id_!r} follows {self.last_id}"
            return self._found(
                Problem(id_ if isinstance(id_, int) else None, "chain broken", detail)
            )
        if id_ != self.last_id + 1:
            one = id_ == self.last_id + 2
            gap = (
                f"row {self.last_id + 1} is" if one else f"rows {self.last_id + 1} to {id_ - 1} are"
            )
            detail = f"{gap} not there (the ids jump from {self.last_id} to {id_})"
            return self._found(Problem(self.last_id + 1, "row missing", detail))
        if row["prev_hash"] != self.last_hash:
            before = f"row {self.last_id}'s hash" if self.last_id else "the genesis hash (zeros)"
            detail = (
                f"its prev_hash is not {before}: a row before it was rewritten, removed or put in"
            )
            return self._found(Problem(id_, "chain broken", detail))
        if content_hash(row["prev_hash"], row) != row["hash"]:
            detail = "its content no longer matches its hash (changed after it was written)"
            return self._found(Problem(id_, "content changed", detail))
        self.count += 1
        self.last_id, self.last_hash = id_, row["hash"]
        if self._expect is not None and row["hash"] == self._expect:
            self._expect_found = id_
        return None

    def _found(self, problem: Problem) -> Problem:
        if self.problem is None:
            self.problem = problem
        return self.problem

    def verdict(self) -> Verdict:
        """After the last row: the head, and whether the expected head was in the chain."""
        problem = self.problem
        if problem is None and self._expect is not None and self._expect_found is None:
            if self._expect_id is not None and self._expect_id > self.last_id:
                detail = (
                    f"the noted head is row {self._expect_id}, but the chain ends at row"
                    f" {self.last_id}: rows {self.last_id + 1} to {self._expect_id} were removed"
                )
                problem = Problem(self._expect_id, "row missing", detail)
            else:
                detail = (
                    f"the noted head {self._expect} is in no row: rows were removed from the"
                    " end, or the chain was rebuilt"
                )
                problem = Problem(self._expect_id, "head missing", detail)
        elif (
            problem is None
            and self._expect_id is not None
            and self._expect_found is not None
            and self._expect_found != self._expect_id
        ):
            detail = (
                f"the noted head is row {self._expect_id}'s, but row {self._expect_found} has it"
            )
            problem = Problem(self._expect_id, "chain broken", detail)
        return Verdict(self.count, self.last_id, self.last_hash, problem, self._expect_found)


async def missing_triggers(conn: Connection) -> list[str]:
    """The guarding triggers that are gone or no longer refuse (dropped, or replaced by one
    that does nothing)."""
    present = await triggers(conn)
    missing = []
    for name, event in TRIGGERS.items():
        sql = " ".join(present.get(name, "").upper().split())
        if event not in sql or "RAISE(ABORT" not in sql.replace(" (", "("):
            missing.append(name)
    return missing


async def verify(conn: Connection, *, expect_head: str | None = None, page: int = PAGE) -> Verdict:
    """Walk the whole log from the first row, a page at a time, then check the triggers:
    the first bad row, and missing triggers, each reported."""
    check = ChainCheck(expect_head=expect_head)
    after = 0
    while check.problem is None:
        rows = await stored_rows(conn, after_id=after, limit=page)
        for row in rows:
            if check.check_row(row) is not None:
                break
        if len(rows) < page:
            break
        after = rows[-1]["id"]
    verdict = check.verdict()
    gone = tuple(await missing_triggers(conn))
    return dataclasses.replace(verdict, unguarded=gone) if gone else verdict
