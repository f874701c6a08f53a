"""Fax-to-email gateways (pure): which mail is a fax, whose number sent it, where faxes go out.

Read from a YAML file (`default_fax_gateways.yaml` ships; `CONTACTCENTER_FAX_GATEWAYS` names
another) with errors naming file, line and field:

    gateways:
      - name: efax
        from_domains: [efax.com]            # mail from these domains (and their subdomains) ...
        headers: {X-Fax-Service: '^efax'}   # ... or with every one of these headers matching
        number: 'from\\s+"?(?P<number>\\+?[0-9][0-9 ().-]{5,}[0-9])'  # subject first, then body
        send_to: '{digits}@efaxsend.com'    # {digits}: E.164 without '+'; {e164}: with it
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node

from contactcenter.mail.parse import ParsedMail
from routing.yaml_reader import YamlReader, compose, read_file

DEFAULT_GATEWAYS = Path(__file__).with_name("default_gateways.yaml")


class GatewayError(ValueError):
    """A gateway list that cannot be used; str() is `file:line: field: what is wrong`."""


@dataclass(frozen=True, slots=True)
class Gateway:
    name: str
    from_domains: frozenset[str]
    headers: tuple[tuple[str, re.Pattern[str]], ...]
    number: re.Pattern[str]
    send_to: str

    def sent(self, mail: ParsedMail) -> bool:
        """Whether the mail comes from this gateway: by its sender's domain or its headers."""
        if mail.sender is not None:
            domain = mail.sender.rpartition("@")[2]
            if any(domain == d or domain.endswith("." + d) for d in self.from_domains):
                return True
        return bool(self.headers) and all(
            pattern.search(mail.header(name)) for name, pattern in self.headers
        )

    def number_in(self, mail: ParsedMail) -> str | None:
        """The sender's fax number as the gateway writes it, from the subject or else the body."""
        for text in (mail.subject, mail.text):
            found = self.number.search(text)
            if found:
                return found.group("number").strip()
        return None

    def address_for(self, e164: str) -> str:
        """The gateway's email-to-fax address for a number."""
        return self.send_to.format(e164=e164, digits=e164.lstrip("+"))


@dataclass(frozen=True, slots=True)
class Gateways:
    gateways: tuple[Gateway, ...]

    def of(self, mail: ParsedMail) -> Gateway | None:
        return next((g for g in self.gateways if g.sent(mail)), None)

    def named(self, name: str) -> Gateway | None:
        return next((g for g in self.gateways if g.name == name), None)


def load_gateways(path: Path | str = DEFAULT_GATEWAYS) -> Gateways:
    path = Path(path)
    return parse_gateways(read_file(path, GatewayError), str(path))


def parse_gateways(text: str, source: str = "<fax gateways>") -> Gateways:
    return _Reader(source, GatewayError).gateways(compose(text, source, GatewayError))


class _Reader(YamlReader[GatewayError]):
    def gateways(self, root: Node) -> Gateways:
        top = self.mapping(root, "gateways file", {"gateways"})
        self.require(top, root, "gateways file", "gateways")
        found = [
            self.gateway(n, f"gateways[{i}]")
            for i, n in enumerate(self.sequence(top["gateways"], "gateways"))
        ]
        names = [g.name for g in found]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise self.fail(top["gateways"], "gateways", f"{name!r} is named twice")
        return Gateways(tuple(found))

    def gateway(self, node: Node, path: str) -> Gateway:
        fields = self.mapping(node, path, {"name", "from_domains", "headers", "number", "send_to"})
        self.require(fields, node, path, "name", "number", "send_to")
        if "from_domains" not in fields and "headers" not in fields:
            raise self.fail(node, path, "from_domains or headers is required")
        domains = frozenset(
            d.lower().lstrip("@")
            for d in (
                self.strings(fields["from_domains"], f"{path}.from_domains")
                if "from_domains" in fields
                else []
            )
        )
        headers = tuple(
            (name, self.pattern(value, f"{path}.headers.{name}"))
            for name, value in (
                self.mapping(fields["headers"], f"{path}.headers", set()).items()
                if "headers" in fields
                else []
            )
        )
        number = self.pattern(fields["number"], f"{path}.number")
        if "number" not in number.groupindex:
            raise self.fail(fields["number"], f"{path}.number", "needs a group (?P<number>...)")
        send_to = self.scalar(fields["send_to"], f"{path}.send_to")
        try:
            example = send_to.format(e164="+15550100", digits="15550100")
        except (KeyError, IndexError, ValueError):
            raise self.fail(
                fields["send_to"], f"{path}.send_to", "may use only {digits} and {e164}"
            ) from None
        if example == send_to or "@" not in example:
            raise self.fail(
                fields["send_to"],
                f"{path}.send_to",
                "must be an address with {digits} or {e164} in it",
            )
        return Gateway(
            self.scalar(fields["name"], f"{path}.name"), domains, headers, number, send_to
        )

    def pattern(self, node: Node, path: str) -> re.Pattern[str]:
        text = self.scalar(node, path)
        try:
            return re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise self.fail(node, path, f"not a regular expression: {exc}") from None
