"""Request parameters as Mastodon clients send them: JSON, urlencoded or multipart bodies,
and the query string; `name[]` arrays and `name[0][key]` nested forms."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

MAX_BODY = 1024 * 1024


Pairs = list[tuple[str, Any]]


async def body_params(
    request: Request, gather: Callable[[Pairs], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The request's parameters: JSON object, or form fields (repeated `x[]` as lists).
    `gather` turns form or query pairs into the dict instead, for endpoints whose clients
    send Rails-style nested keys (filters)."""
    gather = gather or _from_pairs
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise HTTPException(413, "Request body too large")
        try:
            data = json.loads(raw or b"{}")
        except ValueError as error:
            raise HTTPException(400, "Body is not valid JSON") from error
        if not isinstance(data, dict):
            raise HTTPException(422, "Body must be a JSON object")
        return data
    if media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        try:
            return gather(form.multi_items())
        finally:
            await form.close()  # uploads are read by the media endpoints, not here
    return gather(request.query_params.multi_items())


def _from_pairs(pairs: Pairs) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            result.setdefault(key[:-2], []).append(value)
        else:
            result[key] = value
    return result


def flag(value: Any, default: bool = False) -> bool:
    """Mastodon's booleans: true/false, 1/0, on/off, as strings or JSON."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes")


def text(value: Any, name: str, *, limit: int = 10000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HTTPException(422, f"Validation failed: {name} must be a string")
    if len(value) > limit:
        raise HTTPException(422, f"Validation failed: {name} is too long")
    return value


def id_param(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        parsed = int(str(value))
    except ValueError as error:
        raise HTTPException(422, f"Validation failed: {name} is not an id") from error
    if not 0 < parsed < 2**63:
        raise HTTPException(422, f"Validation failed: {name} is not an id")
    return parsed
