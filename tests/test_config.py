"""Reading config/tracker.toml, its seeds, and the settings (SPEC §2, §6)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import DEFAULT_DATABASE_URL, Settings, load_settings
from config.tracker import load_tracker
from tracker.model import Precision
from tracker.rules.agreement import AutoRenewingAgreement
from tracker.rules.motion import KrAssemblyDismissal

CONFIG = Path(__file__).parents[1] / "config" / "tracker.toml"

AGREEMENT = """
[[items]]
key = "{key}"
kind = "{kind}"
rule_set = "{rule_set}"
timezone = "{timezone}"
{seed}
[items.name]
en = "A pact"
ko = "협정"

[items.params]
entry_into_force = 2016-11-23
notice_period_days = {notice}
"""

SEED_EVENT = """
[[event]]
key = "{key}"
when = "{when}"
{stage}
summary_en = "{summary_en}"
summary_ko = "{summary_ko}"
source_name = "Example"
source_url = "https://example.org/{key}"
status = "{status}"
"""


def agreement(
    key: str = "pact",
    kind: str = "agreement",
    rule_set: str = "auto-renewing-agreement",
    timezone: str = "Asia/Seoul",
    notice: int = 90,
    seed: str | None = None,
) -> str:
    return AGREEMENT.format(
        key=key,
        kind=kind,
        rule_set=rule_set,
        timezone=timezone,
        notice=notice,
        seed=f'seed = "{seed}"' if seed else "",
    )


def seed_event(
    key: str,
    when: str,
    stage: str | None = None,
    status: str = "verified",
    summary_en: str = "Something happened.",
    summary_ko: str = "무언가 일어났다.",
) -> str:
    return SEED_EVENT.format(
        key=key,
        when=when,
        stage=f'stage = "{stage}"' if stage else "",
        status=status,
        summary_en=summary_en,
        summary_ko=summary_ko,
    )


def write(tmp_path: Path, text: str, name: str = "tracker.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_tracker(path)
    problems = err.value.problems
    assert problems, "a ConfigError must name at least one problem"
    for line in problems:
        assert "\n" not in line, line
    assert str(err.value) == "\n".join(problems)
    return problems


def only_problem(path: Path, label: Path | None = None) -> str:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{label or path}: "), problems[0]
    return problems[0]


# -- the shipped configuration ---------------------------------------------------------------


def test_shipped_config_loads() -> None:
    config = load_tracker(CONFIG)
    assert [item.key for item in config.items] == ["gsomia", "han-minkoo-dismissal"]
    gsomia = config.item("gsomia")
    motion = config.item("han-minkoo-dismissal")
    assert gsomia is not None and motion is not None
    assert config.item("nothing") is None

    assert gsomia.kind == "agreement"
    assert gsomia.rule_set == "auto-renewing-agreement"
    assert isinstance(gsomia.rules, AutoRenewingAgreement)
    assert gsomia.rules.params.entry_into_force == date(2016, 11, 23)
    assert str(gsomia.timezone) == "Asia/Seoul"
    assert gsomia.name("ko").startswith("한일")
    assert "GSOMIA" in gsomia.keywords_en
    assert all(s.url.startswith("https://") for s in gsomia.sources)

    assert motion.kind == "motion"
    assert isinstance(motion.rules, KrAssemblyDismissal)
    assert motion.rules.params.seats == 300


def test_shipped_seeds() -> None:
    config = load_tracker(CONFIG)
    gsomia = config.item("gsomia")
    motion = config.item("han-minkoo-dismissal")
    assert gsomia is not None and motion is not None
    by_key = {e.key: e for e in gsomia.seed}
    notice = by_key["2019-08-23-notice"]
    assert notice.stage == "termination_notified"
    assert notice.precision is Precision.DATETIME
    assert notice.occurred_at.isoformat() == "2019-08-23T06:25:00+00:00"
    assert by_key["2016-11-23-in-force"].precision is Precision.DATE
    assert not any(e.likely for e in gsomia.seed)
    likely = [e for e in motion.seed if e.likely]
    assert [e.key for e in likely] == ["2016-12-03-never-submitted"]
    assert likely[0].summary_en.startswith("Likely")


def test_minimal_file_loads(tmp_path: Path) -> None:
    config = load_tracker(write(tmp_path, agreement()))
    assert [item.key for item in config.items] == ["pact"]
    assert config.items[0].seed == ()


# -- one line per problem, naming the file and the key -------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    assert "file not found" in only_problem(path)


def test_malformed_toml(tmp_path: Path) -> None:
    path = write(tmp_path, agreement() + "\n[[items]\nkey = \n")
    assert "not valid TOML" in only_problem(path)


def test_unknown_time_zone(tmp_path: Path) -> None:
    path = write(tmp_path, agreement(timezone="Asia/Nowhere"))
    line = only_problem(path)
    assert line.startswith(f"{path}: items[0].timezone: ")
    assert "'Asia/Nowhere'" in line


def test_missing_key(tmp_path: Path) -> None:
    text = agreement().replace('key = "pact"\n', "")
    path = write(tmp_path, text)
    line = only_problem(path)
    assert line.startswith(f"{path}: items[0].key: ")
    assert "required" in line.lower()


def test_bad_item_key(tmp_path: Path) -> None:
    path = write(tmp_path, agreement(key="Not A Key"))
    assert only_problem(path).startswith(f"{path}: items[0].key: ")


def test_no_items(tmp_path: Path) -> None:
    path = write(tmp_path, "items = []\n")
    assert only_problem(path).startswith(f"{path}: items: ")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "colour = 'blue'\n" + agreement())
    assert only_problem(path).startswith(f"{path}: colour: ")


def test_unknown_rule_set(tmp_path: Path) -> None:
    path = write(tmp_path, agreement(rule_set="eu-directive"))
    line = only_problem(path)
    assert line.startswith(f"{path}: items[0].rule_set: ")
    assert "'eu-directive'" in line
    assert "auto-renewing-agreement" in line  # the known ones are listed
    assert "kr-assembly-dismissal" in line


def test_rule_set_of_the_wrong_kind(tmp_path: Path) -> None:
    path = write(tmp_path, agreement(kind="motion"))
    line = only_problem(path)
    assert line.startswith(f"{path}: items[0].rule_set: ")
    assert "'auto-renewing-agreement'" in line
    assert "'agreement'" in line and "'motion'" in line


def test_unknown_kind(tmp_path: Path) -> None:
    path = write(tmp_path, agreement(kind="treaty"))
    assert only_problem(path).startswith(f"{path}: items[0].kind: ")


def test_bad_params(tmp_path: Path) -> None:
    path = write(tmp_path, agreement(notice=-1))
    line = only_problem(path)
    assert line.startswith(f"{path}: items[0].params.notice_period_days: ")
    assert "0" in line


def test_unknown_param(tmp_path: Path) -> None:
    text = agreement() + "renewal_months = 12\n"
    path = write(tmp_path, text)
    assert only_problem(path).startswith(f"{path}: items[0].params.renewal_months: ")


def test_bad_motion_params(tmp_path: Path) -> None:
    text = agreement(kind="motion", rule_set="kr-assembly-dismissal").replace(
        "entry_into_force = 2016-11-23\nnotice_period_days = 90\n",
        'seats = 300\nproposal_fraction = "3/2"\n',
    )
    path = write(tmp_path, text)
    line = only_problem(path)
    assert line.startswith(f"{path}: items[0].params.proposal_fraction: ")
    assert "'3/2'" in line


def test_duplicate_keys(tmp_path: Path) -> None:
    path = write(tmp_path, agreement() + agreement())
    line = only_problem(path)
    assert line.startswith(f"{path}: items[1].key: ")
    assert "'pact'" in line


def test_bad_source_url(tmp_path: Path) -> None:
    text = agreement() + '\n[[items.sources]]\nname = "Feed"\nurl = "ftp://example.org/x"\n'
    path = write(tmp_path, text)
    line = only_problem(path)
    assert line.startswith(f"{path}: items[0].sources[0].url: ")
    assert "ftp://example.org/x" in line


def test_every_schema_problem_is_listed(tmp_path: Path) -> None:
    text = agreement(timezone="Mars/Olympus") + agreement(key="other").replace(
        'rule_set = "auto-renewing-agreement"\n', ""
    )
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{path}: items[0].timezone: ")
    assert problems[1].startswith(f"{path}: items[1].rule_set: ")


def test_every_item_problem_is_listed(tmp_path: Path) -> None:
    text = agreement(notice=-1) + agreement(key="other", kind="motion") + agreement()
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 3, problems
    assert problems[0].startswith(f"{path}: items[0].params.notice_period_days: ")
    assert problems[1].startswith(f"{path}: items[1].rule_set: ")
    assert problems[2].startswith(f"{path}: items[2].key: ")


# -- seeds ---------------------------------------------------------------------------------


def test_valid_seed_loads(tmp_path: Path) -> None:
    seed = write(
        tmp_path,
        seed_event("signed", "2016-11-23", "signed")
        + seed_event("in-force", "2016-11-23", "in_force")
        + seed_event("notice", "2019-08-23 15:25", "termination_notified"),
        "seeds/pact.toml",
    )
    config = load_tracker(write(tmp_path, agreement(seed="seeds/pact.toml")))
    events = config.items[0].seed
    assert [e.key for e in events] == ["signed", "in-force", "notice"]
    assert events[2].occurred_at.isoformat() == "2019-08-23T06:25:00+00:00"
    assert seed.exists()


def test_seed_with_a_bad_stage_order(tmp_path: Path) -> None:
    seed = write(
        tmp_path,
        seed_event("in-force", "2016-11-23", "in_force")
        + seed_event("suspended", "2019-11-22 18:00", "notice_suspended"),
        "seeds/pact.toml",
    )
    path = write(tmp_path, agreement(seed="seeds/pact.toml"))
    line = only_problem(path, label=seed)
    assert line.startswith(f"{seed}: event[1].stage: ")
    assert "'notice_suspended'" in line
    assert "'in_force'" in line
    assert "2019-11-22 18:00" in line


def test_seed_with_an_unknown_stage(tmp_path: Path) -> None:
    seed = write(tmp_path, seed_event("x", "2016-11-23", "ratified"), "seeds/pact.toml")
    path = write(tmp_path, agreement(seed="seeds/pact.toml"))
    line = only_problem(path, label=seed)
    assert line.startswith(f"{seed}: event[0].stage: ")
    assert "'ratified'" in line


def test_seed_with_a_bad_when(tmp_path: Path) -> None:
    seed = write(
        tmp_path,
        seed_event("a", "2016-11-23") + seed_event("b", "2016-13-01"),
        "seeds/pact.toml",
    )
    path = write(tmp_path, agreement(seed="seeds/pact.toml"))
    line = only_problem(path, label=seed)
    assert line.startswith(f"{seed}: event[1].when: ")
    assert "'2016-13-01'" in line


def test_likely_seed_must_say_so(tmp_path: Path) -> None:
    seed = write(
        tmp_path,
        seed_event("fine", "2016-11-23", status="likely", summary_en="Likely: it happened.")
        + seed_event("quiet", "2016-11-24", status="likely"),
        "seeds/pact.toml",
    )
    path = write(tmp_path, agreement(seed="seeds/pact.toml"))
    # The first event says "Likely" but its Korean summary lacks "추정".
    problems = problems_of(path)
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{seed}: event[0].summary_en: ")
    assert problems[1].startswith(f"{seed}: event[1].summary_en: ")
    assert all("Likely" in line for line in problems)


def test_likely_seed_that_says_so_loads(tmp_path: Path) -> None:
    write(
        tmp_path,
        seed_event(
            "ok", "2016-11-24", status="likely", summary_en="Likely: x.", summary_ko="추정: x."
        ),
        "seeds/pact.toml",
    )
    config = load_tracker(write(tmp_path, agreement(seed="seeds/pact.toml")))
    assert config.items[0].seed[0].likely is True


def test_duplicate_seed_keys(tmp_path: Path) -> None:
    seed = write(
        tmp_path,
        seed_event("same", "2016-11-23") + seed_event("same", "2016-11-24"),
        "seeds/pact.toml",
    )
    path = write(tmp_path, agreement(seed="seeds/pact.toml"))
    assert only_problem(path, label=seed).startswith(f"{seed}: event[1].key: ")


def test_missing_seed_file(tmp_path: Path) -> None:
    path = write(tmp_path, agreement(seed="seeds/absent.toml"))
    line = only_problem(path, label=tmp_path / "seeds" / "absent.toml")
    assert "file not found" in line


def test_seed_with_a_bad_field(tmp_path: Path) -> None:
    text = seed_event("a", "2016-11-23").replace('status = "verified"', 'status = "rumour"')
    seed = write(tmp_path, text, "seeds/pact.toml")
    path = write(tmp_path, agreement(seed="seeds/pact.toml"))
    assert only_problem(path, label=seed).startswith(f"{seed}: event[0].status: ")


# -- settings --------------------------------------------------------------------------------

VARIABLES = [
    "DISCORD_TOKEN",
    "DATABASE_URL",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY_URL",
    "TRACKER_CONFIG",
    "NEWS_POLL_SECONDS",
    "ALLOW_PRIVATE_SOURCES",
    "DEV_GUILD_ID",
    "LOG_LEVEL",
    "SHARD_COUNT",
    "SHARD_IDS",
    "WEB_PORT",
    "PORT",
    "PUBLIC_URL",
]

TOKEN = "MTIz.secret-token-value.XYZ"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return monkeypatch


def settings_problems(require_token: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_settings(require_token=require_token, env_file=None)
    return err.value.problems


def test_defaults(env: pytest.MonkeyPatch) -> None:
    settings = load_settings(require_token=False, env_file=None)
    assert settings.discord_token is None
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.news_poll_seconds == 900
    assert settings.log_level == "INFO"
    assert settings.tracker_config == Path("config/tracker.toml")
    assert settings.allow_private_sources is False


def test_bad_variables_are_each_reported(env: pytest.MonkeyPatch) -> None:
    env.setenv("NEWS_POLL_SECONDS", "0")
    env.setenv("DATABASE_URL", "mysql://x")
    problems = settings_problems()
    assert len(problems) == 2, problems
    by_name = {line.split(":", 1)[0]: line for line in problems}
    assert set(by_name) == {"NEWS_POLL_SECONDS", "DATABASE_URL"}
    assert "mysql://x" in by_name["DATABASE_URL"]
    assert "1" in by_name["NEWS_POLL_SECONDS"]
    assert all("\n" not in line for line in problems)


def test_poll_interval_down_to_one(env: pytest.MonkeyPatch) -> None:
    env.setenv("NEWS_POLL_SECONDS", "1")
    assert load_settings(require_token=False, env_file=None).news_poll_seconds == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEWS_POLL_SECONDS", "often"),
        ("DEV_GUILD_ID", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("DISCORD_API_BASE", "discord.example"),
        ("ALLOW_PRIVATE_SOURCES", "perhaps"),
        ("PUBLIC_URL", "motionwatch.example.org"),
        ("PUBLIC_URL", "ftp://motionwatch.example.org"),
        ("PUBLIC_URL", "https://"),
    ],
)
def test_each_bad_variable_is_named(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    problems = settings_problems()
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{name}: ")


def test_public_url_loses_its_trailing_slash(env: pytest.MonkeyPatch) -> None:
    env.setenv("PUBLIC_URL", " https://mw.example.org/bot/ ")
    assert load_settings(require_token=False, env_file=None).public_url == (
        "https://mw.example.org/bot"
    )
    env.setenv("PUBLIC_URL", "")
    assert load_settings(require_token=False, env_file=None).public_url is None


def test_missing_token_when_required(env: pytest.MonkeyPatch) -> None:
    problems = settings_problems(require_token=True)
    assert len(problems) == 1
    assert problems[0].startswith("DISCORD_TOKEN: ")
    # Not required: no problem.
    assert load_settings(require_token=False, env_file=None).discord_token is None


def test_blank_token_counts_as_missing(env: pytest.MonkeyPatch) -> None:
    env.setenv("DISCORD_TOKEN", "   ")
    assert settings_problems(require_token=True)[0].startswith("DISCORD_TOKEN: ")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/mw", "postgresql+asyncpg://u:p@db:5432/mw"),
        ("postgresql://u:p@db/mw", "postgresql+asyncpg://u:p@db/mw"),
        ("postgresql+asyncpg://u@db/mw", "postgresql+asyncpg://u@db/mw"),
        ("sqlite+aiosqlite:///tmp/x.db", "sqlite+aiosqlite:///tmp/x.db"),
    ],
)
def test_database_url_normalised(env: pytest.MonkeyPatch, given: str, expected: str) -> None:
    env.setenv("DATABASE_URL", given)
    assert load_settings(require_token=False, env_file=None).database_url == expected


def test_token_never_shown(env: pytest.MonkeyPatch) -> None:
    env.setenv("DISCORD_TOKEN", TOKEN)
    settings = load_settings(require_token=True, env_file=None)
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == TOKEN
    for text in (str(settings), repr(settings), settings.model_dump_json()):
        assert TOKEN not in text
        assert "secret-token" not in text


def test_token_not_shown_in_errors(env: pytest.MonkeyPatch) -> None:
    env.setenv("DISCORD_TOKEN", TOKEN)
    env.setenv("DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError) as err:
        load_settings(require_token=True, env_file=None)
    assert TOKEN not in str(err.value)


def test_env_file_is_read(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dotenv = tmp_path / "custom.env"
    dotenv.write_text(f"DISCORD_TOKEN={TOKEN}\nNEWS_POLL_SECONDS=60\n", encoding="utf-8")
    settings = load_settings(require_token=True, env_file=dotenv)
    assert isinstance(settings, Settings)
    assert settings.news_poll_seconds == 60
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == TOKEN
    # The environment wins over the file.
    env.setenv("NEWS_POLL_SECONDS", "30")
    assert load_settings(require_token=True, env_file=dotenv).news_poll_seconds == 30


def test_problems_in_two_items_are_all_reported(tmp_path: Path) -> None:
    text = agreement(key="one", timezone="Mars/Olympus") + agreement(key="two", notice=-1)
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 2, problems
    assert "items[0].timezone" in problems[0]
    assert "items[1].params.notice_period_days" in problems[1]
