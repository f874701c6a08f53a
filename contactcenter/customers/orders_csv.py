"""Orders from a CSV file (`contactcenter orders import FILE`), as the order system exports them.

Columns (a header row is required; any order): `customer_id`, or an identity of the customer
(`email` or `phone`; a contact not known yet becomes a new customer, as on every channel), then
`amount` (required), `external_ref`, `ordered_at` (ISO 8601 with its time zone), `currency`, and
`products` (several separated by ";"). Each row goes through the same path as the API, so stages
move the same way; a row whose `external_ref` was imported before is counted, not stored twice.
A bad row is reported with its line number and the field, and skipped; the others are imported.
Meant for a day's orders or a backfill of thousands (each row is its own transaction).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from contactcenter.customers.orders import OrderIn, OrderRecords
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Invalid, ServiceError
from contactcenter.model import IdentityKind

COLUMNS = {"customer_id", "email", "phone", "amount", "external_ref", "ordered_at", "currency"}
COLUMNS |= {"products"}


class OrderCsvError(ValueError):
    """The file as a whole cannot be read (no header, an unknown column, no way to find the
    customer)."""


@dataclass
class OrderImport:
    stored: int = 0
    again: int = 0  # rows whose external_ref was stored before
    moved: int = 0  # rows that moved a customer's lifecycle stage
    errors: list[tuple[int, str]] = field(default_factory=list)


class OrderCsv:
    def __init__(self, *, orders: OrderRecords, customers: CustomerRecords) -> None:
        self.orders = orders
        self.customers = customers

    async def import_rows(self, lines: Iterable[str]) -> OrderImport:
        reader = csv.DictReader(lines)
        header = [name.strip() for name in reader.fieldnames or []]
        if not header:
            raise OrderCsvError("the file has no header row")
        unknown = sorted(set(header) - COLUMNS)
        if unknown:
            raise OrderCsvError(
                f"unknown column {unknown[0]!r}; known: {', '.join(sorted(COLUMNS))}"
            )
        if not {"customer_id", "email", "phone"} & set(header):
            raise OrderCsvError("a customer_id, email or phone column is needed")
        if "amount" not in header:
            raise OrderCsvError("the amount column is needed")
        reader.fieldnames = header
        report = OrderImport()
        for row in reader:
            line = reader.line_num
            try:
                customer_id = await self._customer(row)
                recorded = await self.orders.record(customer_id, _order(row))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "row"
                report.errors.append((line, f"{where}: {first['msg']}"))
                continue
            except ServiceError as exc:
                report.errors.append((line, f"{exc.field or 'row'}: {exc.message}"))
                continue
            if not recorded.created:
                report.again += 1
                continue
            report.stored += 1
            report.moved += recorded.change is not None
        return report

    async def _customer(self, row: dict[str, Any]) -> int:
        if value := (row.get("customer_id") or "").strip():
            if not value.isdigit():
                raise Invalid(f"must be a whole number, not {value!r}", "customer_id")
            return (await self.customers.get(int(value), identities=False)).id
        for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
            if value := (row.get(kind.value) or "").strip():
                return (await self.customers.resolve(kind, value)).customer.id
        raise Invalid("the row names no customer (customer_id, email or phone)", "customer_id")


def _order(row: dict[str, Any]) -> OrderIn:
    data: dict[str, Any] = {"amount": (row.get("amount") or "").strip()}
    for name in ("external_ref", "ordered_at", "currency"):
        if value := (row.get(name) or "").strip():
            data[name] = value
    if products := (row.get("products") or "").strip():
        data["products"] = [p.strip() for p in products.split(";") if p.strip()]
    return OrderIn.model_validate(data)
