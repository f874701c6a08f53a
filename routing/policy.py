"""The routing policy: a YAML file, validated on load with errors naming file, line and field.

    aging: {points_per_minute: 1}
    offers: {timeout_seconds: {voice: 20, chat: 30, email: 120, fax: 120}, missed_before_away: 2,
             previous_agent_seconds: 300}
    wrap_up_seconds: {voice: 30, chat: 10, email: 0, fax: 0}
    groups: [key-accounts, senior, general]
    tiers:
      key_account: {priority: 100, sla: {voice: {percent: 90, seconds: 20}, email: {seconds: 3600}}}
    rules:
      - name: key accounts
        match: {tier: key_account}
        targets:
          - {agent: account_manager, timeout: 30}
          - {group: key-accounts, min_level: 2, skills: [enterprise], timeout: 60}
          - {group: senior}

A rule matches when every key of `match` holds one of the listed values (`tier`, `segment`,
`lifecycle_stage`, `channel`, `language`, `topic` or any other interaction attribute); the first
matching rule routes the interaction. The last rule must match everything (no `match`), so
nothing goes unrouted. Work that names a `previous_agent` (an email follow-up on a recently
closed thread) waits `offers.previous_agent_seconds` for that agent alone before its rule's
targets (0: never).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from routing.hours import OpeningHours, read_hours
from routing.types import CHANNELS, LIVE_CHANNELS, Target, WorkItem
from routing.yaml_reader import YamlReader, compose, read_file


class PolicyError(ValueError):
    """A policy that cannot be used; str() is `file:line: field: what is wrong`."""


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """Live channels: `percent` answered within `seconds`; email and fax: first response
    within `seconds`, and optionally the next response (after the customer writes again)
    within `next_response` and resolution within `resolution`, in business time."""

    seconds: float
    percent: float | None = None
    next_response: float | None = None
    resolution: float | None = None


@dataclass(frozen=True, slots=True)
class TierPolicy:
    priority: float
    sla: dict[str, SlaTarget]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: dict[str, frozenset[str]]
    targets: tuple[Target, ...]

    def matches(self, item: WorkItem) -> bool:
        for key, allowed in self.match.items():
            if key == "tier":
                value: Any = item.tier
            elif key == "channel":
                value = item.channel
            else:
                value = item.attributes.get(key)
            if value is None or str(value) not in allowed:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Policy:
    groups: frozenset[str]
    tiers: dict[str, TierPolicy]
    rules: tuple[Rule, ...]
    aging_per_second: float
    offer_timeout: dict[str, float]
    missed_before_away: int
    wrap_up: dict[str, float]
    # The attributes rules match on besides tier and channel: all that a rule choice depends on.
    match_keys: tuple[str, ...] = ()
    hours: dict[str, OpeningHours] = field(default_factory=dict)  # groups that close
    # How long a follow-up (work naming a `previous_agent`) waits for that agent alone.
    previous_agent_seconds: float = 0.0
    _chosen: dict[tuple[Any, ...], Rule] = field(default_factory=dict, compare=False, repr=False)

    def rule_for(self, item: WorkItem) -> Rule:
        """The first rule that matches, remembered by the values that rules look at."""
        keys = self.match_keys
        if len(keys) == 1:  # the usual case, built without unpacking
            key: tuple[Any, ...] = (item.tier, item.channel, item.attributes.get(keys[0]))
        else:
            key = (item.tier, item.channel, *map(item.attributes.get, keys))
        rule = self._chosen.get(key)
        if rule is None:
            rule = next(r for r in self.rules if r.matches(item))
            if len(self._chosen) < _RULE_CACHE:
                self._chosen[key] = rule
        return rule

    def open_for(self, rule: Rule, at: datetime) -> bool:
        """Whether any group the rule routes to is open at `at` (a group without hours always
        is; a rule of named agents only is too)."""
        groups = [t.group for t in rule.targets if t.group is not None]
        if not groups:
            return True
        return any(g not in self.hours or self.hours[g].open_at(at) for g in groups)

    def business_hours(self, item: WorkItem) -> OpeningHours | None:
        """The hours the first-response clock of an email or fax runs in: those of the first
        group its rule routes to; None (around the clock, never paused) for live channels,
        rules of named agents, and a first group without hours (a 24/7 team)."""
        if item.channel in LIVE_CHANNELS:
            return None
        first = next((t.group for t in self.rule_for(item).targets if t.group), None)
        return self.hours.get(first) if first is not None else None

    def priority(self, tier: str) -> float:
        found = self.tiers.get(tier)
        return found.priority if found else 0.0

    def sla(self, tier: str, channel: str) -> SlaTarget | None:
        found = self.tiers.get(tier)
        return found.sla.get(channel) if found else None


DEFAULT_POLICY = Path(__file__).with_name("default_policy.yaml")
_RULE_CACHE = 65536


def load_policy(path: Path | str = DEFAULT_POLICY) -> Policy:
    path = Path(path)
    return parse_policy(read_file(path, PolicyError), str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    return _Reader(source, PolicyError).policy(compose(text, source, PolicyError))


class _Reader(YamlReader[PolicyError]):
    """The policy's sections, read node by node so that every error names its line."""

    def per_channel(self, node: Node, path: str, high: float | None = None) -> dict[str, float]:
        fields = self.mapping(node, path, set(CHANNELS))
        return {ch: self.number(v, f"{path}.{ch}", 0, high) for ch, v in fields.items()}

    # -- the sections --------------------------------------------------------------------------

    def policy(self, root: Node) -> Policy:
        top = self.mapping(
            root,
            "policy",
            {"aging", "offers", "wrap_up_seconds", "groups", "tiers", "rules", "hours"},
        )
        for required in ("groups", "tiers", "rules"):
            if required not in top:
                raise self.fail(root, "policy", f"{required} is required")
        groups = self.strings(top["groups"], "groups")
        if len(set(groups)) != len(groups):
            raise self.fail(top["groups"], "groups", "a group is listed twice")
        aging = 1.0 / 60
        if "aging" in top:
            fields = self.mapping(top["aging"], "aging", {"points_per_minute"})
            if "points_per_minute" in fields:
                aging = self.number(fields["points_per_minute"], "aging.points_per_minute") / 60
        offer_timeout = {"voice": 20.0, "chat": 30.0, "email": 120.0, "fax": 120.0}
        missed, previous = 2, 0.0
        if "offers" in top:
            fields = self.mapping(
                top["offers"],
                "offers",
                {"timeout_seconds", "missed_before_away", "previous_agent_seconds"},
            )
            if "timeout_seconds" in fields:
                given = self.per_channel(fields["timeout_seconds"], "offers.timeout_seconds")
                if any(v <= 0 for v in given.values()):
                    raise self.fail(
                        fields["timeout_seconds"],
                        "offers.timeout_seconds",
                        "every timeout must be more than 0",
                    )
                offer_timeout |= given
            if "missed_before_away" in fields:
                missed = int(
                    self.number(fields["missed_before_away"], "offers.missed_before_away", 1, 100)
                )
            if "previous_agent_seconds" in fields:
                previous = self.number(
                    fields["previous_agent_seconds"], "offers.previous_agent_seconds", 0, 86400
                )
        wrap_up = {"voice": 0.0, "chat": 0.0, "email": 0.0, "fax": 0.0}
        if "wrap_up_seconds" in top:
            wrap_up |= self.per_channel(top["wrap_up_seconds"], "wrap_up_seconds", 3600)
        tiers = self.tiers(top["tiers"])
        rules = self.rules(top["rules"], set(groups))
        keys = sorted({key for rule in rules for key in rule.match} - {"tier", "channel"})
        hours = read_hours(self, top["hours"], set(groups)) if "hours" in top else {}
        return Policy(
            frozenset(groups),
            tiers,
            rules,
            aging,
            offer_timeout,
            missed,
            wrap_up,
            tuple(keys),
            hours,
            previous,
        )

    def tiers(self, node: Node) -> dict[str, TierPolicy]:
        tiers: dict[str, TierPolicy] = {}
        for name, value in self.mapping(node, "tiers", set()).items():
            path = f"tiers.{name}"
            fields = self.mapping(value, path, {"priority", "sla"})
            if "priority" not in fields:
                raise self.fail(value, path, "priority is required")
            priority = self.number(fields["priority"], f"{path}.priority", -1e6, 1e6)
            sla: dict[str, SlaTarget] = {}
            if "sla" in fields:
                for channel, target in self.mapping(
                    fields["sla"], f"{path}.sla", set(CHANNELS)
                ).items():
                    spath = f"{path}.sla.{channel}"
                    allowed = (
                        {"percent", "seconds"}
                        if channel in LIVE_CHANNELS
                        else {"seconds", "next_response", "resolution"}
                    )
                    parts = self.mapping(target, spath, allowed)
                    if "seconds" not in parts:
                        raise self.fail(target, spath, "seconds is required")
                    seconds = self.number(parts["seconds"], f"{spath}.seconds", 1)
                    percent = None
                    if channel in LIVE_CHANNELS:
                        if "percent" not in parts:
                            raise self.fail(target, spath, "percent is required for live channels")
                        percent = self.number(parts["percent"], f"{spath}.percent", 1, 100)
                    later = {
                        name: self.number(parts[name], f"{spath}.{name}", 1)
                        for name in ("next_response", "resolution")
                        if name in parts
                    }
                    sla[channel] = SlaTarget(seconds, percent, **later)
            tiers[name] = TierPolicy(priority, sla)
        if not tiers:
            raise self.fail(node, "tiers", "at least one tier is required")
        return tiers

    def rules(self, node: Node, groups: set[str]) -> tuple[Rule, ...]:
        items = self.sequence(node, "rules")
        if not items:
            raise self.fail(node, "rules", "at least one rule is required")
        rules = []
        for n, rule_node in enumerate(items):
            path = f"rules[{n}]"
            fields = self.mapping(rule_node, path, {"name", "match", "targets"})
            name = self.scalar(fields["name"], f"{path}.name") if "name" in fields else path
            match: dict[str, frozenset[str]] = {}
            if "match" in fields:
                for key, value in self.mapping(fields["match"], f"{path}.match", set()).items():
                    match[key] = frozenset(self.strings(value, f"{path}.match.{key}"))
            if "targets" not in fields:
                raise self.fail(rule_node, path, "targets is required")
            targets = self.targets(fields["targets"], f"{path}.targets", groups)
            rules.append(Rule(name, match, targets))
        if rules[-1].match:
            raise self.fail(
                items[-1],
                f"rules[{len(items) - 1}]",
                "the last rule must have no match, so that every interaction is routed somewhere",
            )
        return tuple(rules)

    def targets(self, node: Node, path: str, groups: set[str]) -> tuple[Target, ...]:
        items = self.sequence(node, path)
        if not items:
            raise self.fail(node, path, "at least one target is required")
        targets = []
        for n, target_node in enumerate(items):
            tpath = f"{path}[{n}]"
            fields = self.mapping(
                target_node, tpath, {"agent", "group", "min_level", "skills", "timeout"}
            )
            if ("agent" in fields) == ("group" in fields):
                raise self.fail(target_node, tpath, "give either agent or group")
            timeout = None
            if "timeout" in fields:
                timeout = self.number(fields["timeout"], f"{tpath}.timeout", 1)
            elif n < len(items) - 1:
                raise self.fail(
                    target_node, tpath, "timeout is required on every target but the last"
                )
            if "agent" in fields:
                if "min_level" in fields or "skills" in fields:
                    raise self.fail(target_node, tpath, "min_level and skills are for groups")
                agent = self.scalar(fields["agent"], f"{tpath}.agent")
                targets.append(Target(agent=agent, timeout=timeout))
                continue
            group = self.scalar(fields["group"], f"{tpath}.group")
            if group not in groups:
                known = ", ".join(sorted(groups))
                raise self.fail(
                    fields["group"], f"{tpath}.group", f"unknown group {group!r}; groups: {known}"
                )
            level = 0
            if "min_level" in fields:
                level = int(self.number(fields["min_level"], f"{tpath}.min_level", 0, 10))
            skills = (
                frozenset(self.strings(fields["skills"], f"{tpath}.skills"))
                if ("skills" in fields)
                else frozenset()
            )
            targets.append(Target(group=group, min_level=level, skills=skills, timeout=timeout))
        last = f"{path}[{len(items) - 1}]"
        if targets[-1].timeout is not None:
            raise self.fail(items[-1], last, "the last target waits for good: it takes no timeout")
        if targets[-1].group is None:
            raise self.fail(
                items[-1],
                last,
                "the last target must be a group, so that work "
                "without that agent still reaches someone",
            )
        return tuple(targets)
