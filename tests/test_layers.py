"""The layers import only downwards: services never render, render never reads the store.

views/ holds the data both hand each other, so neither needs the other. Every import
counts: at the top, under ``if TYPE_CHECKING:``, inside a function, relative, or by
name through importlib; a cycle hidden in any of them is a cycle all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The Discord-facing layers (discord.py itself, the bot, the cogs) sit above both.
DISCORD = ("discord", "discordbot", "cogs")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "services": ("render", *DISCORD),
    "render": ("services", "storage", "sqlmodel", "sqlalchemy", *DISCORD),
    "views": ("services", "render", "storage", "sqlmodel", "sqlalchemy", *DISCORD),
    # The chart: a plan from views, tracker rules and the catalogs, painted; nothing else.
    "charts": (
        "services",
        "render",
        "storage",
        "sqlmodel",
        "sqlalchemy",
        "config",
        "news",
        "runtime",
        "web",
        "standin",
        "demo",
        "aiohttp",
        *DISCORD,
    ),
    # The web pages read through services/ as the cogs do, and share render/'s words, but
    # never Discord: they run in a process without it (bot.py --web).
    "web": ("storage", "sqlmodel", "sqlalchemy", *DISCORD),
    # The files /export and the calendar feed give: written from views, like render.
    "exporting": ("services", "storage", "sqlmodel", "sqlalchemy", *DISCORD),
    # The Open API's answers read and fetched: plain code, no store, no Discord.
    "official": ("services", "render", "storage", "sqlmodel", "sqlalchemy", "config", *DISCORD),
}
DYNAMIC = {"import_module", "__import__"}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with the line it is imported on."""
    name = _module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                yield node.lineno, ".".join([*base, *node.module.split(".")])
            else:  # "from .. import services": the names are the modules
                for alias in node.names:
                    yield node.lineno, ".".join([*base, alias.name])
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id in DYNAMIC)
                or (isinstance(node.func, ast.Attribute) and node.func.attr in DYNAMIC)
            )
        ):
            yield node.lineno, node.args[0].value


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(layer: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        module = _module_name(path, root)
        for line, target in imported(path, root):
            for banned in FORBIDDEN[layer]:
                if _is_within(target, banned):
                    found.append(f"{module} (line {line}) imports {target}: {layer} -/-> {banned}")
                    break
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(layer: str) -> None:
    assert (ROOT / layer / "__init__.py").is_file()
    problems = violations(layer)
    assert not problems, "\n".join(problems)


def test_every_kind_of_import_is_caught(tmp_path: Path) -> None:
    """The checker itself: a violation in each hiding place is named with its module."""
    (tmp_path / "render").mkdir()
    (tmp_path / "render" / "__init__.py").write_text("")
    (tmp_path / "render" / "sneaky.py").write_text(
        "from __future__ import annotations\n"
        "import importlib\n"
        "from typing import TYPE_CHECKING\n"
        "from render.common import Reply\n"  # allowed: its own layer
        "import discordbot_like\n"  # allowed: only a prefix of a banned name's text
        "if TYPE_CHECKING:\n"
        "    from services.tracking import item_status\n"
        "def later() -> None:\n"
        "    import storage.models\n"
        "    from .. import services\n"
        "    importlib.import_module('discord.ui')\n"
    )
    problems = violations("render", tmp_path)
    assert len(problems) == 4, problems
    assert all(p.startswith("render.sneaky ") for p in problems)
    for banned in ("services.tracking", "storage.models", "services", "discord.ui"):
        assert any(f"imports {banned}:" in p for p in problems), (banned, problems)
