"""Digest (RFC 3230) and Content-Digest (RFC 9530), against the RFC's and peers' values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from federation.digest import (
    content_digest_header,
    digest_header,
    verify_content_digest,
    verify_digest,
)
from federation.errors import SignatureError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "signatures"
HELLO = b'{"hello": "world"}'


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


RFC9530 = load("rfc9530-content-digest.json")
EXAMPLES = {example["id"]: example for example in RFC9530["examples"]}


def reason_of(excinfo: pytest.ExceptionInfo[SignatureError]) -> str:
    return excinfo.value.reason


# RFC 9530 Appendix D: digests of the 18-byte {"hello": "world"}.


@pytest.mark.parametrize("algorithm", ["sha-256", "sha-512"])
def test_content_digest_matches_rfc9530_appendix_d(algorithm: str) -> None:
    value = RFC9530["sample_digest_values"]["values_as_sf_byte_sequences"][algorithm]
    assert content_digest_header(HELLO, algorithm) == f"{algorithm}={value}"
    verify_content_digest(f"{algorithm}={value}", HELLO)


@pytest.mark.parametrize("example_id", ["rfc9530-B.1", "rfc9530-B.2", "rfc9530-B.3"])
def test_content_digest_of_rfc9530_appendix_b_responses(example_id: str) -> None:
    example = EXAMPLES[example_id]
    value = dict(example["response_headers"])["Content-Digest"]
    content = example["content"].encode()
    assert content_digest_header(content) == value
    verify_content_digest(value, content)


def test_content_digest_single_sha512_example_of_section_2() -> None:
    # The RFC shows no content; its note says it is {"hello": "world"} plus LF.
    verify_content_digest(EXAMPLES["rfc9530-2-single"]["value"], HELLO + b"\n")


def test_two_member_dictionary_needs_every_known_member_to_match() -> None:
    # Finding 7: the RFC's sha-256 member (d435Qo...) is not the digest of any content it
    # shows, so this two-member example must be refused for {"hello": "world"}\n even though
    # its sha-512 member matches.
    value = EXAMPLES["rfc9530-2-dictionary"]["value_as_displayed_unfolded"]
    with pytest.raises(SignatureError) as excinfo:
        verify_content_digest(value, HELLO + b"\n")
    assert reason_of(excinfo) == "digest_mismatch"
    content = HELLO + b"\n"
    good = f"{content_digest_header(content)}, {content_digest_header(content, 'sha-512')}"
    verify_content_digest(good, content)


def test_unknown_content_digest_algorithms_are_ignored_but_one_known_is_required() -> None:
    md5 = RFC9530["sample_digest_values"]["values_as_sf_byte_sequences"]["md5"]
    verify_content_digest(f"md5={md5}, {content_digest_header(HELLO)}", HELLO)
    with pytest.raises(SignatureError) as excinfo:
        verify_content_digest(f"md5={md5}", HELLO)
    assert reason_of(excinfo) == "bad_format"


@pytest.mark.parametrize(
    "value",
    [
        # Mastodon's malformed case: an upper-case key is not an RFC 8941 dictionary key.
        "SHA-256=:ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=:",
        "sha-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=",  # a token, not bytes
        "sha-256=:not base64!:",
        "sha-256=:ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=:,",
        "",
    ],
)
def test_malformed_content_digest_is_bad_format(value: str) -> None:
    with pytest.raises(SignatureError) as excinfo:
        verify_content_digest(value, b"Hello world")
    assert reason_of(excinfo) == "bad_format"


def test_content_digest_of_tampered_body_is_a_mismatch() -> None:
    value = "sha-256=:ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=:"  # Mastodon: "Hello world"
    verify_content_digest(value, b"Hello world")
    with pytest.raises(SignatureError) as excinfo:
        verify_content_digest(value, b"Hello world!")
    assert reason_of(excinfo) == "digest_mismatch"


def test_unsupported_content_digest_algorithm_cannot_be_produced() -> None:
    with pytest.raises(ValueError):
        content_digest_header(HELLO, "md5")


# RFC 3230 Digest, as draft-cavage peers send it.


def test_digest_header_matches_the_draft_cavage_request() -> None:
    request = load("draft-cavage-12-appendix-c.json")["request"]
    assert digest_header(request["body"].encode()) == dict(request["headers"])["Digest"]


def test_digest_header_matches_mastodon_and_the_rfc9530_sha256_value() -> None:
    assert digest_header(b"Hello world") == "SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
    sha256 = RFC9530["sample_digest_values"]["values_as_sf_byte_sequences"]["sha-256"]
    assert digest_header(HELLO) == "SHA-256=" + sha256.strip(":")


@pytest.mark.parametrize(
    "value",
    [
        "SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=",
        "sha-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=",  # Fedify writes lower case
        "MD5=PiWWCnnbxptnTNTsZ6csYg==, SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=",
        "SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=,SHA-512="
        "t/eDuu2Cl/DbkXRiGE/08I5pwtXl95qUJgD5cl9Yzh8pwYE5v4CwbA//K900c4RS7PQMSIwip+PYDN9vnBwNRw==",
    ],
)
def test_digest_accepts_case_and_several_members(value: str) -> None:
    verify_digest(value, b"Hello world")


def test_fedify_lower_case_digest_verifies() -> None:
    case = load("fedify-http-signature-vectors.json")["cases"][0]
    verify_digest(dict(case["request"]["headers"])["Digest"], case["request"]["body"].encode())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=", "digest_mismatch"),
        ("SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=, SHA-512=AAAA", "digest_mismatch"),
        ("MD5=PiWWCnnbxptnTNTsZ6csYg==", "bad_format"),
        ("SHA-256", "bad_format"),
        ("SHA-256=not*base64", "bad_format"),
        ("", "bad_format"),
    ],
)
def test_digest_refusals(value: str, reason: str) -> None:
    with pytest.raises(SignatureError) as excinfo:
        verify_digest(value, b"Hello world!")
    assert reason_of(excinfo) == reason
