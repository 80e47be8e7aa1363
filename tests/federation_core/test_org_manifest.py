"""The signed org manifest: one signed change reaches every division through the instance
actors, with no central server; forged, older and conflicting manifests are refused, change
nothing and are reported; a division a newer manifest drops stops being a peer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.manifest import (
    build_manifest,
    generate_key,
    manifest_update,
    public_key_text,
    sign_manifest,
)
from store import deliveries, peers
from store import org_manifest as stored
from store.db import Database
from tests.conftest import MakeConfig
from tests.federation_core.test_peering import links
from tests.rig import Rig
from watercooler.config import ConfigError, OrgConfig, load_config, parse_config
from watercooler.org_manifest import offer_manifest, org_state

KEY = generate_key()
FORGER = generate_key()
ACCEPTED = ("accepted", "accepted")


def manifest(
    serial: int, *domains: str, key: ed25519.Ed25519PrivateKey = KEY, org: str = "Example"
) -> dict[str, Any]:
    document = build_manifest(
        serial=serial,
        divisions=[(d, d.split(".")[0].upper()) for d in domains],
        issued=datetime.now(UTC),
        organisation=org,
    )
    return sign_manifest(document, key)


def org(path: Path | None = None) -> OrgConfig:
    return OrgConfig(public_keys=(public_key_text(KEY),), manifest=str(path) if path else None)


def manifest_file(folder: Path, document: dict[str, Any]) -> Path:
    path = folder / f"manifest-{document['serial']}-{len(document['divisions'])}.json"
    path.write_text(json.dumps(document, indent=2))
    return path


async def held(rig: Rig, domain: str) -> tuple[int | None, str | None]:
    """(serial in force, who offered it) at `domain`."""
    state = await org_state(rig.services(domain).db)
    return (state.adopted.serial, state.adopted.source) if state.adopted else (None, None)


async def deliver_as_instance(rig: Rig, sender: str, to: str, document: dict[str, Any]) -> None:
    """`sender`'s instance actor passes `document` on to `to`, as a relay would."""
    svc = rig.services(sender)
    update = manifest_update(
        id=f"{svc.uris.instance_actor}#org-manifest/test/{svc.db.new_id()}",
        actor=svc.uris.instance_actor,
        manifest=document,
        to=[f"http://{to}/actor"],
        published=datetime.now(UTC),
    )
    await svc.publisher.send_as_instance(update, inboxes=[f"http://{to}/inbox"])


async def test_one_signed_change_reaches_every_division(
    make_config: MakeConfig, tmp_path: Path
) -> None:
    first, second = manifest(1, "a.test", "b.test"), manifest(2, "a.test", "b.test", "c.test")
    configs = [
        make_config("a.test", org=org()),
        make_config("b.test", org=org(manifest_file(tmp_path, first))),
        make_config("c.test", org=org(manifest_file(tmp_path, second))),  # the new division
    ]
    async with Rig(configs) as rig:
        a, b = rig.services("a.test"), rig.services("b.test")
        # Given: b and c start with the manifests of their config files, a with none
        assert await held(rig, "a.test") == (None, None)
        assert await held(rig, "b.test") == (1, "config")
        assert await held(rig, "c.test") == (2, "config")
        assert await links(rig, "a.test") == {}

        # When serial 1 is applied at a
        outcome = await a.workers.org.offer(first, source="cli")
        assert (outcome.status, outcome.added) == ("adopted", ("b.test",))
        await rig.drain()

        # Then a and b are peers and their instance actors follow each other; c is no one's
        assert await links(rig, "a.test") == {"b.test": ACCEPTED}
        assert await links(rig, "b.test") == {"a.test": ACCEPTED}
        assert not a.policy.is_peer("c.test") and not b.policy.is_peer("c.test")

        # When serial 2, which adds c, is applied at a only
        await a.workers.org.offer(second, source="cli")
        await rig.drain()

        # Then b has it from a's instance actor, and every division links with c
        assert await held(rig, "b.test") == (2, "http://a.test/actor")
        for domain in ("a.test", "b.test", "c.test"):
            others = {d for d in ("a.test", "b.test", "c.test") if d != domain}
            assert await links(rig, domain) == dict.fromkeys(others, ACCEPTED), domain
        async with b.db.read() as conn:
            listed = {p.domain: (p.name, p.source) for p in await peers.all_peers(conn)}
        assert listed == {"a.test": ("A", "manifest"), "c.test": ("C", "manifest")}
        # and the link carries the organisation timeline from the new division
        carol = await rig.user("c.test", "carol")
        post = await rig.services("c.test").publisher.post(carol, "Hello from division C")
        await rig.drain()
        assert await rig.status("b.test", post.uri) is not None
        # Nobody refused anything on the way: equal serials passed back and forth are no news
        for domain in ("a.test", "b.test", "c.test"):
            assert (await org_state(rig.services(domain).db)).refusals == [], domain


async def test_forged_older_and_conflicting_manifests_are_refused_and_reported(
    make_config: MakeConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    current = manifest_file(tmp_path, manifest(2, "a.test", "b.test"))
    configs = [make_config(d, org=org(current)) for d in ("a.test", "b.test")]
    async with Rig(configs) as rig:
        a = rig.services("a.test")
        assert await links(rig, "a.test") == {"b.test": ACCEPTED}
        caplog.set_level("INFO", logger="watercooler.org_manifest")
        caplog.clear()

        # When b's instance actor passes on a forged manifest, an older one and one that
        # reuses the serial in force with other content
        forged = manifest(9, "a.test", "b.test", "evil.test", key=FORGER)
        await deliver_as_instance(rig, "b.test", "a.test", forged)
        tampered = manifest(10, "a.test", "b.test")
        tampered["divisions"].append({"domain": "evil.test"})
        await deliver_as_instance(rig, "b.test", "a.test", tampered)
        await deliver_as_instance(rig, "b.test", "a.test", manifest(1, "a.test", "b.test"))
        await deliver_as_instance(rig, "b.test", "a.test", manifest(2, "a.test", "evil.test"))
        await rig.drain()

        # Then nothing changed at a
        assert await held(rig, "a.test") == (2, "config")
        assert not a.policy.is_peer("evil.test") and a.policy.is_peer("b.test")
        assert await links(rig, "a.test") == {"b.test": ACCEPTED}
        # and admins see each refusal, newest first, with who sent it
        async with await rig.admin_client("a.test") as admin:
            response = await admin.get("/api/v1/admin/org")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["manifest"]["serial"] == 2 and body["manifest"]["source"] == "config"
        assert body["manifest"]["divisions"] == [
            {"domain": "a.test", "name": "A", "this_instance": True},
            {"domain": "b.test", "name": "B", "this_instance": False},
        ]
        assert body["manifest"]["document"]["signature"]["algorithm"] == "ed25519"
        assert body["public_keys"] == [public_key_text(KEY)]
        assert [(r["serial"], r["reason"], r["source"]) for r in body["refusals"]] == [
            (2, "conflict", "http://b.test/actor"),
            (1, "stale", "http://b.test/actor"),
            (10, "bad_signature", "http://b.test/actor"),
            (9, "unknown_key", "http://b.test/actor"),
        ]
        assert body["refusals"][0]["refused_at"].endswith("Z")
        # b, which offered an older serial, is sent the one in force (it held it already)
        sent = [r.getMessage() for r in caplog.records if r.name == "watercooler.org_manifest"]
        assert "org manifest sent serial=2 to=http://b.test/actor" in sent
        assert (await org_state(rig.services("b.test").db)).refusals == []

        async with await rig.api_client("a.test", "mallory", "read admin:read") as client:
            assert (await client.get("/api/v1/admin/org")).status_code == 403


async def test_a_division_dropped_by_a_newer_manifest_is_no_longer_a_peer(
    make_config: MakeConfig, tmp_path: Path
) -> None:
    everyone = manifest_file(tmp_path, manifest(2, "a.test", "b.test", "c.test"))
    configs = [
        make_config("a.test", org=org(everyone)),
        make_config("b.test", peers=("c.test",), org=org(everyone)),  # c in b's config too
        make_config("c.test", org=org(everyone)),
    ]
    async with Rig(configs) as rig:
        a = rig.services("a.test")
        assert await links(rig, "a.test") == {"b.test": ACCEPTED, "c.test": ACCEPTED}
        alice = await rig.user("a.test", "alice")
        queued = await a.publisher.post(alice, "Queued for c, never sent")

        # When serial 3 drops c, applied at a
        outcome = await a.workers.org.offer(manifest(3, "a.test", "b.test"), source="cli")
        assert (outcome.status, outcome.removed) == ("adopted", ("c.test",))
        await rig.drain()

        # Then c is no peer of a: no link, nothing queued for it is sent
        assert not a.policy.is_peer("c.test")
        assert await links(rig, "a.test") == {"b.test": ACCEPTED}
        async with a.db.read() as conn:
            jobs = await deliveries.list_for_activity(conn, queued.activity_uri or "")
        assert ("c.test", "cancelled") in [(j.host, j.state) for j in jobs]
        assert await rig.status("c.test", queued.uri) is None
        # b adopted serial 3 too, but keeps c: its config lists it
        assert await held(rig, "b.test") == (3, "http://a.test/actor")
        b = rig.services("b.test")
        assert b.policy.is_peer("c.test")
        assert (await links(rig, "b.test"))["c.test"] == ACCEPTED
        async with b.db.read() as conn:
            kept = await peers.get(conn, "c.test")
        assert kept is not None and kept.source == "config"


async def test_a_division_behind_catches_up_when_it_links(
    make_config: MakeConfig, tmp_path: Path
) -> None:
    """c starts with an old manifest file: the newest reaches it over the new link."""
    newest = manifest_file(tmp_path, manifest(3, "a.test", "b.test", "c.test", org="Renamed"))
    older = manifest_file(tmp_path, manifest(2, "a.test", "b.test", "c.test"))
    configs = [
        make_config("a.test", org=org(newest)),
        make_config("b.test", org=org(newest)),
        make_config("c.test", org=org(older)),
    ]
    async with Rig(configs) as rig:
        serial, source = await held(rig, "c.test")
        assert serial == 3 and source in ("http://a.test/actor", "http://b.test/actor")
        state = await org_state(rig.services("c.test").db)
        assert state.manifest is not None and state.manifest.organisation == "Renamed"
        assert await links(rig, "c.test") == {"a.test": ACCEPTED, "b.test": ACCEPTED}


# ----- the rules of adoption, on one database ------------------------------------------------


async def offer(db: Database, document: object, **options: Any) -> Any:
    options.setdefault("keys", [KEY.public_key()])
    return await offer_manifest(
        db, document, own_domain="a.test", source="cli", now=datetime.now(UTC), **options
    )


async def test_newer_adopts_equal_is_no_news_and_the_rest_is_refused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.transaction() as conn:
        await peers.add(conn, "d.test", source="admin", now=datetime.now(UTC))
    two = manifest(2, "a.test", "b.test", "d.test")
    adopted = await offer(db, two)
    assert (adopted.status, adopted.added, adopted.held) == ("adopted", ("b.test",), 2)
    assert (await offer(db, json.loads(json.dumps(two)))).status == "current"

    conflict = await offer(db, manifest(2, "a.test", "c.test"))
    stale = await offer(db, manifest(1, "a.test", "c.test"))
    quiet = await offer(db, manifest(1, "a.test"), note_stale=False)  # the config file at start
    no_key = await offer(db, manifest(3, "a.test"), keys=[])
    assert [(o.status, o.reason) for o in (conflict, stale, quiet, no_key)] == [
        ("refused", "conflict"),
        ("refused", "stale"),
        ("refused", "stale"),  # but not noted
        ("refused", "no_key"),
    ]
    async with db.read() as conn:
        refused = await stored.refusals(conn)
        listed = {p.domain: p.source for p in await peers.all_peers(conn)}
    assert [(r.serial, r.reason) for r in refused] == [(3, "no_key"), (1, "stale"), (2, "conflict")]
    assert listed == {"b.test": "manifest", "d.test": "admin"}  # never ourselves

    # A newer manifest drops b and d: b goes, d stays (an admin listed it first)
    dropped = await offer(db, manifest(3, "a.test", "c.test"))
    assert (dropped.added, dropped.removed) == (("c.test",), ("b.test",))
    async with db.read() as conn:
        listed = {p.domain: p.source for p in await peers.all_peers(conn)}
    assert listed == {"c.test": "manifest", "d.test": "admin"}

    # Refusals are bounded
    monkeypatch.setattr(stored, "REFUSALS_KEPT", 2)
    await offer(db, {"type": "OrgManifest", "serial": 7})
    await offer(db, manifest(8, "a.test", key=FORGER))
    async with db.read() as conn:
        kept = await stored.refusals(conn, limit=10)
    assert [(r.serial, r.reason) for r in kept] == [(8, "unknown_key"), (7, "malformed")]


# ----- the [org] config section ------------------------------------------------------------


def test_the_org_section_names_what_is_wrong(tmp_path: Path) -> None:
    base: dict[str, Any] = {"instance": {"domain": "a.example"}}
    key = public_key_text(KEY)
    assert parse_config(base).org == OrgConfig()
    assert parse_config({**base, "org": {"public_key": key}}).org.public_keys == (key,)
    rolled = parse_config({**base, "org": {"public_key": [key, public_key_text(FORGER)]}})
    assert len(rolled.org.public_keys) == 2
    for org_table, message in [
        ({"public_key": "ssh-ed25519 AAAA"}, "org.public_key: expected 'ed25519:'"),
        ({"public_key": key[:-8]}, "org.public_key: an Ed25519 public key is 32 bytes"),
        ({"manifest": "m.json"}, "org.manifest: needs org.public_key"),
        ({"public_key": key, "serial": 3}, "org.serial: unknown key"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_config({**base, "org": org_table})
    config_file = tmp_path / "watercooler.toml"
    config_file.write_text(
        f'[instance]\ndomain = "a.example"\n[org]\npublic_key = "{key}"\nmanifest = "m.json"\n'
    )
    with pytest.raises(ConfigError, match=r"org\.manifest: no such file"):
        load_config(config_file)
    (tmp_path / "m.json").write_text("{}")
    assert load_config(config_file).org.manifest == str(tmp_path / "m.json")
