"""RFC 8941 Structured Field Values: the subset HTTP Message Signatures and digests need.

Owns parsing and canonical serialisation of Dictionaries, Lists, Items and Inner Lists
with parameters, over Integers, Decimals, Strings, Tokens, Byte Sequences and Booleans.
RFC 9421 signs the *re-serialised* form of ``Signature-Input`` members and of ``;sf``
fields, so parsing and serialising must round-trip exactly as the RFC says.

Must not know about HTTP signatures, keys or requests; must do no I/O. Anything the
grammar does not allow raises ``StructuredFieldError`` (a ``ValueError``), never a
partial result.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TypeAlias

__all__ = [
    "BareItem",
    "Dictionary",
    "InnerList",
    "Item",
    "Member",
    "Params",
    "StructuredFieldError",
    "Token",
    "parse_dictionary",
    "parse_item",
    "parse_list",
    "serialize_bare_item",
    "serialize_dictionary",
    "serialize_inner_list",
    "serialize_item",
    "serialize_list",
    "serialize_member",
    "serialize_params",
]


class StructuredFieldError(ValueError):
    """The text is not a valid structured field of the expected type."""


class Token(str):
    """An RFC 8941 Token, kept apart from String so it serialises without quotes."""

    __slots__ = ()


BareItem: TypeAlias = bool | int | Decimal | str | Token | bytes
Params: TypeAlias = dict[str, BareItem]


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


Member: TypeAlias = Item | InnerList
Dictionary: TypeAlias = dict[str, Member]

_TOKEN_START = set(string.ascii_letters + "*")
_BASE64_CHARS = set(string.ascii_letters + string.digits + "+/=")
_MAX_INTEGER = 999_999_999_999_999
_TOKEN_RE = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_KEY_RE = re.compile(r"[a-z*][a-z0-9_\-.*]*")


class _Parser:
    """A cursor over one field value; each method consumes what it parses."""

    def __init__(self, text: str) -> None:
        if not text.isascii():
            raise StructuredFieldError("structured fields are ASCII only")
        self.text = text.strip(" ")
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def fail(self, what: str) -> StructuredFieldError:
        return StructuredFieldError(f"{what} at offset {self.pos} in {self.text!r}")

    # Top-level types (RFC 8941 section 4.2).

    def dictionary(self) -> Dictionary:
        result: Dictionary = {}
        while not self.at_end():
            key = self.key()
            if self.peek() == "=":
                self.pos += 1
                result[key] = self.member()
            else:
                result[key] = Item(True, self.params())
            if not self._next_member():
                break
        return result

    def list(self) -> list[Member]:
        result: list[Member] = []
        while not self.at_end():
            result.append(self.member())
            if not self._next_member():
                break
        return result

    def _next_member(self) -> bool:
        self.skip_ows()
        if self.at_end():
            return False
        if self.take() != ",":
            raise self.fail("expected ','")
        self.skip_ows()
        if self.at_end():
            raise self.fail("trailing ','")
        return True

    def member(self) -> Member:
        if self.peek() == "(":
            return self.inner_list()
        return self.item()

    def inner_list(self) -> InnerList:
        self.pos += 1  # "("
        items: list[Item] = []
        while not self.at_end():
            self.skip_sp()
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(self.item())
            if self.peek() not in (" ", ")"):
                raise self.fail("expected ' ' or ')' in inner list")
        raise self.fail("unterminated inner list")

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.params())

    def params(self) -> Params:
        result: Params = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip_sp()
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            result[key] = value
        return result

    def key(self) -> str:
        match = _KEY_RE.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a key")
        self.pos = match.end()
        return match.group()

    def bare_item(self) -> BareItem:
        char = self.peek()
        if char == "-" or char.isdigit():
            return self.number()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            return self.boolean()
        if char in _TOKEN_START:
            return self.token()
        raise self.fail("expected a bare item")

    def number(self) -> int | Decimal:
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        digits_start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        integer_part = self.text[digits_start : self.pos]
        if not integer_part:
            raise self.fail("expected a digit")
        if self.peek() != ".":
            if len(integer_part) > 15:
                raise self.fail("integer too long")
            return int(self.text[start : self.pos])
        if len(integer_part) > 12:
            raise self.fail("decimal integer part too long")
        self.pos += 1
        fraction_start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        fraction = self.text[fraction_start : self.pos]
        if not 1 <= len(fraction) <= 3:
            raise self.fail("decimal needs one to three fractional digits")
        return Decimal(self.text[start : self.pos])

    def string(self) -> str:
        self.pos += 1  # opening quote
        chars: list[str] = []
        while not self.at_end():
            char = self.take()
            if char == "\\":
                escaped = self.take()
                if escaped not in ('"', "\\"):
                    raise self.fail("bad escape in string")
                chars.append(escaped)
            elif char == '"':
                return "".join(chars)
            elif not " " <= char <= "~":
                raise self.fail("non-printable character in string")
            else:
                chars.append(char)
        raise self.fail("unterminated string")

    def token(self) -> Token:
        match = _TOKEN_RE.match(self.text, self.pos)
        assert match is not None  # the first character was checked by bare_item
        self.pos = match.end()
        return Token(match.group())

    def byte_sequence(self) -> bytes:
        self.pos += 1  # opening colon
        end = self.text.find(":", self.pos)
        if end < 0:
            raise self.fail("unterminated byte sequence")
        encoded = self.text[self.pos : end]
        if not set(encoded) <= _BASE64_CHARS:
            raise self.fail("invalid base64 in byte sequence")
        self.pos = end + 1
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error as exc:
            raise self.fail("invalid base64 in byte sequence") from exc

    def boolean(self) -> bool:
        self.pos += 1  # "?"
        char = self.take()
        if char == "1":
            return True
        if char == "0":
            return False
        raise self.fail("expected ?0 or ?1")

    def finish(self) -> None:
        if not self.at_end():
            raise self.fail("unexpected trailing characters")


def parse_dictionary(text: str) -> Dictionary:
    """Parse a Dictionary field value (e.g. ``Signature-Input``, ``Content-Digest``)."""
    parser = _Parser(text)
    result = parser.dictionary()
    parser.finish()
    return result


def parse_list(text: str) -> list[Member]:
    """Parse a List field value."""
    parser = _Parser(text)
    result = parser.list()
    parser.finish()
    return result


def parse_item(text: str) -> Item:
    """Parse an Item field value (a bare item with parameters)."""
    parser = _Parser(text)
    if parser.at_end():
        raise parser.fail("empty item")
    result = parser.item()
    parser.finish()
    return result


def serialize_bare_item(value: BareItem) -> str:
    """Serialise one bare item canonically (RFC 8941 section 4.1.3)."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise StructuredFieldError(f"integer out of range: {value}")
        return str(value)
    if isinstance(value, Decimal):
        rounded = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
        if abs(rounded) >= Decimal(10**12):
            raise StructuredFieldError(f"decimal out of range: {value}")
        text = f"{rounded:f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, Token):
        if not _TOKEN_RE.fullmatch(value):
            raise StructuredFieldError(f"invalid token: {value!r}")
        return str(value)
    if isinstance(value, str):
        if not all(" " <= char <= "~" for char in value):
            raise StructuredFieldError(f"string is not printable ASCII: {value!r}")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    raise StructuredFieldError(f"not a bare item: {value!r}")


def _serialize_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise StructuredFieldError(f"invalid key: {key!r}")
    return key


def serialize_params(params: Params) -> str:
    parts = []
    for key, value in params.items():
        if value is True:
            parts.append(";" + _serialize_key(key))
        else:
            parts.append(f";{_serialize_key(key)}={serialize_bare_item(value)}")
    return "".join(parts)


def serialize_item(item: Item) -> str:
    return serialize_bare_item(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    return (
        "("
        + " ".join(serialize_item(i) for i in inner.items)
        + ")"
        + serialize_params(inner.params)
    )


def serialize_member(member: Member) -> str:
    if isinstance(member, InnerList):
        return serialize_inner_list(member)
    return serialize_item(member)


def serialize_list(members: list[Member]) -> str:
    return ", ".join(serialize_member(m) for m in members)


def serialize_dictionary(dictionary: Dictionary) -> str:
    parts = []
    for key, member in dictionary.items():
        if isinstance(member, Item) and member.value is True:
            parts.append(_serialize_key(key) + serialize_params(member.params))
        else:
            parts.append(f"{_serialize_key(key)}={serialize_member(member)}")
    return ", ".join(parts)
