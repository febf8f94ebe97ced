"""SHARD_COUNT and SHARD_IDS (SPEC §6): reading them, which guilds a process owns, connecting."""

# ruff: noqa: F811  (the env fixture is imported, then named as an argument)
from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import Settings, load_settings
from config.shards import Shards, parse_shard_ids
from config.tracker import load_tracker
from demo.harness import running_bot
from discordbot.sharding import ShardedMotionwatchBot
from motionwatch_standin import DiscordStandIn
from tests.conftest import ROOT, World
from tests.test_cli import run_bot
from tests.test_config import env  # noqa: F401
from tests.test_process import _env, _start

# A snowflake's top bits are its timestamp; (id >> 22) picks them out.
GUILD_ON_SHARD_0_OF_2 = 4 << 22
GUILD_ON_SHARD_1_OF_2 = (5 << 22) | 0x3FFFFF
GUILD_ON_SHARD_2_OF_3 = 8 << 22


# -- the parser -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [("0", (0,)), ("0,1", (0, 1)), (" 3 , 1 ", (3, 1)), ("", None), ("  ", None)],
)
def test_shard_ids_parse(text: str, ids: tuple[int, ...] | None) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a,1", "'a' is not one"),
        ("1.5", "'1.5' is not one"),
        ("-1", "'-1' is not one"),
        ("+1", "'+1' is not one"),
        ("1_0", "'1_0' is not one"),
        ("٣", "'٣' is not one"),
        ("0,,1", "an empty entry is not one"),
        ("0,1,", "an empty entry is not one"),
        (",", "lists no shard"),
        (" , ", "lists no shard"),
        ("1,1", "repeats shard 1"),
        ("2,0,2,0", "repeats shards 0, 2"),
    ],
)
def test_shard_ids_problems(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_shard_ids(text)


def test_shards_of_the_settings() -> None:
    assert Shards.of(None, None) is Shards.ALL
    assert Shards.of(2, (1,)) == Shards(2, frozenset({1}))
    # SHARD_COUNT alone: every shard of that many, in one process.
    assert Shards.of(3, None) == Shards(3, frozenset({0, 1, 2}))
    with pytest.raises(ValueError, match="needs SHARD_COUNT"):
        Shards.of(None, (0,))
    with pytest.raises(ValueError, match=r"shards 2, 5 out of range for SHARD_COUNT=2"):
        Shards.of(2, (5, 0, 2))
    with pytest.raises(ValueError, match="repeats shard 0"):
        Shards.of(2, (0, 0))
    with pytest.raises(ValueError, match="lists no shard"):
        Shards.of(2, ())
    with pytest.raises(ValueError, match="not a valid set of shards"):
        Shards(0, frozenset({0}))


# -- owning a guild --------------------------------------------------------------------------


def test_owns_by_the_discord_formula() -> None:
    first, second = Shards(2, frozenset({0})), Shards(2, frozenset({1}))
    assert first.owns(GUILD_ON_SHARD_0_OF_2) and not second.owns(GUILD_ON_SHARD_0_OF_2)
    # The low 22 bits (worker, process, increment) play no part.
    assert second.owns(GUILD_ON_SHARD_1_OF_2) and not first.owns(GUILD_ON_SHARD_1_OF_2)
    assert Shards(3, frozenset({2})).owns(GUILD_ON_SHARD_2_OF_3)
    assert not Shards(3, frozenset({0, 1})).owns(GUILD_ON_SHARD_2_OF_3)


@pytest.mark.parametrize("guild_id", [0, 1, GUILD_ON_SHARD_1_OF_2, 1074391133540003840, 2**63 - 1])
def test_every_guild_has_exactly_one_owner(guild_id: int) -> None:
    for count in (1, 2, 3, 16):
        owners = [i for i in range(count) if Shards(count, frozenset({i})).owns(guild_id)]
        assert owners == [(guild_id >> 22) % count]
    # Unset: this process owns everything, not sharded.
    assert Shards.ALL.owns(guild_id) and not Shards.ALL.sharded
    assert Shards(4, frozenset(range(4))).owns(guild_id)


def test_shards_read_well() -> None:
    assert str(Shards.ALL) == "all guilds (not sharded)"
    assert str(Shards(4, frozenset({2, 0}))) == "shards 0, 2 of 4"
    assert str(Shards(2, frozenset({1}))) == "shard 1 of 2"


# -- settings ---------------------------------------------------------------------------------


def test_unset_is_one_process_for_everything(env: pytest.MonkeyPatch) -> None:
    settings = load_settings(require_token=False, env_file=None)
    assert settings.shard_count is None and settings.shard_ids is None
    assert settings.shards is Shards.ALL


def test_blank_is_unset_as_in_env_example(env: pytest.MonkeyPatch) -> None:
    env.setenv("SHARD_COUNT", "")
    env.setenv("SHARD_IDS", " ")
    assert load_settings(require_token=False, env_file=None).shards is Shards.ALL


def test_env_example_copied_to_env_loads_as_is(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every variable listed, the unused ones blank (DEV_GUILD_ID too) means unset."""
    example = Path(__file__).resolve().parents[1] / ".env.example"
    dotenv = tmp_path / ".env"
    dotenv.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings(require_token=False, env_file=dotenv)
    assert settings.dev_guild_id is None and settings.shards is Shards.ALL


def test_settings_read_the_shards(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("SHARD_COUNT", "4")
    env.setenv("SHARD_IDS", "3, 1")
    settings = load_settings(require_token=False, env_file=None)
    assert settings.shards == Shards(4, frozenset({1, 3}))
    # And from .env.
    env.delenv("SHARD_COUNT")
    env.delenv("SHARD_IDS")
    dotenv = tmp_path / "sharded.env"
    dotenv.write_text("SHARD_COUNT=2\nSHARD_IDS=0\n", encoding="utf-8")
    assert load_settings(require_token=False, env_file=dotenv).shards == Shards(2, frozenset({0}))


def test_settings_from_code_are_checked_too() -> None:
    assert Settings(_env_file=None, shard_count=2, shard_ids=(1,)).shards.ids == {1}
    with pytest.raises(ValueError, match="out of range"):
        Settings(_env_file=None, shard_count=2, shard_ids=(2,))


# Each problem, with the line it gives (after "NAME: ").
PROBLEMS = [
    ({"SHARD_COUNT": "two"}, "SHARD_COUNT", "valid integer"),
    ({"SHARD_COUNT": "0"}, "SHARD_COUNT", "greater than or equal to 1"),
    ({"SHARD_COUNT": "-3", "SHARD_IDS": "0"}, "SHARD_COUNT", "greater than or equal to 1"),
    ({"SHARD_COUNT": "2", "SHARD_IDS": "zero"}, "SHARD_IDS", "'zero' is not one"),
    ({"SHARD_IDS": "0,1"}, "SHARD_IDS", "needs SHARD_COUNT"),
    ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, "SHARD_IDS", "shard 2 out of range"),
    ({"SHARD_COUNT": "2", "SHARD_IDS": "-1"}, "SHARD_IDS", "'-1' is not one"),
    ({"SHARD_COUNT": "2", "SHARD_IDS": "1,1"}, "SHARD_IDS", "repeats shard 1"),
    ({"SHARD_COUNT": "2", "SHARD_IDS": ","}, "SHARD_IDS", "lists no shard"),
]


@pytest.mark.parametrize(("given", "name", "says"), PROBLEMS)
def test_each_shard_problem_is_one_line(
    env: pytest.MonkeyPatch,
    given: dict[str, str],
    name: str,
    says: str,
) -> None:
    for key, value in given.items():
        env.setenv(key, value)
    with pytest.raises(ConfigError) as err:
        load_settings(require_token=False, env_file=None)
    assert len(err.value.problems) == 1, err.value.problems
    assert err.value.problems[0].startswith(f"{name}: ")
    assert says in err.value.problems[0]


def test_both_bad_are_both_reported(env: pytest.MonkeyPatch) -> None:
    env.setenv("SHARD_COUNT", "many")
    env.setenv("SHARD_IDS", "0,x")
    with pytest.raises(ConfigError) as err:
        load_settings(require_token=False, env_file=None)
    assert [line.split(":")[0] for line in err.value.problems] == ["SHARD_COUNT", "SHARD_IDS"]


@pytest.mark.parametrize(("given", "name", "says"), PROBLEMS)
def test_the_bot_process_stops_with_2_on_each(
    tmp_path: Path, given: dict[str, str], name: str, says: str
) -> None:
    result = run_bot(
        env={
            "DISCORD_TOKEN": "a-token",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
            **given,
        }
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{name}: ") and says in lines[0]
    assert "Traceback" not in result.stderr
    # Stopped before touching the database.
    assert not (tmp_path / "db.sqlite").exists()


def test_check_stops_with_2_too(tmp_path: Path) -> None:
    result = run_bot("--check", env={"SHARD_COUNT": "2", "SHARD_IDS": "3"})
    assert result.returncode == 2
    assert result.stderr.startswith("SHARD_IDS: shard 3 out of range for SHARD_COUNT=2")


# -- connecting -------------------------------------------------------------------------------


async def test_the_bot_process_identifies_with_its_shard(
    standin: DiscordStandIn, database_url: str
) -> None:
    process = await _start(_env(standin, database_url, SHARD_COUNT="2", SHARD_IDS="0"))
    try:
        await standin.wait_for_identifies(1, timeout=30)
        assert [payload.get("shard") for payload in standin.identify_payloads] == [[0, 2]]
    finally:
        process.send_signal(signal.SIGTERM)
        log = await process.finish()
    assert process.returncode == 0, log
    assert "gateway: shard 0 of 2" in log
    assert "Traceback" not in log


async def test_unset_connects_one_shard_of_one_while_discord_recommends_one(
    world: World,
) -> None:
    assert isinstance(world.bot, ShardedMotionwatchBot)
    [payload] = world.standin.identify_payloads
    assert payload["shard"] == [0, 1]


async def test_unset_opens_as_many_shards_as_discord_recommends_and_answers_in_each(
    standin: DiscordStandIn, database_url: str
) -> None:
    """SPEC §6: SHARD_COUNT unset is one process on Discord's recommended count."""
    standin.recommend_shards(3)
    guilds = [standin.add_guild(f"G{n}", shard=(n, 3)) for n in range(3)]
    async with running_bot(
        standin,
        database_url=database_url,
        tracker=load_tracker(ROOT / "config" / "tracker.toml"),
        ready_timeout=30,
    ) as bot:
        assert isinstance(bot, ShardedMotionwatchBot)
        shards = sorted(payload["shard"] for payload in standin.identify_payloads)
        assert shards == [[0, 3], [1, 3], [2, 3]]
        assert sorted(bot.shards) == [0, 1, 2]
        for guild in guilds:
            channel = guild.channel_named("general")
            interaction = await standin.invoke(guild.id, channel, guild.add_member("Mina"), "about")
            reply = await interaction.response(timeout=10)
            fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
            assert fields["Tracking"] == "2 items in 3 servers"


async def test_one_process_with_two_shards_answers(
    standin: DiscordStandIn, database_url: str
) -> None:
    guild = standin.add_guild("Korea Watchers")
    channel = next(iter(guild.channels))
    member = guild.add_member("Mina")
    async with running_bot(
        standin,
        database_url=database_url,
        tracker=load_tracker(ROOT / "config" / "tracker.toml"),
        shard_count=2,
        shard_ids=[0, 1],
        ready_timeout=30,
    ) as bot:
        assert isinstance(bot, ShardedMotionwatchBot)
        shards = sorted(payload["shard"] for payload in standin.identify_payloads)
        assert shards == [[0, 2], [1, 2]]
        assert sorted(bot.shards) == [0, 1]
        # /about reads the latency, here the mean over this process's shards.
        assert isinstance(bot.latency, float)
        interaction = await standin.invoke(guild.id, channel, member, "about")
        reply = await interaction.response(timeout=10)
        fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
        assert fields["Gateway latency"]
        assert fields["Tracking"] == "2 items in 1 servers"
