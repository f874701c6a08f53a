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
from workflows.escalation import Action, Clock, EscalationPolicy, Step
from workflows.lifecycle import LifecyclePolicy, TierReviewPolicy
from workflows.surveys import Kind, Question, SurveyPolicy

DEFAULT_RELATIONSHIP_POLICY = Path(__file__).with_name("default_relationship.yaml")


class RelationshipPolicyError(ValueError):
    """A policy that cannot be used; str() is `file:line: field: what is wrong`."""


@dataclass(frozen=True, slots=True)
class RelationshipPolicy:
    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    tier_review: TierReviewPolicy = field(default_factory=TierReviewPolicy)
    complaints: ComplaintPolicy = field(default_factory=ComplaintPolicy)
    surveys: SurveyPolicy = field(default_factory=SurveyPolicy)
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)


def load_relationship_policy(path: Path | str = DEFAULT_RELATIONSHIP_POLICY) -> RelationshipPolicy:
    path = Path(path)
    return parse_relationship_policy(read_file(path, RelationshipPolicyError), str(path))


def parse_relationship_policy(text: str, source: str = "<policy>") -> RelationshipPolicy:
    error = RelationshipPolicyError
    return _Reader(source, error).policy(compose(text, source, error))


_NULL = ("", "null", "~")


class _Reader(YamlReader[RelationshipPolicyError]):
    def policy(self, root: Node) -> RelationshipPolicy:
        sections = {"lifecycle", "tier_review", "complaints", "surveys", "escalation"}
        top = self.mapping(root, "policy", sections)
        found = RelationshipPolicy()
        lifecycle = self.lifecycle(top["lifecycle"]) if "lifecycle" in top else found.lifecycle
        review = self.tier_review(top["tier_review"]) if "tier_review" in top else found.tier_review
        complaints = self.complaints(top["complaints"]) if "complaints" in top else found.complaints
        surveys = self.surveys(top["surveys"]) if "surveys" in top else found.surveys
        escalation = self.escalation(top["escalation"]) if "escalation" in top else found.escalation
        return RelationshipPolicy(
            lifecycle=lifecycle,
            tier_review=review,
            complaints=complaints,
            surveys=surveys,
            escalation=escalation,
        )

    def escalation(self, node: Node) -> EscalationPolicy:
        path = "escalation"
        fields = self.mapping(node, path, {"steps", "notify_mail"})
        mail: tuple[str, ...] = ()
        if "notify_mail" in fields:
            where = f"{path}.notify_mail"
            mail = tuple(
                self.address_text(text, fields["notify_mail"], where)
                for text in self.strings(fields["notify_mail"], where)
            )
        steps: list[Step] = []
        for n, item in enumerate(
            self.sequence(fields["steps"], f"{path}.steps") if "steps" in fields else []
        ):
            steps.append(self.step(item, f"{path}.steps[{n}]", {s.name for s in steps}))
        return EscalationPolicy(steps=tuple(steps), notify_mail=mail)

    def step(self, node: Node, where: str, names: set[str]) -> Step:
        known = {"name", "at", "tiers", "channels", "do", "points", "group", "clock"}
        fields = self.mapping(node, where, known)
        self.require(fields, node, where, "name", "at", "do")
        name = self.scalar(fields["name"], f"{where}.name")
        if name in names:
            raise self.fail(fields["name"], f"{where}.name", f"a second step named {name!r}")
        at = self.scalar(fields["at"], f"{where}.at").strip()
        try:
            share = float(at.removesuffix("%")) / 100
        except ValueError:
            share = -1.0
        if not at.endswith("%") or not 0 < share <= 10:
            raise self.fail(
                fields["at"], f"{where}.at", f"a share of the target, as in 80%; not {at!r}"
            )
        try:
            action = Action(self.scalar(fields["do"], f"{where}.do"))
        except ValueError:
            known_actions = ", ".join(a.value for a in Action)
            raise self.fail(fields["do"], f"{where}.do", f"one of {known_actions}") from None
        tiers = channels = None
        if "tiers" in fields:
            tiers = frozenset(self.strings(fields["tiers"], f"{where}.tiers"))
            wrong = sorted(tiers - {"key_account", "relationship", "transactional"})
            if wrong:
                raise self.fail(fields["tiers"], f"{where}.tiers", f"unknown tier {wrong[0]!r}")
        if "channels" in fields:
            channels = frozenset(self.strings(fields["channels"], f"{where}.channels"))
            wrong = sorted(channels - {"voice", "chat", "email", "fax"})
            if wrong:
                raise self.fail(
                    fields["channels"], f"{where}.channels", f"unknown channel {wrong[0]!r}"
                )
        points = 0.0
        if action is Action.RAISE_PRIORITY:
            if "points" not in fields:
                raise self.fail(node, where, "raise_priority needs points")
            points = self.number(fields["points"], f"{where}.points", 1, 100000)
        group = None
        if action in (Action.REASSIGN, Action.OVERFLOW):
            if "group" not in fields:
                raise self.fail(node, where, f"{action} needs the group")
            group = self.scalar(fields["group"], f"{where}.group")
        clock = Clock.FIRST_RESPONSE
        if "clock" in fields:
            try:
                clock = Clock(self.scalar(fields["clock"], f"{where}.clock"))
            except ValueError:
                known_clocks = ", ".join(c.value for c in Clock)
                raise self.fail(
                    fields["clock"], f"{where}.clock", f"one of {known_clocks}"
                ) from None
        return Step(name, share, action, tiers, channels, points, group, clock)

    def surveys(self, node: Node) -> SurveyPolicy:
        path = "surveys"
        known = {"send", "every_days", "link_days", "questions", "solved_question"}
        fields = self.mapping(node, path, known)
        base = SurveyPolicy()
        send = dict(base.send)
        if "send" in fields:
            tiers = {"key_account", "relationship", "transactional"}
            channels = {"voice", "chat", "email", "fax"}
            for tier, value in self.mapping(fields["send"], f"{path}.send", tiers).items():
                listed = self.strings(value, f"{path}.send.{tier}")
                wrong = sorted(set(listed) - channels)
                if wrong:
                    message = f"unknown channel {wrong[0]!r}; known: {', '.join(sorted(channels))}"
                    raise self.fail(value, f"{path}.send.{tier}", message)
                send[tier] = frozenset(listed)
        every = base.every_days
        if "every_days" in fields:
            every = self.number(fields["every_days"], f"{path}.every_days", 0, 3650)
        link = base.link_days
        if "link_days" in fields:
            link = self.number(fields["link_days"], f"{path}.link_days", 0.01, 365)
        questions = base.questions
        if "questions" in fields:
            questions = self.questions(fields["questions"], f"{path}.questions")
        solved = base.solved_question
        if "solved_question" in fields:
            solved = self.texts(fields["solved_question"], f"{path}.solved_question")
        return SurveyPolicy(
            send=send,
            every_days=every,
            link_days=link,
            questions=questions,
            solved_question=solved,
        )

    def questions(self, node: Node, path: str) -> tuple[Question, ...]:
        found: list[Question] = []
        for n, item in enumerate(self.sequence(node, path)):
            where = f"{path}[{n}]"
            fields = self.mapping(item, where, {"id", "kind", "text", "optional"})
            self.require(fields, item, where, "id", "kind", "text")
            ident = self.scalar(fields["id"], f"{where}.id")
            if not ident.isidentifier():
                raise self.fail(
                    fields["id"], f"{where}.id", "must be a word (letters, _ and digits)"
                )
            kind_text = self.scalar(fields["kind"], f"{where}.kind")
            try:
                kind = Kind(kind_text)
            except ValueError:
                known = ", ".join(k.value for k in Kind)
                raise self.fail(fields["kind"], f"{where}.kind", f"one of {known}") from None
            if any(q.kind is kind for q in found) or any(q.id == ident for q in found):
                raise self.fail(item, where, f"a second {kind} question or id {ident!r}")
            optional = False
            if "optional" in fields:
                flag = self.scalar(fields["optional"], f"{where}.optional").lower()
                if flag not in ("true", "false"):
                    raise self.fail(fields["optional"], f"{where}.optional", "true or false")
                optional = flag == "true"
            if kind is Kind.CSAT and optional:
                raise self.fail(
                    fields["optional"], f"{where}.optional", "the csat question is required"
                )
            text = self.texts(fields["text"], f"{where}.text")
            found.append(Question(ident, kind, text, optional))
        if not any(q.kind is Kind.CSAT for q in found):
            raise self.fail(node, path, "one question must be of kind csat")
        return tuple(found)

    def texts(self, node: Node, path: str) -> dict[str, str]:
        """Words per language (en, zh, …); at least one."""
        found = {
            language: self.scalar(value, f"{path}.{language}")
            for language, value in self.mapping(node, path, set()).items()
        }
        if not found:
            raise self.fail(node, path, "give the words in at least one language")
        return found

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
