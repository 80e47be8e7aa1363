"""Independent implementations as oracles, both directions.

draft-cavage: ``httpsig`` (pycryptodome) verifies what ``sign_request`` signs, and we
verify what ``httpsig.HeaderSigner`` signs. RFC 9421: ``http_message_signatures``
verifies what ``sign_rfc9421`` signs and we verify what ``HTTPMessageSigner`` signs, for
every algorithm fediverse peers use; its signature base is compared with ours for
components with parameters, and ``http_sf`` checks our RFC 8941 serialisation.

``http_message_signatures`` reads the wall clock, so the RFC 9421 oracle tests sign with
the real time; everything else uses a fixed clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import http_sf
import httpsig
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from federation import sfv
from federation.digest import digest_header
from federation.rfc9421 import parse_signature_input, sign_rfc9421, signature_base, verify_rfc9421
from federation.signatures import (
    HttpRequestView,
    SigningKey,
    VerifyingKey,
    format_http_date,
    sign_request,
    verify_cavage,
)
from tests.federation.sigkit import KEY_ID, NOW, StaticKeys

BODY = b'{"type": "Create", "object": {"content": "caf\xc3\xa9"}}'


def static_keys(key: VerifyingKey) -> StaticKeys:
    return StaticKeys({KEY_ID: key})


def pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def pem_public(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# draft-cavage with httpsig.

CAVAGE_CASES = [
    ("POST", "https://b.test/users/bob/inbox", "/users/bob/inbox", BODY),
    ("GET", "https://b.test:8443/users/bob/outbox?page=true", "/users/bob/outbox?page=true", b""),
]


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha512"])
@pytest.mark.parametrize(("method", "url", "path", "body"), CAVAGE_CASES)
def test_httpsig_verifies_our_cavage_signatures(
    rsa_key: rsa.RSAPrivateKey, algorithm: str, method: str, url: str, path: str, body: bytes
) -> None:
    added = sign_request(
        method, url, {}, body, key_id=KEY_ID, private_key=rsa_key, now=NOW, algorithm=algorithm
    )
    headers = {**added, "Content-Type": "application/activity+json"}
    required = ["(request-target)", "host", "date"] + (["digest"] if body else [])

    def verifier(**overrides: Any) -> httpsig.HeaderVerifier:
        options = {"method": method, "path": path, **overrides}
        return httpsig.HeaderVerifier(
            headers=options.pop("headers", headers),
            secret=pem_public(rsa_key),
            required_headers=required,
            sign_header="signature",
            **options,
        )

    assert verifier().verify()
    assert not verifier(path=path + "x").verify()
    assert not verifier(headers={**headers, "Date": format_http_date(datetime.now(UTC))}).verify()


@pytest.mark.parametrize("sign_header", ["signature", "authorization"])
@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha512"])
@pytest.mark.parametrize(("method", "url", "path", "body"), CAVAGE_CASES)
async def test_we_verify_httpsig_cavage_signatures(
    rsa_key: rsa.RSAPrivateKey,
    sign_header: str,
    algorithm: str,
    method: str,
    url: str,
    path: str,
    body: bytes,
) -> None:
    headers = {"Host": url.split("/")[2], "Date": format_http_date(NOW), "Accept": "*/*"}
    covered = ["(request-target)", "host", "date", "accept"]
    if body:
        headers["Digest"] = digest_header(body)
        covered.append("digest")
    signer = httpsig.HeaderSigner(
        KEY_ID, pem_private(rsa_key), algorithm=algorithm, headers=covered, sign_header=sign_header
    )
    signed = signer.sign(headers, method=method, path=path)
    view = HttpRequestView(method, url, tuple(signed.items()), body)
    verified = await verify_cavage(view, static_keys(rsa_key.public_key()), now=NOW)
    assert verified.key_id == KEY_ID
    assert verified.covered == tuple(covered)


# RFC 9421 with http_message_signatures.


@dataclass
class LibRequest:
    """The request shape http_message_signatures reads: method, absolute url, headers."""

    method: str
    url: str
    headers: dict[str, str]


ALGORITHM_CLASSES: dict[str, type[HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "ed25519": algorithms.ED25519,
}


@pytest.fixture(scope="session")
def key_pairs(rsa_key: rsa.RSAPrivateKey) -> dict[str, tuple[SigningKey, VerifyingKey]]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    return {
        "rsa-v1_5-sha256": (rsa_key, rsa_key.public_key()),
        "rsa-pss-sha512": (rsa_key, rsa_key.public_key()),
        "ecdsa-p256-sha256": (ec_key, ec_key.public_key()),
        "ed25519": (ed_key, ed_key.public_key()),
    }


RFC9421_CASES = [
    ("POST", "https://b.test/users/bob/inbox", BODY),
    ("GET", "https://b.test:8443/users/bob/outbox?page=true&q=a%20b", b""),
]


@pytest.mark.parametrize("algorithm", sorted(ALGORITHM_CLASSES))
@pytest.mark.parametrize(("method", "url", "body"), RFC9421_CASES)
def test_http_message_signatures_verifies_our_signatures(
    key_pairs: dict[str, tuple[SigningKey, VerifyingKey]],
    algorithm: str,
    method: str,
    url: str,
    body: bytes,
) -> None:
    private_key, public_key = key_pairs[algorithm]
    headers = {"Host": url.split("/")[2], "Content-Type": "application/activity+json"}
    view = HttpRequestView(method, url, tuple(headers.items()), body)
    added = sign_rfc9421(
        view, key_id=KEY_ID, private_key=private_key, now=datetime.now(UTC), algorithm=algorithm
    )
    resolver = MappingKeyResolver(public_keys={KEY_ID: public_key}, private_keys={})
    verifier = HTTPMessageVerifier(
        signature_algorithm=ALGORITHM_CLASSES[algorithm], key_resolver=resolver
    )
    required = ("@method", "@target-uri") + (("content-digest",) if body else ())
    message = LibRequest(method, url, {**headers, **added})
    [result] = verifier.verify(message, body=body, require_components=required)
    assert result.parameters["keyid"] == KEY_ID
    assert result.parameters["alg"] == algorithm

    tampered = LibRequest(method, url.replace("bob", "eve"), {**headers, **added})
    with pytest.raises(InvalidSignature):
        verifier.verify(tampered, body=body, require_components=required)


@pytest.mark.parametrize("include_alg", [True, False])
@pytest.mark.parametrize("algorithm", sorted(ALGORITHM_CLASSES))
@pytest.mark.parametrize(("method", "url", "body"), RFC9421_CASES)
async def test_we_verify_http_message_signatures(
    key_pairs: dict[str, tuple[SigningKey, VerifyingKey]],
    include_alg: bool,
    algorithm: str,
    method: str,
    url: str,
    body: bytes,
) -> None:
    private_key, public_key = key_pairs[algorithm]
    now = datetime.now(UTC).replace(microsecond=0)
    message = LibRequest(method, url, {"Host": url.split("/")[2], "Accept": "*/*"})
    signer = HTTPMessageSigner(
        signature_algorithm=ALGORITHM_CLASSES[algorithm],
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: private_key}),
    )
    signer.sign(
        message,
        key_id=KEY_ID,
        created=now,
        label="sig1",
        include_alg=include_alg,
        covered_component_ids=("@method", "@target-uri", "@authority", "accept"),
        body=body if body else None,
    )
    view = HttpRequestView(method, url, tuple(message.headers.items()), body)
    verified = await verify_rfc9421(view, static_keys(public_key), now=now)
    assert verified.key_id == KEY_ID
    assert ('"content-digest"' in verified.covered) is bool(body)


def test_signature_base_matches_http_message_signatures_for_parameterised_components(
    key_pairs: dict[str, tuple[SigningKey, VerifyingKey]],
) -> None:
    url = "https://b.test/inbox?Pet=dog&q=a+b%20c&fa%C3%A7ade%22%3A%20=no%2Dspace"
    headers = {
        "Host": "b.test",
        "Content-Digest": "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        "Example-Dict": "a=1, b=2;x=1;y=2, c=(a b c)",
        "Priority": "u=1,   i",
        "X-Empty": "",
    }
    components = (
        "@method",
        "@authority",
        "@scheme",
        "@target-uri",
        "@request-target",
        "@path",
        "@query",
        '"@query-param";name="Pet"',
        '"@query-param";name="q"',
        '"@query-param";name="fa%C3%A7ade%22%3A%20"',
        '"content-digest";sf',
        '"example-dict";key="b"',
        '"example-dict";key="c"',
        '"priority";sf',
        '"x-empty"',
        '"host";bs',
    )
    algorithm_class = ALGORITHM_CLASSES["ed25519"]
    signer = HTTPMessageSigner(signature_algorithm=algorithm_class)
    prepared = signer.prepare(
        LibRequest("POST", url, dict(headers)),
        key_id=KEY_ID,
        created=NOW,
        include_alg=False,
        covered_component_ids=components,
        use_existing_digest=True,
    )
    inner = parse_signature_input("sig1=" + prepared.signature_params)["sig1"]
    ours = signature_base(HttpRequestView("POST", url, tuple(headers.items())), inner)
    assert ours.encode() == prepared.signature_base
    assert '"@query-param";name="fa%C3%A7ade%22%3A%20": no-space' in ours.splitlines()


# RFC 8941 serialisation against http_sf.

STRUCTURED = [
    'sig1=("@method" "@target-uri" "content-digest");created=1703066400;keyid="k";alg="ed25519"',
    "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,sha-512=:AA==:",
    'a=1,   b=2.50;x, c=?0, d=(1 2.0 "three" four:5 :AQ==:);e=*f',
    'a=-123456789012345, b=-1.125, c="\\\\\\"", d=()',
    "u=1, i",
]


@pytest.mark.parametrize("text", STRUCTURED)
def test_dictionary_serialisation_matches_http_sf(text: str) -> None:
    ours = sfv.serialize_dictionary(sfv.parse_dictionary(text))
    assert ours == http_sf.ser(http_sf.parse(text.encode(), tltype="dictionary"))
