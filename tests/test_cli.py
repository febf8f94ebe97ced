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


def _items(stdout: str) -> str:
    """--check's report below its header: the items' lines."""
    return stdout.split("\n\n", 1)[1]


def test_check_prints_each_items_state(database_url: str) -> None:
    result = run_bot("--check", "--now", CHECK_AT, env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "24 seed events (24 added now)" in result.stdout
    # The extension count says what it rests on: only 2017 and 2018 are renewals on the
    # record; 2019-2022 fell during the suspended notice, 2023-2026 assume no notice.
    assert _items(result.stdout) == (
        "gsomia: South Korea–Japan GSOMIA\n"
        "  stage: Termination notice withdrawn (back in force) since 2023-03-21\n"
        "  Extensions: At least 2 on the record, of 10 anniversaries passed in force\n"
        "  During the suspended notice: 4 of those anniversaries passed while the termination "
        "notice was suspended; in Seoul's view the annual renewal did not apply then.\n"
        "  Assumed: 4 of those anniversaries passed after the last recorded change: they are "
        "renewals only if no notice was given, and none is recorded.\n"
        "  Next renewal: 2027-11-23 00:00 KST\n"
        "  Notice deadline: by the end of 24 Aug 2027 (2027-08-25 00:00 KST)\n"
        "  next deadline: Notice deadline 2027-08-25 00:00 KST\n"
        "han-minkoo-dismissal: Motion to dismiss Defence Minister Han Min-koo\n"
        "  stage: Shelved since 2016-11-24\n"
        "  Thresholds: 100 of 300 to propose · 151 of 300 to pass\n"
        "  next deadline: none\n"
    )
    # A second run on the same database adds nothing.
    again = run_bot("--check", "--now", CHECK_AT, env={"DATABASE_URL": database_url})
    assert again.returncode == 0, again.stderr
    assert "(0 added now)" in again.stdout


def test_check_at_midnight_of_the_signing_day(tmp_path: Path) -> None:
    """Signed and in force on 23 Nov 2016 at an unrecorded time: not yet at 00:00 that day."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    result = run_bot("--check", "--now", "2016-11-23T00:00+09:00", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert _items(result.stdout) == (
        "gsomia: South Korea–Japan GSOMIA\n"
        "  stage: Initialled since 2016-11-14\n"
        "  next deadline: none\n"
        "han-minkoo-dismissal: Motion to dismiss Defence Minister Han Min-koo\n"
        "  stage: Announced since 2016-11-15\n"
        "  Thresholds: 100 of 300 to propose · 151 of 300 to pass\n"
        "  next deadline: none\n"
    )


def test_check_during_the_suspended_notice(tmp_path: Path) -> None:
    """Seoul's position, attributed, instead of a 90-day term computed by the bot."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    result = run_bot("--check", "--now", "2020-06-01T12:00+09:00", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    gsomia = _items(result.stdout).split("han-minkoo-dismissal:")[0]
    assert gsomia == (
        "gsomia: South Korea–Japan GSOMIA\n"
        "  stage: Termination notice suspended (in force) since 2019-11-22 18:00 KST\n"
        "  Extensions: At least 2 on the record, of 3 anniversaries passed in force\n"
        "  During the suspended notice: 1 of those anniversaries passed while the termination "
        "notice was suspended; in Seoul's view the annual renewal did not apply then.\n"
        "  Termination notice suspended: Seoul's position (22 Nov 2019): the notice is only "
        "suspended, so ending the suspension would end the agreement at once, not after 90 "
        "days' notice. (No renewal or notice deadline is computed while the suspension lasts.)\n"
        "  next deadline: none\n"
    )


def test_check_in_2019_shows_the_pending_termination(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    result = run_bot("--check", "--now", "2019-09-01T12:00+09:00", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "stage: Termination notified since 2019-08-23 15:25 KST" in result.stdout
    assert "Ends: 2019-11-23 00:00 KST (unless the notice is suspended" in result.stdout
    assert "next deadline: Termination 2019-11-23 00:00 KST" in result.stdout


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
