"""Where a profiled service spent its time: py-spy's collapsed stacks (`--format raw`, as
`bench/*.py --profile` writes them) summed by function.

    .venv/bin/python bench/stacks.py FILE [--top 25] [--under NAME]

Prints, for the functions and for the libraries (the first path part of each frame), the share
of samples in which they are on the stack (inclusive) and at its top (self). With `--under`,
only the stacks that pass through a frame whose name contains NAME.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";"):
        found = FRAME.match(part)
        out.append((found["name"], found["file"]) if found else (part, ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", default="")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    library: Counter[str] = Counter()
    total = 0
    for line in args.file.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        parts = frames(stack)
        if args.under and not any(args.under in name for name, _ in parts):
            continue
        total += n
        seen_functions = {f"{name} ({file})" for name, file in parts}
        for function in seen_functions:
            inclusive[function] += n
        name, file = parts[-1]
        self_[f"{name} ({file})"] += n
        for lib in {file.split("/")[0] for _, file in parts if file}:
            library[lib] += n
    print(f"{total} samples" + (f" through {args.under!r}" if args.under else ""))
    for title, counts in (("inclusive", inclusive), ("self", self_), ("libraries", library)):
        print(f"-- {title}")
        for key, n in counts.most_common(args.top):
            print(f"{n / total:6.1%}  {key}")


if __name__ == "__main__":
    main()
