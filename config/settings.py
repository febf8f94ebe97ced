"""The one settings object (SPEC §6), from the environment and ``.env``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.errors import ConfigError
from config.shards import Shards, parse_shard_ids

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/motionwatch.db"
DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_NA_OPEN_API_BASE = "https://open.assembly.go.kr/portal/openapi"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def normalize_database_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean asyncpg (SPEC §6); other URLs pass as they are."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
    )

    discord_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    discord_api_base: str = DEFAULT_API_BASE
    discord_gateway_url: str | None = None
    tracker_config: Path = Path("config/tracker.toml")
    news_poll_seconds: int = Field(default=900, ge=1)
    allow_private_sources: bool = False
    dev_guild_id: int | None = Field(default=None, gt=0)
    log_level: LogLevel = "INFO"
    # Several processes on one database (SPEC §6). shard_count comes first: the check
    # of shard_ids reads it. NoDecode: "0,1" is not JSON, and is parsed below.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    # The web pages and calendars (SPEC §8); unset: off. PORT, as platforms set it, is read
    # when WEB_PORT is not given (load_settings).
    web_port: int | None = Field(default=None, ge=1, le=65535)
    # Where people reach the web server, for links the bot gives in Discord (SPEC §6, §8).
    public_url: str | None = None
    # The National Assembly's Open API (SPEC §9); no key: not polled.
    na_open_api_key: SecretStr | None = None
    na_open_api_base: str = DEFAULT_NA_OPEN_API_BASE
    na_poll_seconds: int = Field(default=900, ge=1)

    @property
    def shards(self) -> Shards:
        """This process's shards; `Shards.ALL` when neither setting is given."""
        return Shards.of(self.shard_count, self.shard_ids)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = normalize_database_url(value.strip())
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be sqlite+aiosqlite://… or postgresql+asyncpg:// (postgres:// and "
                "postgresql:// are read as asyncpg)"
            )
        return value

    @field_validator("discord_api_base", "discord_gateway_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return value

    @field_validator("na_poll_seconds", mode="before")
    @classmethod
    def _blank_is_default_poll(cls, value: object) -> object:
        return 900 if isinstance(value, str) and not value.strip() else value

    @field_validator("na_open_api_base", mode="before")
    @classmethod
    def _blank_is_default_base(cls, value: object) -> object:
        return DEFAULT_NA_OPEN_API_BASE if isinstance(value, str) and not value.strip() else value

    @field_validator("na_open_api_base")
    @classmethod
    def _na_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s):// URL, e.g. " + DEFAULT_NA_OPEN_API_BASE)
        if parts.query or parts.fragment or any(c.isspace() for c in value):
            # The key is added as a query parameter: a base must not carry one of its own.
            raise ValueError("must be a plain http(s):// URL without a query, fragment or spaces")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s):// URL, e.g. https://motionwatch.example.org")
        if parts.query or parts.fragment or any(c.isspace() for c in value):
            raise ValueError("must be a plain http(s):// URL without a query, fragment or spaces")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("shard_count", "dev_guild_id", "web_port", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # As in .env.example, where every variable is listed and the unused ones are blank.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: object) -> object:
        return parse_shard_ids(value) if isinstance(value, str) else value

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids_fit(
        cls, value: tuple[int, ...] | None, info: ValidationInfo
    ) -> tuple[int, ...] | None:
        if "shard_count" in info.data:  # absent when SHARD_COUNT is itself reported as bad
            Shards.of(info.data["shard_count"], value)
        return value

    @field_validator("discord_token", "na_open_api_key")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value


def load_settings(*, require_token: bool, env_file: Path | None = Path(".env")) -> Settings:
    """Read and validate the settings, or raise ConfigError with a line per bad variable."""
    problems: list[str] = []
    settings: Settings | None = None
    fallback = _port_fallback(env_file)
    try:
        settings = Settings(_env_file=env_file, **cast(dict[str, Any], fallback))
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "SETTINGS"
            if name == "WEB_PORT" and fallback:
                name = "PORT"  # the value came from PORT: name the variable the user set
            given = error.get("input")
            shown = f" (got {given!r})" if isinstance(given, str | int) else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}{shown}")
    if require_token and not _token_given(settings, env_file):
        problems.append(
            "DISCORD_TOKEN: required to connect to Discord; set it in the environment or in .env "
            "(python bot.py --demo runs without one)"
        )
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


def _port_fallback(env_file: Path | None) -> dict[str, str]:
    """PORT stands in for WEB_PORT when WEB_PORT is not given (blank counts as not given)."""
    file_values = dotenv_values(env_file) if env_file and env_file.exists() else {}
    for name in ("WEB_PORT", "web_port"):
        if (os.environ.get(name) or file_values.get(name) or "").strip():
            return {}
    port = os.environ.get("PORT") or file_values.get("PORT") or ""
    return {"web_port": port} if port.strip() else {}


def _token_given(settings: Settings | None, env_file: Path | None) -> bool:
    if settings is not None:
        return settings.discord_token is not None
    # The other settings failed to validate; still say whether the token is missing too.
    file_values = dotenv_values(env_file) if env_file and env_file.exists() else {}
    value = os.environ.get("DISCORD_TOKEN") or file_values.get("DISCORD_TOKEN") or ""
    return bool(value.strip())
