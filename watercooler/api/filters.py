"""Mastodon's filters API, v2 and the v1 form (scopes `read:filters` / `write:filters`).

v2: a filter (title, contexts, `warn` or `hide`, an optional expiry) with keywords and
statuses, each with its own endpoints; `PUT /api/v2/filters/:id` also takes
`keywords_attributes[]` (with `id` to change a keyword, `_destroy` to delete it, without `id`
to add one). v1: each keyword is a filter of its own, as Mastodon maps them: creating one
makes a filter titled by its phrase with that one keyword; changing the filter-wide fields
(context, expiry, `irreversible`) of a keyword whose filter has others is refused.

Parameters come as JSON, forms or the query string; keyword attributes as a JSON list (or an
object keyed by index) or as form keys `keywords_attributes[][keyword]` /
`keywords_attributes[0][keyword]`, as Rails reads them. Filters are private: another user's
filter, keyword or status is "Record not found". What filters do to timelines is in
watercooler.filters.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import filters as store
from store import statuses
from store.db import Connection
from store.filters import FilterRecord, KeywordRecord
from watercooler.api.forms import body_params, flag
from watercooler.auth import Caller, authenticate
from watercooler.filters import (
    ACTIONS,
    CONTEXTS,
    filter_entity,
    keyword_entity,
    status_filter_entity,
    v1_filter_entity,
)
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see

MAX_FILTERS = 100
MAX_KEYWORDS = 100
MAX_STATUSES = 100
MAX_TITLE = 256
MAX_KEYWORD = 256
MAX_EXPIRES_IN = 10 * 365 * 86400
_NESTED = re.compile(r"^keywords_attributes\[(\d{0,3})\]\[(id|keyword|whole_word|_destroy)\]$")
_MULTIPLE_KEYWORDS = (
    "These parameters cannot be changed from this application because they apply to more"
    " than one filter keyword. Use a more recent application or the web interface."
)


def _not_found() -> HTTPException:
    return HTTPException(404, "Record not found")


def _invalid(message: str) -> HTTPException:
    return HTTPException(422, f"Validation failed: {message}")


# ----- parameters --------------------------------------------------------------------------


def _gather(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form or query pairs as a dict: `x[]` repeated into a list; nested keyword attributes
    (`[][key]`: a key seen again starts the next keyword; `[N][key]`: by index) into a
    `keywords_attributes` list."""
    result: dict[str, Any] = {}
    indexed: dict[int, dict[str, Any]] = {}
    appended: list[dict[str, Any]] = []
    for key, value in pairs:
        if match := _NESTED.match(key):
            index, name = match.groups()
            if index:
                indexed.setdefault(int(index), {})[name] = value
            else:
                if not appended or name in appended[-1]:
                    appended.append({})
                appended[-1][name] = value
        elif key.endswith("[]"):
            result.setdefault(key[:-2], []).append(value)
        else:
            result[key] = value
    if indexed or appended:
        result["keywords_attributes"] = [indexed[i] for i in sorted(indexed)] + appended
    return result


async def _params(request: Request) -> dict[str, Any]:
    return await body_params(request, gather=_gather)


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} can't be blank")
    if len(value) > limit:
        raise _invalid(f"{name} is too long (maximum is {limit} characters)")
    return value.strip()


def _context(value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _invalid("Context None or invalid context supplied")
    wanted = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not wanted or any(v not in CONTEXTS for v in wanted):
        raise _invalid("Context None or invalid context supplied")
    return wanted


def _action(value: Any) -> str:
    if value not in ACTIONS:
        raise _invalid(f"Filter action must be one of {', '.join(ACTIONS)}")
    return str(value)


def _expiry(value: Any, now: datetime) -> datetime | None:
    """`expires_in` seconds from now; empty or null: never."""
    if value is None or value == "":
        return None
    try:
        seconds = int(str(value))
    except ValueError:
        raise _invalid("Expires in is not a number") from None
    if not 0 < seconds <= MAX_EXPIRES_IN:
        raise _invalid(f"Expires in must be between 1 and {MAX_EXPIRES_IN} seconds")
    return now + timedelta(seconds=seconds)


def _keyword_attributes(params: dict[str, Any]) -> list[dict[str, Any]]:
    raw = params.get("keywords_attributes")
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = [raw[key] for key in sorted(raw, key=lambda k: (len(str(k)), str(k)))]
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise _invalid("keywords_attributes must be a list of keywords")
    if len(raw) > MAX_KEYWORDS:
        raise _invalid(f"A filter has at most {MAX_KEYWORDS} keywords")
    return raw


def _blank(entry: dict[str, Any]) -> bool:
    """Rails' `reject_if: :all_blank`: a keyword entry with nothing in it is skipped."""
    return all(value in (None, "", False) for key, value in entry.items() if key != "_destroy")


def _path_id(request: Request, name: str = "id") -> int:
    value = str(request.path_params[name])
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise _not_found()
    return int(value)


# ----- helpers -----------------------------------------------------------------------------


async def _caller(request: Request, write: bool) -> tuple[Services, Caller]:
    svc = services(request)
    return svc, await authenticate(request, svc, "write:filters" if write else "read:filters")


async def _own_filter(conn: Connection, caller: Caller, filter_id: int) -> FilterRecord:
    record = await store.get_filter(conn, caller.account.id, filter_id)
    if record is None:
        raise _not_found()
    return record


async def _full_entity(conn: Connection, record: FilterRecord) -> dict[str, Any]:
    keywords = await store.keywords_of(conn, [record.id])
    found = await store.statuses_of(conn, [record.id])
    return filter_entity(record, keywords[record.id], found[record.id])


async def _answer_filter(svc: Services, caller: Caller, filter_id: int) -> Response:
    async with svc.db.read() as conn:
        record = await _own_filter(conn, caller, filter_id)
        return FastJSONResponse(await _full_entity(conn, record))


# ----- v2: filters -------------------------------------------------------------------------


async def list_filters(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    async with svc.db.read() as conn:
        records = await store.list_filters(conn, caller.account.id)
        ids = [r.id for r in records]
        keywords = await store.keywords_of(conn, ids)
        found = await store.statuses_of(conn, ids)
    return FastJSONResponse([filter_entity(r, keywords[r.id], found[r.id]) for r in records])


async def create_filter(request: Request) -> Response:
    svc, caller = await _caller(request, write=True)
    params = await _params(request)
    now = svc.clock()
    title = _text(params.get("title"), "Title", MAX_TITLE)
    context = _context(params.get("context"))
    action = _action(params.get("filter_action") or "warn")
    expires_at = _expiry(params.get("expires_in"), now)
    keywords = [
        (_text(entry.get("keyword"), "Keywords keyword", MAX_KEYWORD), entry.get("whole_word"))
        for entry in _keyword_attributes(params)
        if not _blank(entry)
    ]
    async with svc.db.transaction() as conn:
        if await store.count_filters(conn, caller.account.id) >= MAX_FILTERS:
            raise _invalid(f"You can have at most {MAX_FILTERS} filters")
        record = await store.create_filter(
            conn,
            svc.db.new_id(),
            account_id=caller.account.id,
            title=title,
            context=context,
            action=action,
            expires_at=expires_at,
            now=now,
        )
        for keyword, whole_word in keywords:
            await store.add_keyword(
                conn,
                svc.db.new_id(),
                filter_id=record.id,
                keyword=keyword,
                whole_word=flag(whole_word, True),
                now=now,
            )
    return await _answer_filter(svc, caller, record.id)


async def get_filter(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    return await _answer_filter(svc, caller, _path_id(request))


async def _apply_keyword_changes(
    conn: Connection, svc: Services, record: FilterRecord, entries: list[dict[str, Any]]
) -> None:
    """`keywords_attributes` of an update: change, delete (`_destroy`) or add keywords."""
    now = svc.clock()
    current = {k.id: k for k in (await store.keywords_of(conn, [record.id]))[record.id]}
    for entry in entries:
        raw_id = entry.get("id")
        if raw_id not in (None, ""):
            keyword_id = int(raw_id) if str(raw_id).isdigit() else 0
            existing = current.get(keyword_id)
            if existing is None:
                raise _not_found()
            if flag(entry.get("_destroy")):
                await store.delete_keyword(conn, existing.id)
                continue
            await store.update_keyword(
                conn,
                existing.id,
                keyword=_text(entry["keyword"], "Keywords keyword", MAX_KEYWORD)
                if "keyword" in entry
                else existing.keyword,
                whole_word=flag(entry.get("whole_word"), existing.whole_word),
            )
        elif not _blank(entry) and not flag(entry.get("_destroy")):
            await store.add_keyword(
                conn,
                svc.db.new_id(),
                filter_id=record.id,
                keyword=_text(entry.get("keyword"), "Keywords keyword", MAX_KEYWORD),
                whole_word=flag(entry.get("whole_word"), True),
                now=now,
            )
    if await store.count_keywords(conn, record.id) > MAX_KEYWORDS:
        raise _invalid(f"A filter has at most {MAX_KEYWORDS} keywords")


async def update_filter(request: Request) -> Response:
    """Only the fields sent change; `expires_in` empty makes the filter never expire."""
    svc, caller = await _caller(request, write=True)
    filter_id = _path_id(request)
    params = await _params(request)
    now = svc.clock()
    entries = _keyword_attributes(params)
    async with svc.db.transaction() as conn:
        record = await _own_filter(conn, caller, filter_id)
        await store.update_filter(
            conn,
            record.id,
            title=_text(params["title"], "Title", MAX_TITLE) if "title" in params else record.title,
            context=_context(params["context"]) if "context" in params else record.context,
            action=_action(params["filter_action"])
            if params.get("filter_action")
            else record.action,
            expires_at=_expiry(params["expires_in"], now)
            if "expires_in" in params
            else record.expires_at,
            now=now,
        )
        await _apply_keyword_changes(conn, svc, record, entries)
    return await _answer_filter(svc, caller, record.id)


async def delete_filter(request: Request) -> Response:
    svc, caller = await _caller(request, write=True)
    async with svc.db.transaction() as conn:
        if not await store.delete_filter(conn, caller.account.id, _path_id(request)):
            raise _not_found()
    return FastJSONResponse({})


# ----- v2: keywords ------------------------------------------------------------------------


async def _own_keyword(conn: Connection, caller: Caller, keyword_id: int) -> KeywordRecord:
    keyword = await store.get_keyword(conn, caller.account.id, keyword_id)
    if keyword is None:
        raise _not_found()
    return keyword


async def list_keywords(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    async with svc.db.read() as conn:
        record = await _own_filter(conn, caller, _path_id(request))
        keywords = (await store.keywords_of(conn, [record.id]))[record.id]
    return FastJSONResponse([keyword_entity(k) for k in keywords])


async def add_keyword(request: Request) -> Response:
    svc, caller = await _caller(request, write=True)
    params = await _params(request)
    keyword = _text(params.get("keyword"), "Keyword", MAX_KEYWORD)
    async with svc.db.transaction() as conn:
        record = await _own_filter(conn, caller, _path_id(request))
        if await store.count_keywords(conn, record.id) >= MAX_KEYWORDS:
            raise _invalid(f"A filter has at most {MAX_KEYWORDS} keywords")
        made = await store.add_keyword(
            conn,
            svc.db.new_id(),
            filter_id=record.id,
            keyword=keyword,
            whole_word=flag(params.get("whole_word"), True),
            now=svc.clock(),
        )
    return FastJSONResponse(keyword_entity(made))


async def get_keyword(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    async with svc.db.read() as conn:
        keyword = await _own_keyword(conn, caller, _path_id(request))
    return FastJSONResponse(keyword_entity(keyword))


async def update_keyword(request: Request) -> Response:
    svc, caller = await _caller(request, write=True)
    params = await _params(request)
    async with svc.db.transaction() as conn:
        keyword = await _own_keyword(conn, caller, _path_id(request))
        text = _text(params["keyword"], "Keyword", MAX_KEYWORD) if "keyword" in params else None
        await store.update_keyword(
            conn,
            keyword.id,
            keyword=text if text is not None else keyword.keyword,
            whole_word=flag(params.get("whole_word"), keyword.whole_word),
        )
        changed = await store.get_keyword(conn, caller.account.id, keyword.id)
    assert changed is not None
    return FastJSONResponse(keyword_entity(changed))


async def delete_keyword(request: Request) -> Response:
    svc, caller = await _caller(request, write=True)
    async with svc.db.transaction() as conn:
        keyword = await _own_keyword(conn, caller, _path_id(request))
        await store.delete_keyword(conn, keyword.id)
    return FastJSONResponse({})


# ----- v2: statuses ------------------------------------------------------------------------


async def list_statuses(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    async with svc.db.read() as conn:
        record = await _own_filter(conn, caller, _path_id(request))
        found = (await store.statuses_of(conn, [record.id]))[record.id]
    return FastJSONResponse([status_filter_entity(s) for s in found])


async def add_status(request: Request) -> Response:
    """A status the caller may see, once per filter (Mastodon's validations)."""
    svc, caller = await _caller(request, write=True)
    params = await _params(request)
    raw = str(params.get("status_id") or "")
    status_id = int(raw) if raw.isdigit() and int(raw) < 2**63 else None
    async with svc.db.transaction() as conn:
        record = await _own_filter(conn, caller, _path_id(request))
        status = await statuses.get_by_id(conn, status_id) if status_id else None
        if status is None:
            raise _invalid("Status must exist")
        if not await can_see(conn, status, caller.account.id):
            raise _invalid("Status is invalid")
        if await store.count_statuses(conn, record.id) >= MAX_STATUSES:
            raise _invalid(f"A filter has at most {MAX_STATUSES} statuses")
        made = await store.add_status(
            conn, svc.db.new_id(), filter_id=record.id, status_id=status.id, now=svc.clock()
        )
        if made is None:
            raise _invalid("Status has already been taken")
    return FastJSONResponse(status_filter_entity(made))


async def get_status(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    async with svc.db.read() as conn:
        found = await store.get_status(conn, caller.account.id, _path_id(request))
    if found is None:
        raise _not_found()
    return FastJSONResponse(status_filter_entity(found))


async def delete_status(request: Request) -> Response:
    svc, caller = await _caller(request, write=True)
    async with svc.db.transaction() as conn:
        found = await store.get_status(conn, caller.account.id, _path_id(request))
        if found is None:
            raise _not_found()
        await store.delete_status(conn, found.id)
    return FastJSONResponse({})


# ----- v1 ----------------------------------------------------------------------------------


async def _v1_entity(conn: Connection, caller: Caller, keyword_id: int) -> dict[str, Any]:
    keyword = await _own_keyword(conn, caller, keyword_id)
    record = await _own_filter(conn, caller, keyword.filter_id)
    return v1_filter_entity(keyword, record)


async def list_v1(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    async with svc.db.read() as conn:
        records = {r.id: r for r in await store.list_filters(conn, caller.account.id)}
        keywords = await store.account_keywords(conn, caller.account.id)
    return FastJSONResponse([v1_filter_entity(k, records[k.filter_id]) for k in keywords])


async def create_v1(request: Request) -> Response:
    svc, caller = await _caller(request, write=True)
    params = await _params(request)
    now = svc.clock()
    phrase = _text(params.get("phrase"), "Phrase", MAX_KEYWORD)
    context = _context(params.get("context"))
    expires_at = _expiry(params.get("expires_in"), now)
    async with svc.db.transaction() as conn:
        if await store.count_filters(conn, caller.account.id) >= MAX_FILTERS:
            raise _invalid(f"You can have at most {MAX_FILTERS} filters")
        record = await store.create_filter(
            conn,
            svc.db.new_id(),
            account_id=caller.account.id,
            title=phrase,
            context=context,
            action="hide" if flag(params.get("irreversible")) else "warn",
            expires_at=expires_at,
            now=now,
        )
        keyword = await store.add_keyword(
            conn,
            svc.db.new_id(),
            filter_id=record.id,
            keyword=phrase,
            whole_word=flag(params.get("whole_word"), True),
            now=now,
        )
    return FastJSONResponse(v1_filter_entity(keyword, record))


async def get_v1(request: Request) -> Response:
    svc, caller = await _caller(request, write=False)
    async with svc.db.read() as conn:
        return FastJSONResponse(await _v1_entity(conn, caller, _path_id(request)))


async def update_v1(request: Request) -> Response:
    """The keyword's phrase and `whole_word`; and the filter's title (the phrase), context,
    expiry and action, unless the filter has other keywords too (then 422, as Mastodon)."""
    svc, caller = await _caller(request, write=True)
    params = await _params(request)
    now = svc.clock()
    async with svc.db.transaction() as conn:
        keyword = await _own_keyword(conn, caller, _path_id(request))
        record = await _own_filter(conn, caller, keyword.filter_id)
        phrase = _text(params["phrase"], "Phrase", MAX_KEYWORD) if "phrase" in params else None
        await store.update_keyword(
            conn,
            keyword.id,
            keyword=phrase if phrase is not None else keyword.keyword,
            whole_word=flag(params.get("whole_word"), keyword.whole_word),
        )
        title = phrase if phrase is not None else record.title
        context = _context(params["context"]) if "context" in params else list(record.context)
        action = record.action
        if "irreversible" in params:
            action = "hide" if flag(params["irreversible"]) else "warn"
        expires_at = record.expires_at
        if "expires_in" in params:
            expires_at = _expiry(params["expires_in"], now)
        changed = (title, tuple(context), action, expires_at) != (
            record.title,
            record.context,
            record.action,
            record.expires_at,
        )
        if changed:
            if await store.count_keywords(conn, record.id) > 1:
                raise _invalid(_MULTIPLE_KEYWORDS)
            await store.update_filter(
                conn,
                record.id,
                title=title,
                context=context,
                action=action,
                expires_at=expires_at,
                now=now,
            )
        entity = await _v1_entity(conn, caller, keyword.id)
    return FastJSONResponse(entity)


async def delete_v1(request: Request) -> Response:
    """Deletes the keyword (its filter stays, as on Mastodon)."""
    svc, caller = await _caller(request, write=True)
    async with svc.db.transaction() as conn:
        keyword = await _own_keyword(conn, caller, _path_id(request))
        await store.delete_keyword(conn, keyword.id)
    return FastJSONResponse({})


routes = [
    Route("/api/v2/filters", list_filters, methods=["GET"]),
    Route("/api/v2/filters", create_filter, methods=["POST"]),
    Route("/api/v2/filters/keywords/{id}", get_keyword, methods=["GET"]),
    Route("/api/v2/filters/keywords/{id}", update_keyword, methods=["PUT"]),
    Route("/api/v2/filters/keywords/{id}", delete_keyword, methods=["DELETE"]),
    Route("/api/v2/filters/statuses/{id}", get_status, methods=["GET"]),
    Route("/api/v2/filters/statuses/{id}", delete_status, methods=["DELETE"]),
    Route("/api/v2/filters/{id}", get_filter, methods=["GET"]),
    Route("/api/v2/filters/{id}", update_filter, methods=["PUT"]),
    Route("/api/v2/filters/{id}", delete_filter, methods=["DELETE"]),
    Route("/api/v2/filters/{id}/keywords", list_keywords, methods=["GET"]),
    Route("/api/v2/filters/{id}/keywords", add_keyword, methods=["POST"]),
    Route("/api/v2/filters/{id}/statuses", list_statuses, methods=["GET"]),
    Route("/api/v2/filters/{id}/statuses", add_status, methods=["POST"]),
    Route("/api/v1/filters", list_v1, methods=["GET"]),
    Route("/api/v1/filters", create_v1, methods=["POST"]),
    Route("/api/v1/filters/{id}", get_v1, methods=["GET"]),
    Route("/api/v1/filters/{id}", update_v1, methods=["PUT"]),
    Route("/api/v1/filters/{id}", delete_v1, methods=["DELETE"]),
]
