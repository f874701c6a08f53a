"""Reading one CSV row of a customer (pure, no I/O): its fields and its normalised identities.

Kept apart from the import so that worker processes can run it on chunks of a large file.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import ValidationError

from contactcenter.customers.identities import Identity, InvalidIdentity, normalize
from contactcenter.customers.records import CustomerFields
from contactcenter.model import IdentityKind

FIELD_COLUMNS = [
    "name",
    "organisation",
    "tier",
    "segment",
    "lifecycle_stage",
    "language",
    "tags",
    "account_manager",
    "verified",
]
IDENTITY_COLUMNS = [kind.value for kind in IdentityKind]
COLUMNS = ["id", *FIELD_COLUMNS, *IDENTITY_COLUMNS]
_KINDS = {kind.value: kind for kind in IdentityKind}
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}


# NamedTuples rather than dataclasses: they cross from worker processes by pickle, where a
# slotted dataclass costs more than parsing the row did.
class ParsedRow(NamedTuple):
    line: int
    customer_id: int | None
    fields: dict[str, Any]
    identities: list[Identity]


class RowError(NamedTuple):
    line: int
    message: str


def split_values(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def parse_chunk(
    header: list[str],
    chunk: list[tuple[int, list[str]]],
    region: str,
    managers: dict[str, int],
) -> list[ParsedRow | RowError]:
    """Each (line number, values) read, in order; a bad one becomes a RowError naming why."""
    parsed: list[ParsedRow | RowError] = []
    width = len(header)
    for line, values in chunk:
        try:
            if len(values) > width:
                raise ValueError(f"{len(values)} values but {width} columns")
            parsed.append(
                parse_row(line, dict(zip(header, values, strict=False)), region, managers)
            )
        except ValueError as exc:
            parsed.append(RowError(line, str(exc)))
    return parsed


def parse_row(
    line: int, record: dict[str, str], region: str, managers: dict[str, int]
) -> ParsedRow:
    """One row's customer fields (only those given) and identities; ValueError if bad."""
    values: dict[str, Any] = {}
    idents: list[Identity] = []
    customer_id: int | None = None
    for name, cell in record.items():
        raw = cell.strip()
        if not raw:
            continue
        if name in _KINDS:
            for part in split_values(raw):
                try:
                    idents.append(normalize(_KINDS[name], part, region))
                except InvalidIdentity as exc:
                    raise ValueError(str(exc)) from None
        elif name == "tags":
            values["tags"] = split_values(raw)
        elif name == "verified":
            if raw.lower() not in _TRUE | _FALSE:
                raise ValueError(f"verified must be true or false, not {raw!r}")
            values["verified"] = raw.lower() in _TRUE
        elif name == "account_manager":
            if raw.lower() not in managers:
                raise ValueError(f"account_manager {raw!r} is no agent's email")
            values["account_manager_id"] = managers[raw.lower()]
        elif name == "id":
            if not raw.isdigit():
                raise ValueError(f"id must be a customer number, not {raw!r}")
            customer_id = int(raw)
        else:
            values[name] = raw
    try:
        valid = CustomerFields.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ValueError(f"{where}: {error['msg']}") from None
    fields = {name: getattr(getattr(valid, name), "value", getattr(valid, name)) for name in values}
    return ParsedRow(line, customer_id, fields, list(dict.fromkeys(idents)))
