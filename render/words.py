"""Stages, deadlines and status lines in words: each rule set's own, from the catalogs.

A rule set names the entries (tracker/rules/base.py); the words live under
``rules.<rule set>`` in the catalogs, so that nothing here knows any rule set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from i18n import has, t
from tracker.model import Assessment, Deadline, LineValue, Moment, StatusLine
from tracker.rules import RuleSet

Rules = RuleSet[Any, Any]
# How a reader writes a moment of a status line (Discord stamps, a web page's words, --check).
MomentWriter = Callable[[Moment], str]


def stage_name(language: str, rules: Rules, stage: str) -> str:
    key = rules.words("stage", stage)
    return t(language, key) if has(key) else stage


def stage_words(language: str, rules: Rules, assessment: Assessment) -> str:
    word = rules.stage_word(assessment)
    if word is None:
        return t(language, "stage.none")
    return stage_name(language, rules, word)


def deadline_name(language: str, deadline: Deadline, rules: Rules | None = None) -> str:
    """A deadline's name: its rule set's word for it, else a shared one (custom deadlines)."""
    keys = [f"deadline.{deadline.kind}"]
    if rules is not None:
        keys.insert(0, rules.words("deadline", deadline.kind))
    for key in keys:
        if has(key):
            return t(language, key)
    return deadline.kind


def deadline_meaning(language: str, deadline: Deadline, rules: Rules, **values: object) -> str:
    key = rules.words("meaning", deadline.kind)
    return t(language, key, **values) if has(key) else ""


def stage_colour(rules: Rules, assessment: Assessment) -> str:
    return rules.tone(assessment)


def shows_derived(rules: Rules, assessment: Assessment) -> bool:
    """Say "reached by the rules" unless the stage's own words already say so."""
    return (
        assessment.derived
        and assessment.stage is not None
        and rules.stage_word(assessment) == assessment.stage
    )


def _value(language: str, value: LineValue, moment: MomentWriter) -> object:
    if isinstance(value, Moment):
        return moment(value)
    if isinstance(value, Mapping):
        return value.get(language) or value.get("en") or next(iter(value.values()), "")
    return value


def line_words(
    language: str, rules: Rules, line: StatusLine, moment: MomentWriter
) -> tuple[str, str, str]:
    """A status line as (label, text, note); the note is empty where the catalog has none."""
    values = {k: _value(language, v, moment) for k, v in line.values.items()}
    base = rules.words("status", line.key)
    note_key = f"{base}_note"
    note = t(language, note_key, **values) if has(note_key) else ""
    return t(language, base), t(language, f"{base}_value", **values), note


def status_words(
    language: str, rules: Rules, assessment: Assessment, moment: MomentWriter
) -> list[tuple[StatusLine, str, str, str]]:
    return [
        (line, *line_words(language, rules, line, moment))
        for line in rules.status_lines(assessment)
    ]
