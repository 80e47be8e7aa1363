"""RFC 9421 HTTP Message Signatures: the RFC's examples, Mastodon's cases, every refusal.

Spec: RFC 9421 sections 2 (components), 2.5 (signature base), 3 (algorithms), 4.3
(multiple signatures) and Appendix B; RFC 8941 for the structured fields it rides on.
Findings about the vectors are in tests/fixtures/signatures/README.md.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from federation import sfv
from federation.digest import content_digest_header
from federation.errors import SignatureError
from federation.rfc9421 import (
    HttpResponseView,
    check_rfc9421_signature,
    parse_signature_input,
    parse_signatures,
    sign_rfc9421,
    signature_base,
    verify_rfc9421,
)
from federation.signatures import (
    HttpRequestView,
    SharedSecret,
    SigningKey,
    Verified,
    VerifyingKey,
)
from federation.verify import verify_request
from tests.federation.sigkit import INBOX, KEY_ID, NOW, OWNER, StaticKeys, load


async def refused(request: HttpRequestView, keys: StaticKeys, **kwargs: Any) -> str:
    kwargs.setdefault("now", NOW)
    with pytest.raises(SignatureError) as excinfo:
        await verify_rfc9421(request, keys, **kwargs)
    return excinfo.value.reason


# The RFC's keys and examples.

RFC_KEYS = load("rfc9421-keys.json")["keys"]
RFC = load("rfc9421-vectors.json")
VECTORS = {vector["id"]: vector for vector in RFC["vectors"]}


def rfc_public_key(key_id: str) -> VerifyingKey:
    entry = RFC_KEYS[key_id]
    if "shared_secret_base64" in entry:
        return SharedSecret(base64.b64decode(entry["shared_secret_base64"]))
    key = load_pem_public_key(entry["public_key_pem"].encode())
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)
    return key


RFC_RESOLVER_KEYS = {key_id: rfc_public_key(key_id) for key_id in RFC_KEYS}


def rfc_request(
    message: dict[str, Any], signed_by: dict[str, Any] | None = None
) -> HttpRequestView:
    """The vector's request with an https URL; ``signed_by`` adds its signature fields."""
    method, target, _ = message["start_line"].split(" ")
    headers = [tuple(pair) for pair in message["headers"]]
    host = next(value for name, value in headers if name.lower() == "host")
    names = {name.lower() for name, _ in headers}
    if signed_by is not None and "signature-input" not in names:
        headers += [
            ("Signature-Input", signed_by["signature_input_header"]),
            ("Signature", signed_by["signature_header"]),
        ]
    return HttpRequestView(
        method, f"https://{host}{target}", tuple(headers), message["body"].encode()
    )


def rfc_response(message: dict[str, Any]) -> HttpResponseView:
    status = int(message["start_line"].split(" ")[1])
    headers = tuple(tuple(pair) for pair in message["headers"])
    return HttpResponseView(status, headers, message["body"].encode())


def rebuilt_base(vector: dict[str, Any]) -> str:
    signature_input = parse_signature_input(vector["signature_input_header"])[vector["label"]]
    request = rfc_request(vector["request_message"]) if "request_message" in vector else None
    if vector["message_type"] == "response":
        return signature_base(
            rfc_response(vector["response_message"]), signature_input, request=request
        )
    assert request is not None
    return signature_base(request, signature_input)


def printed_base(vector: dict[str, Any]) -> str:
    return vector["signature_base"] or vector["signature_base_derived"]


def vector_alg(vector: dict[str, Any]) -> str | None:
    params = parse_signature_input(vector["signature_input_header"])[vector["label"]].params
    alg = params.get("alg")
    return None if alg is None else str(alg)


@pytest.mark.parametrize("vector_id", sorted(set(VECTORS) - {"rfc9421-B.2.4"}))
def test_signature_base_is_rebuilt_from_the_message(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    assert rebuilt_base(vector) == printed_base(vector)


def test_b24_printed_base_differs_from_the_message_only_in_content_digest() -> None:
    # Finding 1: the response's Content-Digest is not the one the RFC signed.
    vector = VECTORS["rfc9421-B.2.4"]
    ours, printed = rebuilt_base(vector).splitlines(), printed_base(vector).splitlines()
    differing = [(a, b) for a, b in zip(ours, printed, strict=True) if a != b]
    assert len(differing) == 1
    assert differing[0][0].startswith('"content-digest": sha-512=:JlEy2bfU')
    assert differing[0][1] == (
        '"content-digest": '
        + content_digest_header(vector["response_message"]["body"].encode(), "sha-512")
    )


@pytest.mark.parametrize("vector_id", sorted(VECTORS))
def test_rfc_signatures_verify_over_their_base(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    key = rfc_public_key(vector["key_id"])
    base = printed_base(vector).encode()
    signature = base64.b64decode(vector["signature_value_base64"])
    assert check_rfc9421_signature(vector_alg(vector), key, base, signature)
    assert check_rfc9421_signature(vector["algorithm"], key, base, signature)
    assert not check_rfc9421_signature(None, key, base + b" ", signature)
    assert parse_signatures(vector["signature_header"])[vector["label"]] == signature


def test_an_alg_that_does_not_fit_the_key_fails() -> None:
    vector = VECTORS["rfc9421-B.2.6"]
    base = printed_base(vector).encode()
    signature = base64.b64decode(vector["signature_value_base64"])
    key = rfc_public_key("test-key-ed25519")
    assert not check_rfc9421_signature("ecdsa-p256-sha256", key, base, signature)
    assert not check_rfc9421_signature("hmac-sha256", key, base, signature)


RFC_REQUEST_REFUSALS = {
    "rfc9421-B.2.1": "missing_headers",  # covers nothing at all
    "rfc9421-B.2.2": "missing_headers",  # no @method
    "rfc9421-B.2.3": None,
    "rfc9421-B.2.5": "missing_headers",  # no @method, no content-digest
    "rfc9421-B.2.6": "missing_headers",  # a POST without content-digest
    "rfc9421-3.2": None,
    "rfc9421-2.4-b-request": None,
    "rfc9421-4.3-client": None,
    "rfc9421-4.3-proxy": None,
    "rfc9421-B.3": "missing_headers",  # a POST without content-digest
    "rfc9421-B.4": None,
}


def test_every_rfc_request_vector_has_an_expected_outcome() -> None:
    requests = {v["id"] for v in RFC["vectors"] if v["message_type"] == "request"}
    assert requests == set(RFC_REQUEST_REFUSALS)


@pytest.mark.parametrize("vector_id", sorted(RFC_REQUEST_REFUSALS))
async def test_rfc_request_vectors_through_verify_rfc9421(vector_id: str) -> None:
    vector = VECTORS[vector_id]
    request = rfc_request(vector["request_message"], signed_by=vector)
    created = parse_signature_input(vector["signature_input_header"])[vector["label"]].params[
        "created"
    ]
    assert isinstance(created, int)
    now = datetime.fromtimestamp(created, UTC) + timedelta(seconds=5)
    keys = StaticKeys(RFC_RESOLVER_KEYS, owner="https://example.com/")
    expected = RFC_REQUEST_REFUSALS[vector_id]
    if expected is None:
        verified = await verify_rfc9421(request, keys, now=now, label=vector["label"])
        assert verified.key_id == vector["key_id"]
        assert verified.scheme == "rfc9421"
    else:
        assert await refused(request, keys, now=now, label=vector["label"]) == expected
        assert keys.calls == []


async def test_client_signature_breaks_when_the_proxy_rewrites_host() -> None:
    # RFC 9421 section 4.3: after the proxy, sig1 no longer verifies; proxy_sig does.
    vector = VECTORS["rfc9421-4.3-proxy"]
    request = rfc_request(vector["request_message"])
    keys = StaticKeys(RFC_RESOLVER_KEYS)
    now = datetime.fromtimestamp(1618884480, UTC)
    assert await refused(request, keys, now=now, label="sig1") == "invalid"
    assert (
        await verify_rfc9421(request, keys, now=now, label="proxy_sig")
    ).key_id == "test-key-rsa"
    # Without a label the first signature (sig1) is the one checked.
    assert await refused(request, keys, now=now) == "invalid"
    assert await refused(request, keys, now=now, label="nope") == "no_signature"


B4 = VECTORS["rfc9421-B.4"]


@pytest.mark.parametrize("index", range(len(B4["message_variants"])))
async def test_b4_transformed_messages(index: int) -> None:
    variant = B4["message_variants"][index]
    request = rfc_request(variant["message"])
    signature_input = parse_signature_input(B4["signature_input_header"])["transform"]
    base = signature_base(request, signature_input)
    assert base == variant["signature_base_derived"]
    signature = base64.b64decode(B4["signature_value_base64"])
    valid = variant["spec_says_signature_valid"]
    assert (
        check_rfc9421_signature(None, rfc_public_key("test-key-ed25519"), base.encode(), signature)
        is valid
    )
    keys = StaticKeys(RFC_RESOLVER_KEYS)
    now = datetime.fromtimestamp(1618884473, UTC)
    if valid:
        assert (await verify_rfc9421(request, keys, now=now)).key_id == "test-key-ed25519"
    else:
        # A POST must also cover content-digest, so policy refuses that variant first.
        assert await refused(request, keys, now=now) in ("invalid", "missing_headers")


# Mastodon's RFC 9421 cases at the pinned clock.

MASTODON = load("mastodon-signature-verification-spec.json")
MASTODON_CLOCK = datetime.fromisoformat(MASTODON["test_clock"].replace("Z", "+00:00"))
MASTODON_KEY = load_pem_public_key(MASTODON["key"]["public_key_pem"].encode())
MASTODON_RFC = {c["id"]: c for c in MASTODON["cases"] if c["id"].startswith("mastodon-rfc9421")}
MASTODON_RFC_REFUSALS = {
    "mastodon-rfc9421-get": None,
    "mastodon-rfc9421-get-query": None,
    "mastodon-rfc9421-get-query-mismatch": "invalid",
    "mastodon-rfc9421-mismatching-path": "invalid",
    # Signed as a GET, sent as a POST: a POST must cover content-digest.
    "mastodon-rfc9421-mismatching-method": "missing_headers",
    "mastodon-rfc9421-too-old": "expired",
    "mastodon-rfc9421-post": None,
    "mastodon-rfc9421-post-digest-unsigned": "missing_headers",
    "mastodon-rfc9421-post-tampered-body": "digest_mismatch",
    # Finding 5: signed over another created and path; it fails cryptographically as sent.
    "mastodon-rfc9421-post-tampered-path": "invalid",
    # Finding 6: upper-case SHA-256 is not an RFC 8941 key; Mastodon answers 400.
    "mastodon-rfc9421-malformed-content-digest": "bad_format",
}


def mastodon_request(case: dict[str, Any]) -> HttpRequestView:
    request = case["request"]
    headers = [tuple(pair) for pair in request["headers"]]
    if not any(name == "Signature" for name, _ in headers):
        headers.append(("Signature", case["signature_header"]))
    # Finding 8: the signatures are over https://www.example.com/...
    url = "https://www.example.com" + request["path"]
    return HttpRequestView(request["method"], url, tuple(headers), (request["body"] or "").encode())


def test_every_mastodon_rfc9421_case_has_an_expected_outcome() -> None:
    assert set(MASTODON_RFC) == set(MASTODON_RFC_REFUSALS)
    for case_id, reason in MASTODON_RFC_REFUSALS.items():
        assert MASTODON_RFC[case_id]["expected"].get("verified", False) is (reason is None)


@pytest.mark.parametrize("case_id", sorted(MASTODON_RFC))
def test_mastodon_rfc9421_signatures_verify_over_their_reconstructed_base(case_id: str) -> None:
    case = MASTODON_RFC[case_id]
    signature = parse_signatures(case["signature_header"])["sig1"]
    base = case["signature_base_reconstructed"].encode()
    assert check_rfc9421_signature(None, MASTODON_KEY, base, signature)
    if MASTODON_RFC_REFUSALS[case_id] is None:
        signature_input = parse_signature_input(case["signature_input_header"])["sig1"]
        assert signature_base(mastodon_request(case), signature_input) == base.decode()


@pytest.mark.parametrize("case_id", sorted(MASTODON_RFC))
async def test_mastodon_rfc9421_cases_at_the_pinned_clock(case_id: str) -> None:
    keys = StaticKeys({MASTODON["key"]["key_id"]: MASTODON_KEY}, owner=MASTODON["key"]["actor"])
    request = mastodon_request(MASTODON_RFC[case_id])
    expected = MASTODON_RFC_REFUSALS[case_id]
    if expected is None:
        verified = await verify_request(request, keys, now=MASTODON_CLOCK)
        assert verified.owner == "https://remote.domain/users/bob"
        assert verified.scheme == "rfc9421"
    else:
        assert await refused(request, keys, now=MASTODON_CLOCK) == expected


# Our signer, every algorithm, and every refusal.


@pytest.fixture
def keys(rsa_key: rsa.RSAPrivateKey) -> StaticKeys:
    return StaticKeys({KEY_ID: rsa_key.public_key()})


def unsigned(
    method: str = "POST", url: str = INBOX, body: bytes = b'{"type": "Follow"}'
) -> HttpRequestView:
    host = url.split("/")[2]
    return HttpRequestView(
        method, url, (("Host", host), ("Content-Type", "application/activity+json")), body
    )


def signed(
    private_key: SigningKey,
    request: HttpRequestView | None = None,
    *,
    now: datetime = NOW,
    **kwargs: Any,
) -> HttpRequestView:
    request = request or unsigned()
    added = sign_rfc9421(request, key_id=KEY_ID, private_key=private_key, now=now, **kwargs)
    kept = tuple((n, v) for n, v in request.headers if n.lower() not in {k.lower() for k in added})
    return HttpRequestView(request.method, request.url, (*kept, *added.items()), request.body)


def replace_header(request: HttpRequestView, name: str, value: str) -> HttpRequestView:
    kept = tuple((n, v) for n, v in request.headers if n.lower() != name.lower())
    return HttpRequestView(request.method, request.url, (*kept, (name, value)), request.body)


def hand_signed(
    private_key: rsa.RSAPrivateKey,
    request: HttpRequestView,
    signature_input: str,
    label: str = "sig1",
) -> HttpRequestView:
    """Sign an arbitrary Signature-Input (rsa-v1_5-sha256) over our base, for odd cases."""
    inner = parse_signature_input(f"{label}={signature_input}")[label]
    try:
        base = signature_base(request, inner).encode()
    except SignatureError:
        base = b"unsignable"  # the verifier must refuse before it looks at the value
    value = private_key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    request = replace_header(request, "Signature-Input", f"{label}={signature_input}")
    return replace_header(request, "Signature", sfv.serialize_dictionary({label: sfv.Item(value)}))


def test_sign_rfc9421_fields(rsa_key: rsa.RSAPrivateKey) -> None:
    added = sign_rfc9421(unsigned(), key_id=KEY_ID, private_key=rsa_key, now=NOW)
    assert added["Content-Digest"] == content_digest_header(b'{"type": "Follow"}')
    assert added["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "content-digest")'
        f';created={int(NOW.timestamp())};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )
    assert set(parse_signatures(added["Signature"])) == {"sig1"}
    get = sign_rfc9421(
        unsigned("GET", body=b""), key_id=KEY_ID, private_key=rsa_key, now=NOW, label="x"
    )
    assert "Content-Digest" not in get
    assert get["Signature-Input"].startswith('x=("@method" "@target-uri");')
    with pytest.raises(ValueError):
        sign_rfc9421(unsigned(), key_id=KEY_ID, private_key=rsa_key, now=NOW, algorithm="ed25519")
    with pytest.raises(ValueError):
        sign_rfc9421(unsigned(), key_id=KEY_ID, private_key=rsa_key, now=datetime(2024, 1, 1))


def generated_keys() -> list[tuple[str, SigningKey, VerifyingKey]]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    secret = SharedSecret(b"s" * 64)
    return [
        ("ecdsa-p256-sha256", ec_key, ec_key.public_key()),
        ("ed25519", ed_key, ed_key.public_key()),
        ("hmac-sha256", secret, secret),
    ]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(
    "algorithm",
    ["rsa-v1_5-sha256", "rsa-pss-sha512", "ecdsa-p256-sha256", "ed25519", "hmac-sha256"],
)
async def test_round_trip_every_algorithm(
    rsa_key: rsa.RSAPrivateKey, method: str, algorithm: str
) -> None:
    pairs: dict[str, tuple[SigningKey, VerifyingKey]] = {
        "rsa-v1_5-sha256": (rsa_key, rsa_key.public_key()),
        "rsa-pss-sha512": (rsa_key, rsa_key.public_key()),
        **{alg: (private, public) for alg, private, public in generated_keys()},
    }
    private_key, public_key = pairs[algorithm]
    body = b'{"type": "Like"}' if method == "POST" else b""
    request = signed(private_key, unsigned(method, INBOX + "?q=1", body), algorithm=algorithm)
    keys = StaticKeys({KEY_ID: public_key})
    verified = await verify_rfc9421(request, keys, now=NOW)
    expected = ('"@method"', '"@target-uri"') + (('"content-digest"',) if body else ())
    assert verified == Verified(KEY_ID, OWNER, "rfc9421", expected)


async def test_components_with_parameters_round_trip(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    request = HttpRequestView(
        "POST",
        "https://b.test/inbox?Pet=dog&q=a+b%20c",
        (
            ("Host", "b.test"),
            ("Example-Dict", "a=1, b=2;x=1;y=2, c=(a b c)"),
            ("X-Lines", "one"),
            ("X-Lines", "two, three"),
            ("Priority", "u=1,   i"),
        ),
        b"{}",
    )
    components = [
        "@method",
        "@authority",
        "@path",
        '"@query-param";name="q"',
        "content-digest;sf",
        'example-dict;key="b"',
        "x-lines;bs",
        "priority;sf",
        "@scheme",
        "@request-target",
        "@query",
    ]
    verified = await verify_rfc9421(signed(rsa_key, request, components=components), keys, now=NOW)
    assert '"example-dict";key="b"' in verified.covered
    inner = parse_signature_input(
        signed(rsa_key, request, components=components).header("signature-input") or ""
    )["sig1"]
    base = signature_base(signed(rsa_key, request, components=components), inner).splitlines()
    assert base[3] == '"@query-param";name="q": a%20b%20c'
    assert base[5] == '"example-dict";key="b": 2;x=1;y=2'
    assert base[6] == '"x-lines";bs: :b25l:, :dHdvLCB0aHJlZQ==:'
    assert base[7] == '"priority";sf: u=1, i'
    assert base[8:11] == [
        '"@scheme": https',
        '"@request-target": /inbox?Pet=dog&q=a+b%20c',
        '"@query": ?Pet=dog&q=a+b%20c',
    ]


async def test_verify_request_uses_rfc9421_with_signature_input(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    verified = await verify_request(signed(rsa_key), keys, now=NOW)
    assert verified.scheme == "rfc9421"


async def test_no_signature(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    assert await refused(unsigned(), keys) == "no_signature"
    request = signed(rsa_key)
    only_input = HttpRequestView(
        request.method,
        request.url,
        tuple((n, v) for n, v in request.headers if n != "Signature"),
        request.body,
    )
    assert await refused(only_input, keys) == "no_signature"
    assert await refused(request, keys, label="sig2") == "no_signature"
    other_label = replace_header(
        request, "Signature", (request.header("signature") or "").replace("sig1=", "sig2=")
    )
    assert await refused(other_label, keys) == "no_signature"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Signature-Input", "sig1=garbage("),
        ("Signature-Input", 'sig1="@method"'),  # not an inner list
        ("Signature-Input", "sig1=(@method)"),  # tokens, not strings
        ("Signature", "sig1=notbytes"),
        ("Signature", "sig1=:!!!:"),
    ],
)
async def test_unparsable_fields(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, field: str, value: str
) -> None:
    assert await refused(replace_header(signed(rsa_key), field, value), keys) == "bad_format"
    assert keys.calls == []


@pytest.mark.parametrize(
    "signature_input",
    [
        '("@method" "@target-uri" "content-digest");created=1714564800',  # no keyid
        '("@method" "@target-uri" "content-digest");created="now";keyid="k"',
        '("@method" "@target-uri" "content-digest");created=1714564800;keyid=k',  # token
        '("@method" "@target-uri" "content-digest" "@nonsense");created=1714564800;keyid="k"',
        '("@method" "@target-uri" "content-digest" "content-type";tr);created=1714564800;keyid="k"',
        '("@method" "@target-uri" "content-digest" "@method");created=1714564800;keyid="k"',
        '("@method" "@target-uri" "content-digest" "@status");created=1714564800;keyid="k"',
        '("@method" "@target-uri" "content-digest" "@method";req);created=1714564800;keyid="k"',
        '("@method" "@target-uri" "content-digest" "host";sf);created=1714564800;keyid="k"',
        '("@method" "@target-uri" "content-digest" "Host");created=1714564800;keyid="k"',
    ],
)
async def test_malformed_signature_parameters_and_components(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, signature_input: str
) -> None:
    request = hand_signed(rsa_key, signed(rsa_key), signature_input)
    assert await refused(request, keys) == "bad_format"


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)])
async def test_created_outside_the_window_is_expired(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, offset: timedelta
) -> None:
    request = signed(rsa_key, now=NOW + offset)
    assert await refused(request, keys) == "expired"
    await verify_rfc9421(request, keys, now=NOW, max_skew=timedelta(hours=3))


async def test_expires_in_the_past_is_expired(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    at = int(NOW.timestamp())
    covered = '("@method" "@target-uri" "content-digest")'
    fine = f'{covered};created={at};expires={at + 60};keyid="{KEY_ID}"'
    await verify_rfc9421(hand_signed(rsa_key, signed(rsa_key), fine), keys, now=NOW)
    # Expiry allows the same clock skew as created (one hour by default).
    lapsed = f'{covered};created={at};expires={at - 3601};keyid="{KEY_ID}"'
    assert await refused(hand_signed(rsa_key, signed(rsa_key), lapsed), keys) == "expired"
    at_edge = f'{covered};created={at};expires={at - 3599};keyid="{KEY_ID}"'
    await verify_rfc9421(hand_signed(rsa_key, signed(rsa_key), at_edge), keys, now=NOW)


async def test_date_instead_of_created(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    request = replace_header(signed(rsa_key), "Date", "Wed, 01 May 2024 12:00:00 GMT")
    covered = f'("@method" "@target-uri" "content-digest" "date");keyid="{KEY_ID}"'
    assert (
        await verify_rfc9421(hand_signed(rsa_key, request, covered), keys, now=NOW)
    ).key_id == KEY_ID
    stale = hand_signed(
        rsa_key, replace_header(request, "Date", "Mon, 01 Jan 2024 00:00:00 GMT"), covered
    )
    assert await refused(stale, keys) == "expired"


@pytest.mark.parametrize(
    ("method", "covered"),
    [
        ("POST", '("@method" "@target-uri")'),  # a POST without content-digest
        ("POST", '("@target-uri" "content-digest")'),  # no @method
        ("GET", '("@method" "@authority")'),  # no @path / @target-uri
        ("GET", '("@method" "@path")'),  # no @authority
        ("GET", '("@method" "@target-uri" "accept")'),  # a covered field that is absent
    ],
)
async def test_missing_required_components(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, method: str, covered: str
) -> None:
    request = signed(rsa_key, unsigned(method, body=b"{}" if method == "POST" else b""))
    resigned = hand_signed(
        rsa_key, request, f'{covered};created={int(NOW.timestamp())};keyid="{KEY_ID}"'
    )
    assert await refused(resigned, keys) == "missing_headers"


async def test_neither_created_nor_date_is_missing_headers(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    request = hand_signed(
        rsa_key, signed(rsa_key), f'("@method" "@target-uri" "content-digest");keyid="{KEY_ID}"'
    )
    assert await refused(request, keys) == "missing_headers"


async def test_unknown_alg(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    covered = '("@method" "@target-uri" "content-digest")'
    request = signed(rsa_key)
    at = int(NOW.timestamp())
    value = f'sig1={covered};created={at};keyid="{KEY_ID}";alg="rsa-sha1"'
    assert (
        await refused(replace_header(request, "Signature-Input", value), keys)
        == "unknown_algorithm"
    )
    assert keys.calls == []


async def test_alg_that_does_not_fit_the_key_is_invalid(rsa_key: rsa.RSAPrivateKey) -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    request = signed(ed_key)  # alg="ed25519"
    keys = StaticKeys({KEY_ID: rsa_key.public_key()})
    assert await refused(request, keys) == "invalid"
    pss_as_v15 = signed(rsa_key, algorithm="rsa-pss-sha512")
    value = (pss_as_v15.header("signature-input") or "").replace(
        "rsa-pss-sha512", "rsa-v1_5-sha256"
    )
    assert await refused(replace_header(pss_as_v15, "Signature-Input", value), keys) == "invalid"


async def test_digest_mismatch(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    request = signed(rsa_key)
    tampered = HttpRequestView(request.method, request.url, request.headers, b'{"type": "Block"}')
    assert await refused(tampered, keys) == "digest_mismatch"
    assert keys.calls == []


async def test_tampered_body_with_recomputed_digest_is_invalid(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    request = signed(rsa_key)
    body = b'{"type": "Block"}'
    tampered = replace_header(
        HttpRequestView(request.method, request.url, request.headers, body),
        "Content-Digest",
        content_digest_header(body),
    )
    assert await refused(tampered, keys) == "invalid"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "https://b.test/users/bob/inbox"),  # path
        ("PUT", INBOX),  # method
        ("POST", INBOX + "?x=1"),  # query: unlike draft-cavage there is no query quirk
        ("POST", "http://b.test/inbox"),  # scheme
        ("POST", "https://c.test/inbox"),  # authority
    ],
)
async def test_tampered_target_is_invalid(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, method: str, url: str
) -> None:
    request = signed(rsa_key)
    assert (
        await refused(HttpRequestView(method, url, request.headers, request.body), keys)
        == "invalid"
    )


async def test_wrong_key_is_invalid_after_one_refresh(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    keys = StaticKeys({KEY_ID: other_rsa_key.public_key()})
    assert await refused(signed(rsa_key), keys) == "invalid"
    assert keys.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_key_not_found(rsa_key: rsa.RSAPrivateKey) -> None:
    keys = StaticKeys({})
    assert await refused(signed(rsa_key), keys) == "key_unavailable"
    assert keys.calls == [(KEY_ID, False)]


async def test_stale_key_is_refreshed_once(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    # Given a cached key the peer has since rotated away from
    keys = StaticKeys({KEY_ID: other_rsa_key.public_key()}, fresh={KEY_ID: rsa_key.public_key()})
    # When a request signed with the new key arrives
    verified = await verify_rfc9421(signed(rsa_key), keys, now=NOW)
    # Then the key is refetched once and the request verifies
    assert verified.owner == OWNER
    assert keys.calls == [(KEY_ID, False), (KEY_ID, True)]


def test_signature_base_for_a_response_needs_its_request_for_req() -> None:
    vector = VECTORS["rfc9421-2.4-a"]
    inner = parse_signature_input(vector["signature_input_header"])["reqres"]
    with pytest.raises(SignatureError) as excinfo:
        signature_base(rfc_response(vector["response_message"]), inner)
    assert excinfo.value.reason == "bad_format"


# RFC 8941 structured fields, the subset signatures use.


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            'sig1=("@method" "@target-uri");created=1;keyid="k"',
            'sig1=("@method" "@target-uri");created=1;keyid="k"',
        ),
        ("a=1,b=2", "a=1, b=2"),
        ("a=?1, b;x=?0", "a, b;x=?0"),
        ("a=(), b=:AQID:", "a=(), b=:AQID:"),
        ("a=1.50, b=-0.1, c=tok/en:x", "a=1.5, b=-0.1, c=tok/en:x"),
        ('a="q\\"uo\\\\te"', 'a="q\\"uo\\\\te"'),
        ("a=1, a=2", "a=2"),
        ("  a=1 ,\tb=2  ", "a=1, b=2"),
    ],
)
def test_dictionary_round_trip(text: str, canonical: str) -> None:
    assert sfv.serialize_dictionary(sfv.parse_dictionary(text)) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "A=1",
        "a=1,",
        "a=(1 2",
        'a="unterminated',
        "a=1 b=2",
        "a=:AQ$:",
        "a=?2",
        "a=1.2345",
        "a=1234567890123456",
        "a=é",
    ],
)
def test_malformed_dictionaries(text: str) -> None:
    with pytest.raises(sfv.StructuredFieldError):
        sfv.parse_dictionary(text)


def test_items_and_lists() -> None:
    assert sfv.parse_item('"@query-param";name="Pet"') == sfv.Item("@query-param", {"name": "Pet"})
    assert sfv.serialize_list(sfv.parse_list("a;q=1, (b c);d")) == "a;q=1, (b c);d"
    assert isinstance(sfv.parse_item("tok").value, sfv.Token)
    with pytest.raises(sfv.StructuredFieldError):
        sfv.parse_item("")
    with pytest.raises(sfv.StructuredFieldError):
        sfv.serialize_bare_item("tab\tinside")
