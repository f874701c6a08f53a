"""Normalising identities (pure): one written form per phone number, fax number and address.

"+1 (800) 555-0100", "1-800-555-0100" and "18005550100" all become "+18005550100", so that one
index lookup finds the customer whichever way a channel wrote the number.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers

from contactcenter.model import IdentityKind

# Deliberately plain: one "@", a dot in the domain, no spaces or control characters. Deliverability
# is decided by mail servers, not by a regular expression.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s<>()\[\],;:\"]+@{_LABEL}(?:\.{_LABEL})+$")
_TOKEN = re.compile(r"^[\x21-\x7e]{1,200}$")
_MAX_EMAIL = 254
_LAYOUT = str.maketrans("", "", " ()-.\u00a0")
_PLAIN_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")


class InvalidIdentity(ValueError):
    """An identity value that cannot be normalised; the message says why."""

    def __init__(self, kind: IdentityKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Identity(NamedTuple):
    """A normalised identity: the key of the unique index on (kind, value)."""

    kind: IdentityKind
    value: str


def normalize_phone(raw: str, default_region: str, kind: IdentityKind = IdentityKind.PHONE) -> str:
    """E.164 form of a phone or fax number; a number without "+" is read in `default_region`."""
    text = raw.strip()
    if not text:
        raise InvalidIdentity(kind, f"{kind} number is empty")
    if len(text) > 40:
        raise InvalidIdentity(kind, f"{kind} number is too long")
    region = default_region.upper()
    # Spaces, brackets, dashes and dots are only layout; without them phonenumbers reads a plain
    # number faster. Anything else (letters, an extension) goes to it as written.
    compact = text.translate(_LAYOUT)
    if _PLAIN_NUMBER.match(compact):
        text = compact
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(kind, f"{kind} number {text!r} cannot be read: {exc._msg}") from exc
    # Most numbers belong to the default region: checking that region first is one pass over
    # its metadata, where is_valid_number first searches every region sharing the country code.
    home = number.country_code == phonenumbers.country_code_for_region(region)
    if not (
        (home and phonenumbers.is_valid_number_for_region(number, region))
        or phonenumbers.is_valid_number(number)
    ):
        raise InvalidIdentity(kind, f"{kind} number {text!r} is not a valid number")
    # E.164 is "+", the country code and the national significant number; written directly,
    # as format_number costs more than this on the hot path of an import.
    return f"+{number.country_code}{phonenumbers.national_significant_number(number)}"


def normalize_email(raw: str) -> str:
    """Lower-cased address; refuses anything that is not one plain address."""
    text = raw.strip().lower()
    if not text:
        raise InvalidIdentity(IdentityKind.EMAIL, "email address is empty")
    if len(text) > _MAX_EMAIL or not _EMAIL.match(text):
        raise InvalidIdentity(IdentityKind.EMAIL, f"{raw.strip()!r} is not a valid email address")
    return text


def normalize_token(raw: str, kind: IdentityKind) -> str:
    """Chat visitor ids and CRM ids are opaque: printable ASCII without spaces, as given."""
    text = raw.strip()
    if not _TOKEN.match(text):
        raise InvalidIdentity(
            kind, f"{kind} must be 1-200 printable characters without spaces, got {raw!r}"
        )
    return text


def normalize(kind: IdentityKind | str, raw: str, default_region: str = "US") -> Identity:
    """The normalised identity for `raw`, or InvalidIdentity naming what is wrong."""
    try:
        kind = IdentityKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in IdentityKind)
        raise InvalidIdentity(
            IdentityKind.EXTERNAL_CRM, f"unknown identity kind {kind!r}; one of {kinds}"
        ) from None
    if not isinstance(raw, str):
        raise InvalidIdentity(kind, f"{kind} must be a string")
    if kind in (IdentityKind.PHONE, IdentityKind.FAX):
        return Identity(kind, normalize_phone(raw, default_region, kind))
    if kind is IdentityKind.EMAIL:
        return Identity(kind, normalize_email(raw))
    return Identity(kind, normalize_token(raw, kind))


def candidates(text: str, default_region: str = "US") -> list[Identity]:
    """Every identity that a free-text search term could be, for search across all kinds."""
    found: list[Identity] = []
    for kind in IdentityKind:
        try:
            found.append(normalize(kind, text, default_region))
        except InvalidIdentity:
            continue
    return found
