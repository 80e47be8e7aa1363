"""store.memo: a kept value is handed out only for the inputs it was made from."""

from __future__ import annotations

import sqlite3

from store.memo import Memo, RowMemo


def test_a_value_is_reused_only_while_its_inputs_are_equal() -> None:
    memo: Memo[int, str] = Memo(size=10)
    assert memo.get(1, ("a", 1)) is None
    memo.put(1, ("a", 1), "made from a1")
    assert memo.get(1, ("a", 1)) == "made from a1"
    assert memo.get(1, ("a", 2)) is None  # a new count
    assert memo.get(2, ("a", 1)) is None  # another key


def test_it_keeps_at_most_its_size_newest_first() -> None:
    memo: Memo[int, int] = Memo(size=8)
    for key in range(20):
        memo.put(key, key, key * 10)
    assert len(memo) <= 8
    assert memo.get(19, 19) == 190
    assert memo.get(0, 0) is None


def test_a_record_is_rebuilt_when_its_row_changes() -> None:
    built: list[tuple[int, str]] = []

    def build(row: sqlite3.Row) -> tuple[int, str]:
        built.append((row[0], row[1]))
        return (row[0], row[1].upper())

    records = RowMemo(build, size=10)
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO t VALUES (1, 'alice')")
    first = records.record(conn.execute("SELECT id, name FROM t").fetchone())
    again = records.record(conn.execute("SELECT id, name FROM t").fetchone())
    assert first is again and built == [(1, "alice")]
    conn.execute("UPDATE t SET name = 'alicia'")
    assert records.record(conn.execute("SELECT id, name FROM t").fetchone()) == (1, "ALICIA")
    assert records.record((1, "alice")) == (1, "ALICE")  # a tuple row is the same row
    conn.close()
