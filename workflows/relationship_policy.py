"""The relationship policy: a YAML file (`default_relationship.yaml` ships), validated on load
with errors that name file, line and field. It holds the lifecycle rules, the tier review's
thresholds and how complaints are owned and followed; `CONTACTCENTER_RELATIONSHIP_POLICY` names
another file."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from yaml.nodes import Node

from routing.yaml_reader import YamlReader, compose, read_file
from workflows.complaints import ComplaintPolicy
from workflows.lifecycle import LifecyclePolicy, TierReviewPolicy

DEFAULT_RELATIONSHIP_POLICY = Path(__file__).with_name("default_relationship.yaml")


class RelationshipPolicyError(ValueError):
    """A policy that cannot be used; str() is `file:line: field: what is wrong`."""


@dataclass(frozen=True, slots=True)
class RelationshipPolicy:
    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    tier_review: TierReviewPolicy = field(default_factory=TierReviewPolicy)
    complaints: ComplaintPolicy = field(default_factory=ComplaintPolicy)


def load_relationship_policy(path: Path | str = DEFAULT_RELATIONSHIP_POLICY) -> RelationshipPolicy:
    path = Path(path)
    return parse_relationship_policy(read_file(path, RelationshipPolicyError), str(path))


def parse_relationship_policy(text: str, source: str = "<policy>") -> RelationshipPolicy:
    error = RelationshipPolicyError
    return _Reader(source, error).policy(compose(text, source, error))


_NULL = ("", "null", "~")


class _Reader(YamlReader[RelationshipPolicyError]):
    def policy(self, root: Node) -> RelationshipPolicy:
        top = self.mapping(root, "policy", {"lifecycle", "tier_review", "complaints"})
        found = RelationshipPolicy()
        lifecycle = self.lifecycle(top["lifecycle"]) if "lifecycle" in top else found.lifecycle
        review = self.tier_review(top["tier_review"]) if "tier_review" in top else found.tier_review
        complaints = self.complaints(top["complaints"]) if "complaints" in top else found.complaints
        return RelationshipPolicy(lifecycle=lifecycle, tier_review=review, complaints=complaints)

    def complaints(self, node: Node) -> ComplaintPolicy:
        path = "complaints"
        known = {
            "due_days",
            "remind_hours_before",
            "owners",
            "default_owner",
            "escalate_to",
            "acknowledgement",
        }
        fields = self.mapping(node, path, known)
        base = ComplaintPolicy()
        due = dict(base.due_days)
        if "due_days" in fields:
            tiers = {"key_account", "relationship", "transactional"}
            for tier, value in self.mapping(fields["due_days"], f"{path}.due_days", tiers).items():
                due[tier] = self.number(value, f"{path}.due_days.{tier}", 0.01, 365)
        remind = base.remind_hours_before
        if "remind_hours_before" in fields:
            remind = self.number(fields["remind_hours_before"], f"{path}.remind_hours_before", 0)
        owners: dict[str, str] = {}
        if "owners" in fields:
            for group, value in self.mapping(fields["owners"], f"{path}.owners", set()).items():
                owners[group] = self.address(value, f"{path}.owners.{group}")
        default = None
        if "default_owner" in fields and self.scalar(fields["default_owner"], path) not in _NULL:
            default = self.address(fields["default_owner"], f"{path}.default_owner")
        escalate: tuple[str, ...] = ()
        if "escalate_to" in fields:
            node_ = fields["escalate_to"]
            escalate = tuple(
                self.address_text(text, node_, f"{path}.escalate_to")
                for text in self.strings(node_, f"{path}.escalate_to")
            )
        texts: dict[str, str] = {}
        if "acknowledgement" in fields:
            where = f"{path}.acknowledgement"
            for language, value in self.mapping(fields["acknowledgement"], where, set()).items():
                texts[language] = self.scalar(value, f"{where}.{language}")
        return ComplaintPolicy(
            due_days=due,
            owners=owners,
            default_owner=default,
            remind_hours_before=remind,
            escalate_to=escalate,
            acknowledgement=texts,
        )

    def address(self, node: Node, path: str) -> str:
        return self.address_text(self.scalar(node, path), node, path)

    def address_text(self, text: str, node: Node, path: str) -> str:
        if "@" not in text or text.startswith("@") or text.endswith("@") or " " in text:
            raise self.fail(node, path, f"must be an email address, not {text!r}")
        return text.lower()

    def lifecycle(self, node: Node) -> LifecyclePolicy:
        path = "lifecycle"
        fields = self.mapping(node, path, {"currency", "loyal", "lapsed_after_days"})
        base = LifecyclePolicy()
        currency = base.currency
        if "currency" in fields:
            currency = self.scalar(fields["currency"], f"{path}.currency")
            if len(currency) != 3 or not currency.isalpha():
                message = f"must be a three-letter currency code, not {currency!r}"
                raise self.fail(fields["currency"], f"{path}.currency", message)
        orders, amount, months = base.loyal_orders, base.loyal_amount, base.loyal_months
        if "loyal" in fields:
            loyal = self.mapping(fields["loyal"], f"{path}.loyal", {"orders", "amount", "months"})
            if "orders" in loyal:
                orders = self.whole(loyal["orders"], f"{path}.loyal.orders", 1)
            if "amount" in loyal:
                amount = self.optional_money(loyal["amount"], f"{path}.loyal.amount")
            if "months" in loyal:
                months = self.whole(loyal["months"], f"{path}.loyal.months", 1, 120)
        lapsed = base.lapsed_after_days
        if "lapsed_after_days" in fields:
            lapsed = self.whole(fields["lapsed_after_days"], f"{path}.lapsed_after_days", 1)
        return LifecyclePolicy(
            loyal_orders=orders,
            loyal_amount=amount,
            loyal_months=months,
            lapsed_after_days=lapsed,
            currency=currency.upper(),
        )

    def tier_review(self, node: Node) -> TierReviewPolicy:
        path = "tier_review"
        fields = self.mapping(node, path, {"months", "key_account", "relationship"})
        base = TierReviewPolicy()
        months = base.months
        if "months" in fields:
            months = self.whole(fields["months"], f"{path}.months", 1, 120)
        key = base.key_account
        if "key_account" in fields:
            key = self.money(fields["key_account"], f"{path}.key_account")
        relationship = base.relationship
        if "relationship" in fields:
            relationship = self.money(fields["relationship"], f"{path}.relationship")
        if relationship > key:
            where = fields.get("relationship", node)
            message = f"must not be more than key_account ({key})"
            raise self.fail(where, f"{path}.relationship", message)
        return TierReviewPolicy(months=months, key_account=key, relationship=relationship)

    def whole(self, node: Node, path: str, low: int, high: int | None = None) -> int:
        value = self.number(node, path, low, high)
        if value != int(value):
            raise self.fail(node, path, f"must be a whole number, not {self.scalar(node, path)}")
        return int(value)

    def optional_money(self, node: Node, path: str) -> Decimal | None:
        """An amount, or None where the file says null (the rule counts orders only)."""
        if self.scalar(node, path) in _NULL:
            return None
        return self.money(node, path)

    def money(self, node: Node, path: str) -> Decimal:
        text = self.scalar(node, path)
        self.number(node, path, 0)
        value = Decimal(text)
        if value != value.quantize(Decimal("0.01")):
            raise self.fail(node, path, f"must have at most two decimals, not {text}")
        return value
