"""What installing the project puts into site-packages, and the quickstart CI runs.

The bot runs from its checkout, so the ``motionwatch`` distribution installs its
dependencies and no importable name: its packages' generic names (config, storage,
services...) would shadow another distribution's, or be shadowed. The Discord stand-in
is a distribution of its own, ``motionwatch-standin``, whose only name is
``motionwatch_standin``. Both wheels are built here as pip would build them, offline.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from types import ModuleType

import pytest

from motionwatch_standin import default_spec_path
from motionwatch_standin.validate import SPEC_ENV
from tests.conftest import ROOT

STANDIN = ROOT / "standin"
STANDIN_PACKAGE = STANDIN / "motionwatch_standin"
QUICKSTART_SCRIPT = ROOT / ".ci" / "quickstart.py"
# What a checkout holds that is not source: building from a copy without them leaves
# the checkout untouched (no build/ or egg-info beside the modules for mypy to find).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "data", "*.egg-info", "__pycache__",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
)  # fmt: skip


@dataclass(frozen=True)
class Wheel:
    path: Path
    names: list[str]
    metadata: dict[str, list[str]]

    @property
    def dist_info(self) -> str:
        (name,) = {n.split("/")[0] for n in self.names if n.split("/")[0].endswith(".dist-info")}
        return name

    def top_level(self) -> set[str]:
        """The importable names the wheel puts into site-packages."""
        tops = set()
        for name in self.names:
            first, *rest = name.split("/")
            if first.endswith(".dist-info"):
                continue
            if first.endswith(".data") and rest and rest[0] in ("purelib", "platlib"):
                first = rest[1]
            elif first.endswith(".data"):
                continue
            tops.add(first.removesuffix(".py").split(".")[0])
        return tops


def _read_wheel(path: Path) -> Wheel:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(meta).decode("utf-8"))
    metadata: dict[str, list[str]] = {}
    for key, value in message.items():
        metadata.setdefault(key, []).append(value)
    return Wheel(path, names, metadata)


@dataclass(frozen=True)
class Built:
    motionwatch: Wheel
    standin: Wheel
    log: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Both wheels, built from a copy of the checkout with this venv's setuptools."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = work / "wheels"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*pip_wheel, "--no-index", "-w", str(out), str(source), str(source / "standin")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = {p.name.split("-")[0]: _read_wheel(p) for p in out.glob("*.whl")}
    assert sorted(wheels) == ["motionwatch", "motionwatch_standin"]
    log = result.stdout + result.stderr
    return Built(wheels["motionwatch"], wheels["motionwatch_standin"], log)


def test_motionwatch_installs_no_importable_name(built: Built) -> None:
    wheel = built.motionwatch
    assert wheel.top_level() == set()
    # Nothing beside its metadata: no module, no .pth, no data files.
    assert {n.split("/")[0] for n in wheel.names} == {wheel.dist_info}
    # Yet it is what pulls in the bot's dependencies.
    requires = {_dist_name(r) for r in wheel.metadata["Requires-Dist"]}
    assert {"discord-py", "sqlalchemy", "alembic", "aiohttp"} <= requires


def test_standin_installs_only_motionwatch_standin(built: Built) -> None:
    wheel = built.standin
    assert wheel.top_level() == {"motionwatch_standin"}
    packaged = {n for n in wheel.names if n.startswith("motionwatch_standin/")}
    in_checkout = {f"motionwatch_standin/{p.name}" for p in STANDIN_PACKAGE.glob("*.py")}
    assert packaged == in_checkout


def test_standin_declares_every_distribution_it_imports(built: Built) -> None:
    """Installed on its own, the stand-in imports nothing it does not require."""
    imported = set()
    for path in STANDIN_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"motionwatch_standin"}
    requires = {_dist_name(r) for r in built.standin.metadata["Requires-Dist"]}
    assert third_party == {"aiohttp", "jsonschema", "referencing"}
    assert third_party <= requires


def test_both_declare_an_spdx_license_without_deprecation(built: Built) -> None:
    for wheel in (built.motionwatch, built.standin):
        assert wheel.metadata["License-Expression"] == ["MIT"]
    assert "SetuptoolsDeprecationWarning" not in built.log


def test_openapi_spec_is_looked_for_beside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPEC_ENV, raising=False)
    assert default_spec_path() == ROOT.parent / "shared" / "discord-api" / "openapi.json"


def _dist_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


# --- the quickstart ------------------------------------------------------------------


def _quickstart() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quickstart", QUICKSTART_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)\n```$", section, re.MULTILINE | re.DOTALL)


def test_ci_runs_the_readme_quickstart_verbatim() -> None:
    printed = {
        name: subprocess.run(
            [sys.executable, str(QUICKSTART_SCRIPT), name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for name in ("demo", "test")
    }
    assert [printed["demo"], printed["test"]] == _readme_blocks()[:2]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'demo_command="$(python3 .ci/quickstart.py demo)"' in ci
    assert 'test_command="$(python3 .ci/quickstart.py test)"' in ci
    assert 'bash -c "${demo_command}"' in ci
    assert 'bash -c "${test_command}"' in ci


def test_each_quickstart_command_makes_its_own_venv() -> None:
    commands = _quickstart().quickstart_commands((ROOT / "README.md").read_text("utf-8"))
    assert commands["demo"].endswith(" bot.py --demo")
    assert commands["test"].endswith(" -m pytest")
    for command in commands.values():
        first, *rest = [step.strip() for step in command.split("&&")]
        assert first == "python3 -m venv .venv"
        # No bare pip: PEP 668 Pythons (Debian, Ubuntu) refuse it outside a venv.
        assert all(step.startswith(".venv/bin/python ") for step in rest), command
        assert "-e ./standin" in command


@pytest.mark.parametrize(
    ("readme", "problem"),
    [
        ("# x\n\n## Install\n\n```sh\nls\n```\n", "no '## Quickstart' section"),
        ("## Quickstart\n\n```sh\nls\n```\n\n## Next\n\n```sh\nls\n```\n", "1 ```sh block"),
        ("## Quickstart\n\n```sh\na\nb\n```\n\n```sh\nc\n```\n", "the demo block has 2 lines"),
    ],
)
def test_quickstart_extraction_fails_loudly(tmp_path: Path, readme: str, problem: str) -> None:
    path = tmp_path / "README.md"
    path.write_text(readme, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(QUICKSTART_SCRIPT), "demo", "--readme", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert problem in result.stderr


def test_demo_without_the_standin_says_how_to_install_it(tmp_path: Path) -> None:
    # As if only the motionwatch distribution were installed: no motionwatch_standin.
    hide = "import sys; sys.modules['motionwatch_standin'] = None; import runpy; "
    run = f"sys.argv = ['bot.py', '--demo']; runpy.run_path({str(ROOT / 'bot.py')!r}, "
    result = subprocess.run(
        [sys.executable, "-c", hide + run + "run_name='__main__')"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "--demo runs the bot against the Discord stand-in, which is not installed: "
        "python -m pip install -e ./standin (see the README's Quickstart)"
    )
    assert "Traceback" not in result.stderr
