"""Errors raised by the store.

StoreError
├── NotFound    a row the caller named does not exist
├── Conflict    a unique value (username, key id, token) is already taken
└── Busy        another connection held the write lock past the busy timeout
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class NotFound(StoreError):
    """The row the caller asked for does not exist."""


class Conflict(StoreError):
    """A unique value is already taken."""


class Busy(StoreError):
    """Another connection (a worker process, the CLI, a backup) held the database's write lock
    for longer than the busy timeout: nothing was written, the same request may be repeated."""
