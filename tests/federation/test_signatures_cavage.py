"""draft-cavage-http-signatures-12: published vectors, every rejection reason, signing.

Spec: draft-cavage-http-signatures-12; Mastodon's and Fedify's behaviour as captured in
tests/fixtures/signatures/ (see its README for the findings these tests rely on).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from federation.digest import digest_header
from federation.errors import FetchError, SignatureError
from federation.signatures import (
    HttpRequestView,
    HttpSignatureAuth,
    ResolvedKey,
    Verified,
    check_cavage_signature,
    parse_signature_header,
    sign_request,
    signing_string,
    verify_cavage,
)
from federation.verify import verify_request
from tests.federation.sigkit import INBOX, KEY_ID, NOW, OWNER, StaticKeys, load


@pytest.fixture
def keys(rsa_key: rsa.RSAPrivateKey) -> StaticKeys:
    return StaticKeys({KEY_ID: rsa_key.public_key()})


def signed(
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    method: str = "POST",
    url: str = INBOX,
    body: bytes = b'{"type": "Follow"}',
    *,
    now: datetime = NOW,
    algorithm: str = "rsa-sha256",
    extra: Iterable[tuple[str, str]] = (),
) -> HttpRequestView:
    """A request signed by our own sign_request, as the peer would receive it."""
    added = sign_request(
        method, url, {}, body, key_id=KEY_ID, private_key=private_key, now=now, algorithm=algorithm
    )
    headers = (*added.items(), ("Content-Type", "application/activity+json"), *extra)
    return HttpRequestView(method, url, tuple(headers), body)


def resigned(
    private_key: rsa.RSAPrivateKey,
    request: HttpRequestView,
    covered: str,
    *,
    algorithm: str | None = "rsa-sha256",
    created: str | None = None,
    expires: str | None = None,
) -> HttpRequestView:
    """The request with a hand-made Signature over ``covered`` (for the odd cases)."""
    try:
        text = signing_string(request, covered.split(), created=created, expires=expires)
    except SignatureError:
        text = "unsignable"  # the verifier must refuse before it looks at the value
    value = base64.b64encode(
        private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    params = [f'keyId="{KEY_ID}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    if created is not None:
        params.append(f"created={created}")
    if expires is not None:
        params.append(f"expires={expires}")
    params += [f'headers="{covered}"', f'signature="{value}"']
    headers = [(n, v) for n, v in request.headers if n.lower() != "signature"]
    return HttpRequestView(
        request.method, request.url, (*headers, ("Signature", ",".join(params))), request.body
    )


def with_header(request: HttpRequestView, name: str, value: str) -> HttpRequestView:
    headers = [(n, v) for n, v in request.headers if n.lower() != name.lower()]
    return HttpRequestView(request.method, request.url, (*headers, (name, value)), request.body)


async def refused(
    request: HttpRequestView, keys: StaticKeys, *, now: datetime = NOW, **kwargs: Any
) -> str:
    with pytest.raises(SignatureError) as excinfo:
        await verify_cavage(request, keys, now=now, **kwargs)
    return excinfo.value.reason


# draft-cavage-12 Appendix C.

CAVAGE = load("draft-cavage-12-appendix-c.json")
CAVAGE_TESTS = {test["id"]: test for test in CAVAGE["tests"]}
CAVAGE_KEY = load_pem_public_key(CAVAGE["key"]["public_key_pem"].encode())
CAVAGE_KEYS = {"Test": CAVAGE_KEY}
CAVAGE_DATE = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)


def cavage_request(signature: str | None = None, header: str = "Signature") -> HttpRequestView:
    request = CAVAGE["request"]
    headers = [tuple(pair) for pair in request["headers"]]
    if signature is not None:
        headers.append((header, signature))
    url = "https://example.com" + request["request_target"]
    return HttpRequestView(request["method"], url, tuple(headers), request["body"].encode())


@pytest.mark.parametrize("test_id", ["cavage-12-C.1", "cavage-12-C.2"])
def test_appendix_c_signing_strings_and_signatures(test_id: str) -> None:
    test = CAVAGE_TESTS[test_id]
    covered = (test["signed_headers"] or "date").split()
    text = signing_string(cavage_request(), covered)
    assert text == test["signing_string"]
    signature = base64.b64decode(test["signature_base64"])
    assert check_cavage_signature("rsa-sha256", CAVAGE_KEY, text.encode(), signature)
    assert not check_cavage_signature("rsa-sha256", CAVAGE_KEY, text.encode() + b" ", signature)


@pytest.mark.parametrize(
    ("test_id", "header", "value_field"),
    [
        ("cavage-12-C.1", "Signature", "signature_header"),
        ("cavage-12-C.1", "Authorization", "authorization_header"),
        ("cavage-12-C.2", "Authorization", "authorization_header"),
    ],
)
async def test_appendix_c_post_without_digest_is_refused_by_policy(
    test_id: str, header: str, value_field: str
) -> None:
    # C.1 covers only date and C.2 no digest: valid signatures, but a POST must cover more.
    request = cavage_request(CAVAGE_TESTS[test_id][value_field], header)
    keys = StaticKeys(CAVAGE_KEYS)
    assert await refused(request, keys, now=CAVAGE_DATE) == "missing_headers"
    assert keys.calls == []


async def test_appendix_c3_is_rejected_by_a_verifier_that_follows_the_headers_parameter() -> None:
    # Finding 3: the value verifies only over the printed string, which leaves out the
    # (created) and (expires) lines its own headers parameter lists.
    test = CAVAGE_TESTS["cavage-12-C.3"]
    signature = base64.b64decode(test["signature_base64"])
    printed = test["signing_string_as_displayed"].encode()
    assert check_cavage_signature("rsa-sha256", CAVAGE_KEY, printed, signature)
    ours = signing_string(
        cavage_request(),
        test["signed_headers"].split(),
        created=str(test["created"]),
        expires=str(test["expires"]),
    )
    assert ours.splitlines()[1:3] == ["(created): 1402170695", "(expires): 1402170699"]
    assert not check_cavage_signature("rsa-sha256", CAVAGE_KEY, ours.encode(), signature)

    header = (
        f'keyId="Test",algorithm="rsa-sha256",created={test["created"]},'
        f'expires={test["expires"]},headers="{test["signed_headers"]}",'
        f'signature="{test["signature_base64"]}"'
    )
    # Date and created are five months apart, so open the window to reach the signature.
    created = datetime.fromtimestamp(test["created"], UTC)
    reason = await refused(
        cavage_request(header),
        StaticKeys(CAVAGE_KEYS),
        now=created + timedelta(seconds=2),
        max_skew=timedelta(days=200),
    )
    assert reason == "invalid"
    assert await refused(cavage_request(header), StaticKeys(CAVAGE_KEYS), now=created) == "expired"


# Mastodon's spec/requests/signature_verification_spec.rb, at its pinned clock.

MASTODON = load("mastodon-signature-verification-spec.json")
MASTODON_CLOCK = datetime.fromisoformat(MASTODON["test_clock"].replace("Z", "+00:00"))
MASTODON_KEY = load_pem_public_key(MASTODON["key"]["public_key_pem"].encode())
MASTODON_DRAFT = {c["id"]: c for c in MASTODON["cases"] if c["id"].startswith("mastodon-draft")}
MASTODON_DRAFT_REFUSALS = {
    "mastodon-draft-get": None,
    "mastodon-draft-get-query": None,
    "mastodon-draft-get-query-quirk": None,
    "mastodon-draft-get-query-mismatch": "invalid",
    "mastodon-draft-mismatching-path": "invalid",
    # Signed as a GET, sent as POST: a POST must cover digest, so policy refuses first.
    "mastodon-draft-mismatching-method": "missing_headers",
    "mastodon-draft-unparsable-date": "bad_format",
    "mastodon-draft-too-old": "expired",
    "mastodon-draft-post": None,
    "mastodon-draft-post-digest-unsigned": "missing_headers",
    "mastodon-draft-post-tampered-body": "digest_mismatch",
    "mastodon-draft-post-tampered-path": "invalid",
}


def mastodon_request(case: dict[str, Any]) -> HttpRequestView:
    request = case["request"]
    body = (request["body"] or "").encode()
    headers = tuple(tuple(pair) for pair in request["headers"])
    return HttpRequestView(
        request["method"], "https://www.example.com" + request["path"], headers, body
    )


def test_every_mastodon_draft_case_has_an_expected_outcome() -> None:
    assert set(MASTODON_DRAFT) == set(MASTODON_DRAFT_REFUSALS)
    for case_id, reason in MASTODON_DRAFT_REFUSALS.items():
        assert MASTODON_DRAFT[case_id]["expected"]["verified"] is (reason is None)


@pytest.mark.parametrize("case_id", sorted(MASTODON_DRAFT))
def test_mastodon_draft_signatures_verify_over_the_string_they_were_made_for(
    case_id: str,
) -> None:
    case = MASTODON_DRAFT[case_id]
    sig = parse_signature_header(case["signature_header"])
    text = signing_string(
        mastodon_request(case), sig.headers, target=case["signed_for_request_target"]
    )
    assert text == case["signing_string_reconstructed"]
    assert check_cavage_signature(sig.algorithm, MASTODON_KEY, text.encode(), sig.signature)


@pytest.mark.parametrize("case_id", sorted(MASTODON_DRAFT))
async def test_mastodon_draft_cases_at_the_pinned_clock(case_id: str) -> None:
    keys = StaticKeys({MASTODON["key"]["key_id"]: MASTODON_KEY}, owner=MASTODON["key"]["actor"])
    request = mastodon_request(MASTODON_DRAFT[case_id])
    expected = MASTODON_DRAFT_REFUSALS[case_id]
    if expected is None:
        verified = await verify_cavage(request, keys, now=MASTODON_CLOCK)
        assert verified.owner == "https://remote.domain/users/bob"
        assert verified.key_id == "https://remote.domain/users/bob#main-key"
        assert verified.scheme == "cavage"
    else:
        assert await refused(request, keys, now=MASTODON_CLOCK) == expected


# Fedify's vectors.

FEDIFY = {case["id"]: case for case in load("fedify-http-signature-vectors.json")["cases"]}


def fedify_case(case_id: str) -> tuple[HttpRequestView, StaticKeys, datetime]:
    case = FEDIFY[case_id]
    request = case["request"]
    view = HttpRequestView(
        request["method"],
        request["url"],
        tuple(tuple(pair) for pair in request["headers"]),
        request["body"].encode(),
    )
    key = load_pem_public_key(case["key"]["public_key_pem"].encode())
    keys = StaticKeys({case["key"]["key_id"]: key}, owner=case["key"]["owner"])
    when = datetime.fromisoformat(case["verification_time"].replace("Z", "+00:00"))
    return view, keys, when


async def test_fedify_request_without_algorithm_and_host_header() -> None:
    view, keys, when = fedify_case("fedify-draft-cavage-example-key")
    verified = await verify_cavage(view, keys, now=when)
    assert verified == Verified(
        "https://example.com/key",
        "https://example.com/person",
        "cavage",
        ("(request-target)", "accept", "content-type", "date", "digest", "host"),
    )


async def test_fedify_oeee_cafe_hs2019_request_with_created_and_expires() -> None:
    # The request is real and old: verify it at its own Date, as Fedify's test does.
    view, keys, when = fedify_case("fedify-oeee-cafe-accept")
    verified = await verify_cavage(view, keys, now=when)
    assert verified.owner == "https://oeee.cafe/ap/users/3609fd4e-d51d-4db8-9f04-4189815864dd"
    assert "(created)" in verified.covered
    # expires is created + 1 h; with the default 1 h skew it lapses two hours after signing.
    assert await refused(view, keys, now=when + timedelta(hours=2, seconds=1)) == "expired"
    assert await refused(view, keys, now=datetime(2030, 1, 1, tzinfo=UTC)) == "expired"


# Our signer and verifier together, and every rejection reason.


async def test_signed_post_verifies(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    verified = await verify_cavage(signed(rsa_key), keys, now=NOW)
    assert verified == Verified(
        KEY_ID, OWNER, "cavage", ("(request-target)", "host", "date", "digest")
    )
    assert keys.calls == [(KEY_ID, False)]


async def test_signed_get_with_query_verifies(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    request = signed(rsa_key, "GET", "https://b.test/users/bob/outbox?page=true", b"")
    verified = await verify_cavage(request, keys, now=NOW)
    assert verified.covered == ("(request-target)", "host", "date")


def test_sign_request_headers(rsa_key: rsa.RSAPrivateKey) -> None:
    now = datetime(2023, 12, 20, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    added = sign_request(
        "post", "https://b.test:8443/inbox", {}, b"{}", key_id=KEY_ID, private_key=rsa_key, now=now
    )
    assert added["Host"] == "b.test:8443"
    assert added["Date"] == "Wed, 20 Dec 2023 10:00:00 GMT"
    assert added["Digest"] == digest_header(b"{}")
    sig = parse_signature_header(added["Signature"])
    assert sig.key_id == KEY_ID
    assert sig.algorithm == "rsa-sha256"
    assert sig.headers == ("(request-target)", "host", "date", "digest")

    get = sign_request(
        "GET", "https://B.test:443/x", {}, None, key_id=KEY_ID, private_key=rsa_key, now=now
    )
    assert get["Host"] == "b.test"
    assert "Digest" not in get
    assert parse_signature_header(get["Signature"]).headers == ("(request-target)", "host", "date")

    given = sign_request(
        "GET",
        "https://b.test/x",
        {"HOST": "b.test"},
        b"",
        key_id=KEY_ID,
        private_key=rsa_key,
        now=now,
    )
    assert given["Host"] == "b.test"


def test_sign_request_refuses_naive_clock_and_unknown_algorithm(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    with pytest.raises(ValueError):
        sign_request(
            "GET", INBOX, {}, None, key_id=KEY_ID, private_key=rsa_key, now=datetime(2024, 1, 1)
        )
    with pytest.raises(ValueError):
        sign_request(
            "GET",
            INBOX,
            {},
            None,
            key_id=KEY_ID,
            private_key=rsa_key,
            now=NOW,
            algorithm="rsa-sha1",
        )


async def test_no_signature(keys: StaticKeys) -> None:
    request = HttpRequestView("POST", INBOX, (("Host", "b.test"),), b"{}")
    assert await refused(request, keys) == "no_signature"


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        'keyId="k"',
        'keyId="k",signature=""',
        'keyId="k",signature="not base64!"',
        'keyId="k" signature="AAAA"',
        'keyId="k",keyId="j",signature="AAAA"',
        'keyId="k",signature="AAAA",',
        'keyId="k",headers="(request-target) host date",created=yesterday,signature="AAAA"',
    ],
)
async def test_unparsable_signature_header(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, value: str
) -> None:
    request = with_header(signed(rsa_key, "GET", body=b""), "Signature", value)
    assert await refused(request, keys) == "bad_format"
    assert keys.calls == []


async def test_unknown_pseudo_header_and_unparsable_date(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    request = signed(rsa_key, "GET", body=b"")
    odd = resigned(rsa_key, request, "(request-target) (foo) host date")
    assert await refused(odd, keys) == "bad_format"
    bad_date = resigned(
        rsa_key, with_header(request, "Date", "yesterday"), "(request-target) host date"
    )
    assert await refused(bad_date, keys) == "bad_format"


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)])
async def test_date_outside_the_window_is_expired(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, offset: timedelta
) -> None:
    request = signed(rsa_key, now=NOW + offset)
    assert await refused(request, keys) == "expired"
    # The window is configurable; the default is one hour each way.
    await verify_cavage(request, keys, now=NOW, max_skew=timedelta(hours=3))
    await verify_cavage(signed(rsa_key, now=NOW - timedelta(minutes=59)), keys, now=NOW)


async def test_created_in_the_future_and_expires_in_the_past(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    request = signed(rsa_key)
    covered = "(request-target) (created) (expires) host digest"
    at = int(NOW.timestamp())
    fine = resigned(
        rsa_key, request, covered, algorithm="hs2019", created=str(at), expires=str(at + 300)
    )
    verified = await verify_cavage(fine, keys, now=NOW)
    assert "date" not in verified.covered
    future = resigned(
        rsa_key,
        request,
        covered,
        algorithm="hs2019",
        created=str(at + 7200),
        expires=str(at + 9000),
    )
    assert await refused(future, keys) == "expired"
    lapsed = resigned(
        rsa_key,
        request,
        covered,
        algorithm="hs2019",
        created=str(at - 3000),
        expires=str(at - 3700),
    )
    assert await refused(lapsed, keys) == "expired"
    no_param = resigned(rsa_key, request, covered, algorithm="hs2019")
    assert await refused(no_param, keys) == "bad_format"


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
    tampered = with_header(
        HttpRequestView(request.method, request.url, request.headers, body),
        "Digest",
        digest_header(body),
    )
    assert await refused(tampered, keys) == "invalid"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "https://b.test/users/bob/inbox"),  # path
        ("PUT", INBOX),  # method
        ("POST", INBOX + "?x=1"),  # query added
    ],
)
async def test_tampered_target_is_invalid(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, method: str, url: str
) -> None:
    request = signed(rsa_key)
    tampered = HttpRequestView(method, url, request.headers, request.body)
    if url.endswith("?x=1"):
        # Mastodon's quirk accepts a signature that left the query out of (request-target).
        assert (await verify_cavage(tampered, keys, now=NOW)).key_id == KEY_ID
    else:
        assert await refused(tampered, keys) == "invalid"


async def test_host_is_our_authority_not_the_header_as_sent(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    """A proxy that rewrites Host does not break a signature made for our address; what
    binds the request to us is the URL we received it at (see the cross-host test)."""
    request = with_header(signed(rsa_key), "Host", "internal-backend:8080")
    verified = await verify_cavage(request, keys, now=NOW)
    assert verified.owner == OWNER


@pytest.mark.parametrize(
    ("method", "covered"),
    [
        ("POST", "(request-target) host date"),  # no digest on a POST
        ("GET", "(request-target) date"),  # no host
        ("GET", "host date"),  # no (request-target)
        ("GET", "(request-target) host"),  # neither date nor (created)
        ("GET", "(request-target) host date accept"),  # a covered header that is absent
    ],
)
async def test_missing_required_covered_headers(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, method: str, covered: str
) -> None:
    body = b"{}" if method == "POST" else b""
    request = resigned(rsa_key, signed(rsa_key, method, body=body), covered)
    assert await refused(request, keys) == "missing_headers"


async def test_get_with_a_body_must_cover_digest(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    request = signed(rsa_key, "GET", body=b"")
    with_body = HttpRequestView("GET", request.url, request.headers, b"surprise")
    assert await refused(with_body, keys) == "missing_headers"


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "ecdsa-sha256", "rsa-pss"])
async def test_unknown_algorithm(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, algorithm: str
) -> None:
    request = resigned(
        rsa_key, signed(rsa_key), "(request-target) host date digest", algorithm=algorithm
    )
    assert await refused(request, keys) == "unknown_algorithm"
    assert keys.calls == []


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
    verified = await verify_cavage(signed(rsa_key), keys, now=NOW)
    # Then the key is refetched once and the request verifies
    assert verified.key_id == KEY_ID
    assert keys.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_key_gone_on_refresh(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    keys = StaticKeys({KEY_ID: other_rsa_key.public_key()}, fresh={})
    assert await refused(signed(rsa_key), keys) == "key_unavailable"


async def test_fetch_error_from_the_resolver_is_key_unavailable(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    class Unreachable:
        async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None:
            raise FetchError("connection refused")

    with pytest.raises(SignatureError) as excinfo:
        await verify_cavage(signed(rsa_key), Unreachable(), now=NOW)
    assert excinfo.value.reason == "key_unavailable"


async def test_authorization_signature_form(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys) -> None:
    request = signed(rsa_key)
    value = request.header("signature")
    headers = [(n, v) for n, v in request.headers if n.lower() != "signature"]
    as_authorization = HttpRequestView(
        "POST", INBOX, (*headers, ("Authorization", f"Signature {value}")), request.body
    )
    assert (await verify_cavage(as_authorization, keys, now=NOW)).key_id == KEY_ID
    bearer = HttpRequestView("POST", INBOX, (*headers, ("Authorization", "Bearer x")), request.body)
    assert await refused(bearer, keys) == "no_signature"


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha512", "hs2019"])
async def test_rsa_algorithms(rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, algorithm: str) -> None:
    verified = await verify_cavage(signed(rsa_key, algorithm=algorithm), keys, now=NOW)
    assert verified.key_id == KEY_ID


@pytest.mark.parametrize("algorithm", ["ed25519", "hs2019"])
async def test_ed25519_keys(algorithm: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    keys = StaticKeys({KEY_ID: key.public_key()})
    assert (await verify_cavage(signed(key, algorithm=algorithm), keys, now=NOW)).owner == OWNER


async def test_algorithm_that_does_not_fit_the_key_is_invalid(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    request = signed(ed_key, algorithm="ed25519")
    keys = StaticKeys({KEY_ID: rsa_key.public_key()})
    assert await refused(request, keys) == "invalid"
    with pytest.raises(ValueError):
        signed(ed_key, algorithm="rsa-sha256")


async def test_verify_request_uses_cavage_without_signature_input(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    verified = await verify_request(signed(rsa_key), keys, now=NOW)
    assert verified.scheme == "cavage"


# End to end through httpx: HttpSignatureAuth on an AsyncClient.


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "https://b.test/users/bob/inbox", b'{"type": "Create"}'),
        ("GET", "https://b.test:8443/users/bob/outbox?page=true&min_id=1", b""),
    ],
)
async def test_httpx_auth_end_to_end(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys, method: str, url: str, body: bytes
) -> None:
    # Given a client that signs with an injected clock, and a peer that verifies
    clock = NOW + timedelta(minutes=5)
    received: list[Verified] = []

    async def peer(request: httpx.Request) -> httpx.Response:
        view = HttpRequestView(
            request.method, str(request.url), tuple(request.headers.multi_items()), request.content
        )
        received.append(await verify_cavage(view, keys, now=clock))
        assert request.headers["date"] == "Wed, 01 May 2024 12:05:00 GMT"
        return httpx.Response(202)

    auth = HttpSignatureAuth(key_id=KEY_ID, private_key=rsa_key, now=lambda: clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(peer), auth=auth) as client:
        # When the client sends a request
        response = await client.request(
            method, url, content=body or None, headers={"Content-Type": "application/activity+json"}
        )
    # Then the peer verified it as ours
    assert response.status_code == 202
    assert [v.key_id for v in received] == [KEY_ID]
    assert ("digest" in received[0].covered) is (method == "POST")


async def test_a_signature_made_for_another_host_does_not_verify_here(
    rsa_key: rsa.RSAPrivateKey, keys: StaticKeys
) -> None:
    """`host` is our own authority, not the Host header as sent: no cross-server replay."""
    for_other = signed(rsa_key, url="https://c.test/inbox")
    replayed = HttpRequestView(for_other.method, INBOX, for_other.headers, for_other.body)
    assert replayed.header("host") == "c.test"
    with pytest.raises(SignatureError) as refused:
        await verify_cavage(replayed, keys, now=NOW)
    assert refused.value.reason == "invalid"
