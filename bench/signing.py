"""Pre-signed inbox requests, made before the clock starts (signing costs ~0.3 ms each, more
than the ceiling's whole request), in a process pool."""

from __future__ import annotations

import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import orjson

from bench.world import BASE_URL, DOMAIN, REMOTE, RemoteActor
from bench.wrk import raw_request
from federation.keys import load_private_key
from federation.signatures import SigningKey, sign_request

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"


def create_note(actor: RemoteActor, serial: str, text: str) -> bytes:
    """A Mastodon-shaped public Create(Note) of about 1 KB."""
    note_id = f"http://{REMOTE}/users/{actor.uri.rsplit('/', 1)[1]}/statuses/{serial}"
    published = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    activity = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor.uri,
        "published": published,
        "to": [PUBLIC],
        "cc": [f"{actor.uri}/followers"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor.uri,
            "published": published,
            "to": [PUBLIC],
            "cc": [f"{actor.uri}/followers"],
            "content": f"<p>{text}</p>",
            "sensitive": False,
            "summary": None,
            "url": note_id,
            "tag": [],
            "attachment": [],
        },
    }
    return orjson.dumps(activity)


_KEYS: dict[str, SigningKey] = {}


def _private_key(actor: RemoteActor) -> SigningKey:
    """Parsed once per process: loading a PEM checks the RSA key, which costs milliseconds.
    Keyed by the PEM itself: every world reuses the same key ids with new keys."""
    key = _KEYS.get(actor.private_pem)
    if key is None:
        key = _KEYS[actor.private_pem] = load_private_key(actor.private_pem)
    return key


def signed_headers(actor: RemoteActor, body: bytes) -> tuple[dict[str, str], bytes]:
    """Headers of a signed POST to our shared inbox (for a Python client), and the body."""
    headers = sign_request(
        "POST",
        f"{BASE_URL}/inbox",
        {"Host": DOMAIN},
        body,
        key_id=actor.key_id,
        private_key=_private_key(actor),
        now=datetime.now(UTC),
    )
    return {**headers, "Content-Type": ACTIVITY_JSON}, body


def signed_post(actor: RemoteActor, body: bytes, *, key_id: str | None = None) -> bytes:
    url = f"{BASE_URL}/inbox"
    headers = sign_request(
        "POST",
        url,
        {"Host": DOMAIN, "Content-Type": ACTIVITY_JSON},
        body,
        key_id=key_id or actor.key_id,
        private_key=_private_key(actor),
        now=datetime.now(UTC),
    )
    headers["Content-Type"] = ACTIVITY_JSON
    host = headers.pop("Host")
    return raw_request("POST", "/inbox", host, headers, body)


def _batch(args: tuple[list[RemoteActor], int, int, str]) -> list[bytes]:
    actors, start, count, run = args
    filler = "Quarterly numbers are in and the team did great work. " * 12
    out = []
    for n in range(start, start + count):
        actor = actors[n % len(actors)]
        body = create_note(actor, f"{run}-{n}", f"{n} {filler}")
        out.append(signed_post(actor, body))
    return out


def distinct_creates(actors: list[RemoteActor], count: int, workers: int = 2) -> list[bytes]:
    """`count` distinct signed Create(Note) requests spread over `actors`."""
    run = uuid.uuid4().hex[:12]
    step = max(1, count // (workers * 4))
    jobs = [(actors, start, min(step, count - start), run) for start in range(0, count, step)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [request for batch in pool.map(_batch, jobs) for request in batch]


def forged(actors: list[RemoteActor], count: int) -> list[bytes]:
    """Requests whose signature is made with another actor's key: must be refused."""
    out = []
    for n in range(count):
        actor, other = actors[n % len(actors)], actors[(n + 1) % len(actors)]
        body = create_note(actor, f"forged-{uuid.uuid4().hex}", "forged")
        out.append(signed_post(other, body, key_id=actor.key_id))
    return out
