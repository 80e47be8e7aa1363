"""CSV files we write for people to open in a spreadsheet, and the CSV files they upload.

Every cell we write goes through `safe_cell`: a cell starting with `=`, `+`, `-`, `@`, a tab
or a carriage return is prefixed with `'`, so a spreadsheet shows it as text instead of
running it as a formula (OWASP "CSV injection"). A reader of the file sees the `'`; a post
that starts with "- item" is exported as "'- item". JSON exports are never changed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The text of one cell, defused if a spreadsheet would read it as a formula."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_line(cells: Sequence[object]) -> str:
    """One CSV record (RFC 4180 quoting, CRLF), every cell defused."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def csv_text(header: Sequence[str] | None, rows: Iterable[Sequence[object]]) -> str:
    """A small CSV file (an export of follows, blocks or mutes) as one string."""
    lines = [csv_line(header)] if header is not None else []
    lines += [csv_line(row) for row in rows]
    return "".join(lines)
