"""WEB_PORT (SPEC §6): a port 1..65535, PORT read when it is unset, each problem on one line."""

from __future__ import annotations

import pytest

from config.settings import load_settings
from tests.test_config import env, settings_problems

__all__ = ["env"]  # the fixture, used by name


def test_web_port_is_off_unless_set(env: pytest.MonkeyPatch) -> None:
    assert load_settings(require_token=False, env_file=None).web_port is None
    env.setenv("WEB_PORT", "")
    assert load_settings(require_token=False, env_file=None).web_port is None


def test_web_port_and_port(env: pytest.MonkeyPatch) -> None:
    env.setenv("PORT", "5000")
    assert load_settings(require_token=False, env_file=None).web_port == 5000
    env.setenv("WEB_PORT", "8080")  # WEB_PORT wins over the platform's PORT
    assert load_settings(require_token=False, env_file=None).web_port == 8080
    env.setenv("WEB_PORT", " ")  # blank counts as unset, as in .env.example
    assert load_settings(require_token=False, env_file=None).web_port == 5000


@pytest.mark.parametrize("value", ["0", "65536", "-1", "http", "80.5"])
def test_a_bad_web_port_is_one_line_naming_it(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("WEB_PORT", value)
    (problem,) = settings_problems()
    assert problem.startswith("WEB_PORT: "), problem
    assert repr(value) in problem


def test_a_bad_port_names_port(env: pytest.MonkeyPatch) -> None:
    env.setenv("PORT", "99999")
    env.setenv("SHARD_COUNT", "zero")
    problems = settings_problems()
    assert len(problems) == 2, problems
    assert any(p.startswith("PORT: ") and "'99999'" in p for p in problems), problems
    assert any(p.startswith("SHARD_COUNT: ") for p in problems), problems
