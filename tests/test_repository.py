"""Every file the tests and benchmarks read is in the repository: an ignore rule once hid the
knowledge base's evaluation set (`data/` matched `tests/data/`), and a fresh clone could not run
the benchmark. Paths are found in the code itself: string literals naming a file of the project
(`"tests/data/kb/queries.yaml"`) and `/` chains of them (`ROOT / "tests" / "data" / ...`)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = {"tests", "bench", "contactcenter", "routing", "workflows", "knowledge_base"}
DATA = ["tests/data", "contactcenter/demo", "contactcenter/web/static"]


def _tracked() -> set[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return set(listed.stdout.decode().split("\0")) - {""}


def _chain(node: ast.AST) -> list[str] | None:
    """The string parts of `a / "b" / "c"`, in order (None when it holds anything else)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left = _chain(node.left)
        right = _chain(node.right)
        return None if right is None else [*(left or []), *right]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    return []


def _named_paths() -> set[str]:
    """Project paths the tests and benchmarks name."""
    found: set[str] = set()
    for source in [*ROOT.glob("bench/*.py"), *ROOT.glob("tests/**/*.py")]:
        if source == Path(__file__):
            continue  # names paths on purpose that need not exist
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            parts = _chain(node) if isinstance(node, ast.BinOp) else None
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                parts = [node.value]
            if not parts:
                continue
            joined = "/".join(p.strip("/") for p in parts)
            start = next((i for i, p in enumerate(parts) if p.split("/")[0] in TOP), None)
            if start is None or " " in joined or "{" in joined:
                continue
            path = "/".join(p.strip("/") for p in parts[start:])
            if "." in path.rsplit("/", 1)[-1] and path.count("/") >= 1:
                found.add(path)
    return found


def test_every_file_the_tests_and_benchmarks_name_is_tracked() -> None:
    tracked = _tracked()
    named = _named_paths()
    assert "tests/data/kb/queries.yaml" in named  # the finder sees ROOT / "tests" / ... chains
    missing = sorted(p for p in named if (ROOT / p).is_file() and p not in tracked)
    absent = sorted(p for p in named if not (ROOT / p).exists() and "*" not in p)
    assert missing == [] and absent == [], (missing, absent)


def test_every_data_file_is_tracked_and_no_rule_ignores_one() -> None:
    tracked = _tracked()
    for folder in DATA:
        files = [
            p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
        assert files, folder
        untracked = [
            str(p.relative_to(ROOT)) for p in files if str(p.relative_to(ROOT)) not in tracked
        ]
        assert untracked == [], untracked
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "tests/data/kb/queries.yaml", "tests/data/x.eml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ignored.stdout == "", f"ignored by .gitignore: {ignored.stdout}"


def test_every_file_the_packages_read_is_installed_with_them() -> None:
    """A data file inside a package (a default policy, a migration, a page) must be named in
    pyproject.toml's package-data, or `pip install .` leaves it out and the service cannot
    start (the relationship policy once was)."""
    import tomllib
    from fnmatch import fnmatch

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]
    missing = []
    for path in sorted(_tracked()):
        package, _, inside = path.partition("/")
        if package not in TOP - {"tests", "bench"} or path.endswith(".py"):
            continue
        if not any(fnmatch(inside, pattern) for pattern in patterns.get(package, [])):
            missing.append(path)
    assert missing == []
