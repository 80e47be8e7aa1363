"""Values kept with the inputs they were made from, reused only while the inputs are equal.

A page of a timeline shows mostly the same statuses and authors request after request, and
building their records and entities again (parsing times, filling dataclasses, formatting
JSON parts) costs more than reading their rows. A `Memo` keeps what was made from a row (or
from several records) by key, and hands it out only when the inputs it is given now equal
the ones it was made from. Nothing is ever invalidated by hand, so nothing can be stale: an
edit, a new count or a deletion changes the row, the row is read on every request, and the
value is made again. It is process-wide and holds at most `size` keys (the oldest go first).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


class Memo(Generic[K, V]):
    """At most `size` values by key, each with its inputs. Safe to share between the
    reader threads: a lookup or a store is one dict operation; trimming takes a lock."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[K, tuple[Any, V]] = {}
        self._trimming = threading.Lock()

    def get(self, key: K, inputs: Any) -> V | None:
        """The value made from `inputs` under `key`, if it is still kept."""
        found = self._items.get(key)
        if found is not None and found[0] == inputs:
            return found[1]
        return None

    def put(self, key: K, inputs: Any, value: V) -> V:
        self._items[key] = (inputs, value)
        if len(self._items) > self.size:
            self._trim()
        return value

    def _trim(self) -> None:
        with self._trimming:
            surplus = len(self._items) - self.size * 3 // 4
            for key in list(self._items)[: max(surplus, 0)]:
                self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class RowMemo(Generic[R]):
    """Records built from rows whose first column is their id: a row equal to the one a
    record was built from gets that record back."""

    def __init__(self, build: Callable[[Any], R], size: int) -> None:
        self._build = build
        self._memo: Memo[Any, R] = Memo(size)

    def record(self, row: Any) -> R:
        values = tuple(row)
        found = self._memo.get(values[0], values)
        if found is None:
            found = self._memo.put(values[0], values, self._build(row))
        return found

    def clear(self) -> None:
        self._memo.clear()
