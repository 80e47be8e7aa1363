"""The documents peers fetch most, a local actor and a local status, answered from one query.

`store.documents` reads in one statement whether the document may be served and the row it
is made of; the rendered bytes are kept with that row (`Services.documents`) and made again
whenever the row differs. So an edit, a deletion, a suspension or a new key shows at once,
whichever process wrote it. While nothing at all has been committed since a document was
checked (SQLite's `data_version`, read without a trip to a reader's thread), it is served
as it was, without that query. Only the plain case is answered here: a servable document to
anyone (public and unlisted statuses that are not local-only; no authorized fetch). Everything
else — organisation-only, followers-only, direct and local-only statuses, errors included —
returns None and the route's full path decides, as it always did.
"""

from __future__ import annotations

import orjson
from starlette.responses import Response

from outbox.actors import actor_document
from store import api_queries, documents, moves, statuses
from store.records import AccountRecord, KeyRecord
from watercooler.http import ACTIVITY_JSON
from watercooler.local import local_actor
from watercooler.services import Services
from watercooler.visibility import PUBLICLY_READABLE


def activity_bytes(body: bytes) -> Response:
    """A rendered ActivityStreams document, with the headers `http.activity_json` gives."""
    return Response(body, media_type=ACTIVITY_JSON, headers={"Vary": "Accept"})


async def actor_bytes(svc: Services, account: AccountRecord, key: KeyRecord) -> bytes:
    async with svc.db.read() as conn:
        fields = await api_queries.profile_fields(conn, account.id)
        links = await moves.actor_links(conn, account.id)  # alsoKnownAs, movedTo
    return orjson.dumps(actor_document(account, key, svc.uris, fields=fields, links=links))


async def kept_actor(svc: Services, username: str) -> Response | None:
    """A user's actor document, or None where the full path decides."""
    if svc.config.federation.authorized_fetch:
        return None
    asked = ("actor@", username)
    version = svc.db.data_version()
    if version is not None and (kept := svc.documents.get(asked, version)) is not None:
        return activity_bytes(kept)  # nothing was committed since it was checked
    async with svc.db.read() as conn:
        stamp = await documents.actor_stamp(conn, username)
    if stamp is None or not stamp.servable:
        return None
    made = ("actor", stamp.account_id)  # the same document by whichever name it is asked
    kept = svc.documents.get(made, stamp.inputs)
    if kept is None:
        account, signing_key = await local_actor(svc, username)
        kept = svc.documents.put(made, stamp.inputs, await actor_bytes(svc, account, signing_key))
    if version is not None:
        svc.documents.put(asked, version, kept)
    return activity_bytes(kept)


async def kept_note(svc: Services, username: str, status_id: int) -> Response | None:
    """The Note of a public or unlisted status of `username`, or None where the full path
    decides (not found, gone, organisation-only, followers-only, direct or local-only,
    authorized fetch)."""
    if svc.config.federation.authorized_fetch:
        return None
    asked = ("note@", f"{username}/{status_id}")
    version = svc.db.data_version()
    if version is not None and (kept := svc.documents.get(asked, version)) is not None:
        return activity_bytes(kept)  # nothing was committed since it was checked
    async with svc.db.read() as conn:
        stamp = await documents.status_stamp(conn, username, status_id)
    if stamp is None or not stamp.servable or stamp.visibility not in PUBLICLY_READABLE:
        return None
    made = ("note", status_id)
    kept = svc.documents.get(made, stamp.inputs)
    if kept is None:
        async with svc.db.read() as conn:
            status = await statuses.get_by_id(conn, status_id)
        if status is None or status.deleted_at is not None:
            return None  # changed since: the full path answers
        note = await svc.publisher.note_json(status)
        kept = svc.documents.put(made, stamp.inputs, orjson.dumps(note))
    if version is not None:
        svc.documents.put(asked, version, kept)
    return activity_bytes(kept)
