"""The org manifest's format: one good signed document, then mutations of it (a byte, the
key, the shape), each refused with the right reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.manifest import (
    MAX_BYTES,
    MAX_DIVISIONS,
    ManifestError,
    build_manifest,
    canonical,
    generate_key,
    load_private_key,
    manifest_update,
    parse_public_key,
    private_key_pem,
    public_key_text,
    read_manifest,
    sign_manifest,
    verify_manifest,
)

ISSUED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
KEY = generate_key()
OTHER = generate_key()


def signed(serial: int = 3, key: ed25519.Ed25519PrivateKey = KEY, **extra: Any) -> dict[str, Any]:
    document = build_manifest(
        serial=serial,
        divisions=[("sales.example.com", "Sales"), ("Eng.Example.com", "Ingénierie")],
        issued=ISSUED,
        organisation="Example Corp",
    )
    return sign_manifest({**document, **extra}, key)


def reason(document: object, keys: list[ed25519.Ed25519PublicKey] | None = None) -> str:
    with pytest.raises(ManifestError) as refused:
        verify_manifest(document, [KEY.public_key()] if keys is None else keys)
    return refused.value.reason


def test_a_signed_manifest_verifies_after_a_trip_through_a_file() -> None:
    text = json.dumps(signed(), indent=2, ensure_ascii=False).encode("utf-8")
    manifest = verify_manifest(read_manifest(text), [KEY.public_key()])
    assert manifest.serial == 3 and manifest.organisation == "Example Corp"
    assert manifest.issued == ISSUED
    assert [(d.domain, d.name) for d in manifest.divisions] == [
        ("sales.example.com", "Sales"),
        ("eng.example.com", "Ingénierie"),  # domains normalised when built
    ]
    assert manifest.document["signature"]["algorithm"] == "ed25519"
    assert manifest.document["signature"]["key"] == public_key_text(KEY)


def test_one_changed_byte_is_a_bad_signature() -> None:
    text = json.dumps(signed()).encode("utf-8")
    tampered = text.replace(b"sales.example.com", b"sales.example.con", 1)
    assert reason(read_manifest(tampered)) == "bad_signature"
    document = signed()
    value = bytearray(json.dumps(document["signature"]["value"]).encode())
    value[5] = ord("A") if value[5] != ord("A") else ord("B")
    document["signature"]["value"] = json.loads(bytes(value))
    assert reason(document) == "bad_signature"
    assert reason({**signed(), "serial": 4}) == "bad_signature"
    assert reason({**signed(), "note": "added after signing"}) == "bad_signature"


def test_every_key_but_the_orgs_is_refused() -> None:
    forged = signed(key=OTHER)
    assert reason(forged) == "unknown_key"
    del forged["signature"]["key"]  # no hint: tried against the org key, and fails
    assert reason(forged) == "bad_signature"
    assert reason(signed(), keys=[]) == "no_key"
    unsigned = dict(signed())
    del unsigned["signature"]
    assert reason(unsigned) == "bad_signature"


def test_two_keys_while_the_org_key_is_rolled_over() -> None:
    keys = [KEY.public_key(), OTHER.public_key()]
    assert verify_manifest(signed(key=OTHER), keys).serial == 3
    assert verify_manifest(signed(key=KEY), keys).serial == 3


def test_unknown_keys_are_signed_and_kept() -> None:
    manifest = verify_manifest(signed(contact="it@example.com"), [KEY.public_key()])
    assert manifest.document["contact"] == "it@example.com"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "Note"}, "type"),
        ({"serial": 0}, "serial"),
        ({"serial": "4"}, "serial"),
        ({"serial": True}, "serial"),
        ({"serial": 2**53}, "serial"),
        ({"divisions": []}, "divisions"),
        ({"divisions": [{"domain": "not a domain"}]}, "domain"),
        ({"divisions": [{"domain": "a.example"}, {"domain": "A.example"}]}, "twice"),
        ({"divisions": [{"domain": "a.example", "name": 7}]}, "name"),
        ({"divisions": [{"domain": "a.example", "weight": 1.5}]}, "non-integer"),
        ({"organisation": "x" * 201}, "organisation"),
        ({"issued": "yesterday"}, "issued"),
    ],
)
def test_a_wrong_shape_is_malformed(change: dict[str, Any], message: str) -> None:
    document = {**signed(), **change}
    with pytest.raises(ManifestError) as refused:
        verify_manifest(document, [KEY.public_key()])
    assert refused.value.reason == "malformed"
    assert message in str(refused.value)


def test_sizes_are_bounded() -> None:
    many = [{"domain": f"d{i}.example"} for i in range(MAX_DIVISIONS + 1)]
    assert reason({**signed(), "divisions": many}) == "malformed"
    with pytest.raises(ManifestError, match="larger than"):
        read_manifest(b" " * (MAX_BYTES + 1))
    with pytest.raises(ManifestError, match="not JSON"):
        read_manifest(b"{not json")
    with pytest.raises(ManifestError, match="JSON object"):
        read_manifest(b"[1]")


def test_the_canonical_form_ignores_order_and_whitespace_but_not_content() -> None:
    document = signed()
    reordered = json.loads(json.dumps(dict(reversed(list(document.items())))))
    assert canonical(reordered) == canonical(document)
    assert b" " not in canonical(document).replace(b"Example Corp", b"")
    assert "Ingénierie".encode() in canonical(document)  # UTF-8, not \\u escapes
    assert b"signature" not in canonical(document)
    assert verify_manifest(reordered, [KEY.public_key()]).serial == 3


def test_keys_in_text() -> None:
    text = public_key_text(KEY)
    assert text.startswith("ed25519:") and len(text) == len("ed25519:") + 44
    assert public_key_text(parse_public_key(text)) == text
    assert public_key_text(load_private_key(private_key_pem(KEY))) == text
    for bad in ("", "ed25519:", "ed25519:abc", "rsa:" + text[8:], text[:-4] + "!!!!"):
        with pytest.raises(ValueError):
            parse_public_key(bad)
    with pytest.raises(ValueError, match="PEM"):
        load_private_key("not a key")


def test_building_refuses_what_a_receiver_would() -> None:
    with pytest.raises(ValueError, match="serial"):
        build_manifest(serial=0, divisions=[("a.example", None)], issued=ISSUED)
    with pytest.raises(ValueError, match="twice"):
        build_manifest(serial=1, divisions=[("a.example", None)] * 2, issued=ISSUED)


def test_the_update_embeds_the_manifest_verbatim() -> None:
    document = signed()
    update = manifest_update(
        id="https://a.example/actor#org-manifest/3/1",
        actor="https://a.example/actor",
        manifest=document,
        to=["https://b.example/actor"],
        published=ISSUED,
    )
    assert update["type"] == "Update" and update["object"] == document
    assert update["to"] == ["https://b.example/actor"] and update["cc"] == []
    received = json.loads(json.dumps(update))["object"]
    assert verify_manifest(received, [KEY.public_key()]).serial == 3
