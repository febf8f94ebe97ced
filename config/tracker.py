"""Reading ``config/tracker.toml`` and the seed histories it names into ItemSpecs.

Every problem found is reported, each as ``file: key.path: what is wrong``, so
that one run of ``--check`` lists everything to fix.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.errors import ConfigError, location
from tracker.items import ItemSpec, SeedEvent, SourceSpec
from tracker.model import EventFact, StageChangeError
from tracker.rules import get_rule_set, rule_set_names
from tracker.when import WhenError, parse_when

KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
SUMMARY_LIMIT = 1000


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
        raise ValueError(f"'{value}' is not an http(s) URL")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Names(_Strict):
    en: str = Field(min_length=1, max_length=100)
    ko: str = Field(min_length=1, max_length=100)


class Keywords(_Strict):
    en: list[str] = Field(default_factory=list)
    ko: list[str] = Field(default_factory=list)


class SourceConfig(_Strict):
    name: str = Field(min_length=1, max_length=100)
    url: str

    _url = field_validator("url")(_http_url)


class ItemConfig(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: Names
    kind: str = Field(min_length=1, max_length=16)
    rule_set: str
    timezone: str
    params: dict[str, Any] = Field(default_factory=dict)
    keywords: Keywords = Field(default_factory=Keywords)
    sources: list[SourceConfig] = Field(default_factory=list)
    seed: str | None = None
    # The bill the item follows in the Assembly's Open API (SPEC §9), e.g. "2200123".
    bill_no: str | None = Field(default=None, pattern=r"^[0-9A-Za-z-]{1,20}$")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone '{value}'") from None
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        # The kinds are those the rule sets declare: a new rule set brings its own.
        kinds = sorted({get_rule_set(name).kind for name in rule_set_names()})
        if value not in kinds:
            raise ValueError(f"unknown kind '{value}' (known: {', '.join(kinds)})")
        return value

    @field_validator("rule_set")
    @classmethod
    def _rule_set(cls, value: str) -> str:
        try:
            get_rule_set(value)
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None
        return value


class TrackerFile(_Strict):
    # Items stay raw here and are validated one by one, so that a problem in one
    # does not hide the problems of another.
    items: list[dict[str, Any]] = Field(min_length=1)


class SeedEventConfig(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,95}$")
    when: str
    stage: str | None = None
    summary_en: str = Field(min_length=1, max_length=SUMMARY_LIMIT)
    summary_ko: str = Field(min_length=1, max_length=SUMMARY_LIMIT)
    source_name: str = Field(min_length=1, max_length=200)
    source_url: str
    status: Literal["verified", "likely"]

    _url = field_validator("source_url")(_http_url)


class SeedFile(_Strict):
    event: list[SeedEventConfig] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    path: Path
    items: tuple[ItemSpec, ...]

    def item(self, key: str) -> ItemSpec | None:
        return next((i for i in self.items if i.key == key), None)

    def without_sources(self) -> TrackerConfig:
        """The same items with no configured feeds (the demo and tests poll their own)."""
        return replace(self, items=tuple(replace(i, sources=()) for i in self.items))


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{label}: file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{label}: not valid TOML: {exc}"]) from None


def _pydantic_problems(label: str, exc: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for error in exc.errors():
        where = location(error["loc"])
        where = f"{prefix}.{where}" if prefix and where else prefix or where
        message = str(error["msg"]).removeprefix("Value error, ")
        out.append(f"{label}: {where}: {message}")
    return out


def load_tracker(path: Path) -> TrackerConfig:
    """Read the tracker file and its seeds; raise ConfigError listing every problem."""
    label = str(path)
    raw = _read_toml(path, label)
    try:
        parsed = TrackerFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_pydantic_problems(label, exc)) from None

    problems: list[str] = []
    items: list[ItemSpec] = []
    seen: set[str] = set()
    for index, raw_item in enumerate(parsed.items):
        try:
            item = ItemConfig.model_validate(raw_item)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(label, exc, f"items[{index}]"))
            continue
        where = f"items[{index}]"
        if item.key in seen:
            problems.append(f"{label}: {where}.key: '{item.key}' is used by an earlier item")
        seen.add(item.key)
        spec = _build_item(path, item, where, problems)
        if spec is not None:
            items.append(spec)
    if problems:
        raise ConfigError(problems)
    return TrackerConfig(path=path, items=tuple(items))


def _build_item(path: Path, item: ItemConfig, where: str, problems: list[str]) -> ItemSpec | None:
    label = str(path)
    rules_cls = get_rule_set(item.rule_set)
    if rules_cls.kind != item.kind:
        problems.append(
            f"{label}: {where}.rule_set: '{item.rule_set}' governs items of kind "
            f"'{rules_cls.kind}', not '{item.kind}'"
        )
        return None
    try:
        params = rules_cls.parse_params(item.params)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(label, exc, f"{where}.params"))
        return None
    tz = ZoneInfo(item.timezone)
    rules = rules_cls(params, tz)
    seed: tuple[SeedEvent, ...] = ()
    if item.seed is not None:
        seed = _load_seed(path.parent / item.seed, rules_cls.stages, tz, problems)
        facts = [EventFact(e.occurred_at, e.stage, e.precision, n) for n, e in enumerate(seed)]
        try:
            rules.validate(facts)
        except StageChangeError as exc:
            problems.append(f"{path.parent / item.seed}: event[{exc.order}].{exc}")
    return ItemSpec(
        key=item.key,
        name_en=item.name.en,
        name_ko=item.name.ko,
        kind=item.kind,
        rules=rules,
        timezone=tz,
        keywords_en=tuple(item.keywords.en),
        keywords_ko=tuple(item.keywords.ko),
        sources=tuple(SourceSpec(s.name, s.url) for s in item.sources),
        seed=seed,
        bill_no=item.bill_no,
    )


def _load_seed(
    path: Path, stages: tuple[str, ...], tz: ZoneInfo, problems: list[str]
) -> tuple[SeedEvent, ...]:
    label = str(path)
    try:
        parsed = SeedFile.model_validate(_read_toml(path, label))
    except ConfigError as exc:
        problems.extend(exc.problems)
        return ()
    except ValidationError as exc:
        problems.extend(_pydantic_problems(label, exc))
        return ()
    out: list[SeedEvent] = []
    keys: set[str] = set()
    for index, ev in enumerate(parsed.event):
        where = f"event[{index}]"
        if ev.key in keys:
            problems.append(f"{label}: {where}.key: '{ev.key}' is used by an earlier event")
        keys.add(ev.key)
        if ev.stage is not None and ev.stage not in stages:
            problems.append(f"{label}: {where}.stage: '{ev.stage}' is not one of {list(stages)}")
            continue
        if ev.status == "likely" and not _says_likely(ev.summary_en, ev.summary_ko):
            problems.append(
                f"{label}: {where}.summary_en: a LIKELY fact must say so in its summary "
                "('Likely' in English and '추정' in Korean)"
            )
        try:
            occurred_at, precision = parse_when(ev.when, tz)
        except WhenError as exc:
            problems.append(f"{label}: {where}.when: {exc}")
            continue
        out.append(
            SeedEvent(
                key=ev.key,
                occurred_at=occurred_at,
                precision=precision,
                summary_en=ev.summary_en,
                summary_ko=ev.summary_ko,
                source_name=ev.source_name,
                source_url=ev.source_url,
                stage=ev.stage,
                likely=ev.status == "likely",
            )
        )
    return tuple(out)


def _says_likely(summary_en: str, summary_ko: str) -> bool:
    return "likely" in summary_en.lower() and "추정" in summary_ko
