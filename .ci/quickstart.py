"""Print the README's quickstart commands, exactly as written there.

.ci/run runs what this prints, and tests/test_packaging.py checks it, so CI runs the
commands a reader copies and a README edit cannot leave CI running something else.
The commands are the first two ```sh blocks under "## Quickstart", one line each:
the demo, then the tests. Runs on the system's python3 before any venv exists, so
it uses the standard library only.

    python3 .ci/quickstart.py demo|test [--readme README.md]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Quickstart"
NAMES = ("demo", "test")
_FENCE = re.compile(r"^```sh[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


class QuickstartError(Exception):
    """The README has no quickstart section or its commands are not where expected."""


def quickstart_commands(text: str) -> dict[str, str]:
    """The demo and test commands of a README's Quickstart section, by name."""
    heading = re.search(rf"^{re.escape(SECTION)}[ \t]*$", text, re.MULTILINE)
    if heading is None:
        raise QuickstartError(f"no '{SECTION}' section")
    body = text[heading.end() :]
    following = re.search(r"^## ", body, re.MULTILINE)
    section = body[: following.start()] if following else body
    blocks = [match.group(1) for match in _FENCE.finditer(section)][: len(NAMES)]
    if len(blocks) < len(NAMES):
        raise QuickstartError(
            f"'{SECTION}' has {len(blocks)} ```sh block(s); expected {len(NAMES)} "
            f"({' then '.join(NAMES)})"
        )
    commands = {}
    for name, block in zip(NAMES, blocks, strict=True):
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) != 1:
            raise QuickstartError(f"the {name} block has {len(lines)} lines; expected one")
        commands[name] = lines[0].strip()
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    try:
        commands = quickstart_commands(args.readme.read_text(encoding="utf-8"))
    except (OSError, QuickstartError) as exc:
        print(f"{args.readme}: {exc}", file=sys.stderr)
        return 1
    print(commands[args.name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
