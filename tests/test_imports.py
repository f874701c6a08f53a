"""The shape of the house stays: no two modules import each other (directly or round a loop), and
dependencies point one way (../shared/DESIGN.md): `routing/` and `workflows/` import nothing of
the service (`workflows/` may use `routing/`, pure as it is), and the service's foundations
(`model`, `errors`, `runtime/`, `store/`) nothing above them; `knowledge_base/` uses the
foundations and the event bus only."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contactcenter", "routing", "workflows", "knowledge_base")
FOUNDATIONS = (
    "contactcenter.model",
    "contactcenter.errors",
    "contactcenter.runtime",
    "contactcenter.store",
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports() -> dict[str, set[str]]:
    """Each module's imports of the project's own modules."""
    modules = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges[name] |= {t for t in targets if t in modules and t != name}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that reach each other (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _service_above(target: str) -> bool:
    """A module of the service above its foundations and the event bus."""
    allowed = (*FOUNDATIONS, "contactcenter.events")
    return target.startswith("contactcenter") and not target.startswith(allowed)


def test_no_modules_import_each_other() -> None:
    assert _cycles(_imports()) == []


def _upward(name: str, target: str) -> bool:
    """Whether `name` importing `target` goes against the one direction."""
    top = name.split(".")[0]
    if top == "routing":
        return not target.startswith("routing")
    if top == "workflows":  # pure, like routing, whose YAML reader it shares
        return not target.startswith(("workflows", "routing"))
    if name.startswith(FOUNDATIONS):
        return not target.startswith(FOUNDATIONS)
    return top == "knowledge_base" and _service_above(target)


def test_dependencies_point_one_way() -> None:
    wrong = sorted(
        (name, target)
        for name, targets in _imports().items()
        for target in targets
        if _upward(name, target)
    )
    assert wrong == []


def test_the_checks_see_a_loop_and_the_whole_tree() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    seen = set(_modules())
    assert {
        "contactcenter.queue.core",
        "routing.engine",
        "contactcenter.channels.voice.channel",
    } <= seen


def _channel(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["contactcenter", "channels"] and len(parts) > 2 else None


def test_channels_never_import_each_other() -> None:
    """Each channel keeps to its room: what two share lives in `mail/`, `queue/` or below, and
    what one hands another (the fax channel claiming gateway mail) comes from the wiring."""
    crossing = sorted(
        (name, target)
        for name, targets in _imports().items()
        for target in targets
        if _channel(name) and _channel(target) and _channel(name) != _channel(target)
    )
    assert crossing == []


EDGES = (
    "contactcenter.channels",
    "contactcenter.web",
    "contactcenter.wiring",
    "contactcenter.app",
    "contactcenter.cli",
)
INNER = (
    "contactcenter.cluster",
    "contactcenter.customers",
    "contactcenter.interactions",
    "contactcenter.people",
    "contactcenter.mail",
    "contactcenter.queue",
    "contactcenter.reports",
    "knowledge_base",
)


def test_the_inner_rooms_never_reach_the_edges() -> None:
    """Records, the queue, mail and reports know nothing of the channels, the web or the
    wiring: the edges use them, not the other way round; and reports ask the queue through
    `reports/routing_now.py` rather than importing it."""
    wrong = sorted(
        (name, target)
        for name, targets in _imports().items()
        for target in targets
        if (name.startswith(INNER) and target.startswith(EDGES))
        or (name.startswith("contactcenter.reports") and target.startswith("contactcenter.queue"))
    )
    assert wrong == []
