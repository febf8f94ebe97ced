"""``python bot.py`` as a person runs it: --check's report and the exit rules of SPEC §6."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from motionwatch_standin import DiscordStandIn
from tests.conftest import ROOT
from tests.test_config import VARIABLES

CHECK_AT = "2026-11-23T09:00+09:00"


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment with none of the bot's settings in it, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env.update(settings)
    return env


def standin_env(standin: DiscordStandIn, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a bot process that logs in to ``standin``; ``settings`` win."""
    return clean_env(
        **{
            "DISCORD_TOKEN": standin.bot_token,
            "DISCORD_API_BASE": standin.api_base,
            "DISCORD_GATEWAY_URL": standin.gateway_url,
            "DATABASE_URL": database_url,
            **settings,
        }
    )


def run_bot(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        cwd=cwd,
        env=clean_env(**{"DISCORD_TOKEN": "", **env}),
        capture_output=True,
        text=True,
        timeout=120,
    )


# Every setting the bot reads from the environment (SPEC §6).
_SETTINGS = frozenset(VARIABLES)


def test_check_prints_each_items_state(database_url: str) -> None:
    result = run_bot("--check", "--now", CHECK_AT, env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "gsomia: South Korea–Japan GSOMIA" in out
    assert "stage: termination notice withdrawn (back in force) since 2023-03-21" in out
    assert (
        "extended 10 times; next renewal 2027-11-23 00:00 KST; "
        "notice deadline 2027-08-25 00:00 KST" in out
    )
    assert "next deadline: notice deadline 2027-08-25 00:00 KST" in out
    assert "han-minkoo-dismissal: Motion to dismiss Defence Minister Han Min-koo" in out
    assert "stage: shelved since 2016-11-24" in out
    assert "thresholds: 100 of 300 to propose, 151 of 300 to pass" in out
    assert "24 seed events (24 added now)" in out
    # A second run on the same database adds nothing.
    again = run_bot("--check", "--now", CHECK_AT, env={"DATABASE_URL": database_url})
    assert again.returncode == 0, again.stderr
    assert "(0 added now)" in again.stdout


def test_check_in_2019_shows_the_pending_termination(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    result = run_bot("--check", "--now", "2019-09-01T12:00+09:00", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "stage: termination notified since 2019-08-23 15:25 KST" in result.stdout
    assert "next deadline: termination 2019-11-23 00:00 KST" in result.stdout


def test_no_token_exits_2_naming_it(tmp_path: Path) -> None:
    result = run_bot(env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"})
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_exit_2_one_line_each(tmp_path: Path) -> None:
    result = run_bot(
        "--check",
        env={
            "NEWS_POLL_SECONDS": "often",
            "DATABASE_URL": "mysql://localhost/x",
            "DEV_GUILD_ID": "-5",
        },
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    assert {line.split(":")[0] for line in lines} == {
        "NEWS_POLL_SECONDS",
        "DATABASE_URL",
        "DEV_GUILD_ID",
    }
    assert "Traceback" not in result.stderr


def test_bad_tracker_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    text = (ROOT / "config" / "tracker.toml").read_text(encoding="utf-8")
    config.write_text(
        text.replace('timezone = "Asia/Seoul"', 'timezone = "Asia/Seol"', 1).replace(
            'seed = "seeds/gsomia.toml"', ""
        ),
        encoding="utf-8",
    )
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "han-minkoo-dismissal.toml").write_text(
        (ROOT / "config" / "seeds" / "han-minkoo-dismissal.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    result = run_bot("--check", env={"TRACKER_CONFIG": str(config)})
    assert result.returncode == 2
    assert "items[0].timezone" in result.stderr
    assert "Asia/Seol" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_tracker_config_exits_2(tmp_path: Path) -> None:
    result = run_bot("--check", env={"TRACKER_CONFIG": str(tmp_path / "nope.toml")})
    assert result.returncode == 2
    assert "TRACKER_CONFIG" in result.stderr and "file not found" in result.stderr
