"""Stages and deadlines in words, by rule set."""

from __future__ import annotations

from i18n import has, t
from tracker.model import Assessment, Deadline


def stage_words(language: str, kind: str, assessment: Assessment) -> str:
    stage = assessment.stage
    if stage is None:
        return t(language, "stage.none")
    if assessment.facts.get("deemed_discarded"):
        return t(language, "stage.motion.deemed_discarded")
    key = f"stage.{kind}.{stage}"
    return t(language, key) if has(key) else stage


def stage_name(language: str, kind: str, stage: str) -> str:
    key = f"stage.{kind}.{stage}"
    return t(language, key) if has(key) else stage


def deadline_name(language: str, deadline: Deadline) -> str:
    key = f"deadline.{deadline.kind}"
    return t(language, key) if has(key) else deadline.kind


def stage_colour(kind: str, assessment: Assessment) -> str:
    stage = assessment.stage or ""
    if stage in {"terminated", "passed"} or assessment.facts.get("deemed_discarded"):
        return "alert"
    if stage in {"termination_notified", "reported", "submitted"}:
        return "warn"
    if stage in {"shelved", "withdrawn", "rejected", "discarded"}:
        return "muted"
    if stage in {"in_force", "notice_withdrawn", "notice_suspended"}:
        return "ok"
    return "info"
