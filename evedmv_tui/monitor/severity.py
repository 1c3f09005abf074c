"""Severity of a finding, shown as a word and a glyph as well as a colour."""

from __future__ import annotations

import enum


class Severity(enum.IntEnum):
    """How bad a finding is; the value is also the report commands' exit status."""

    OK = 0
    WARNING = 1
    ERROR = 2

    @property
    def word(self) -> str:
        return _WORDS[self]

    @property
    def glyph(self) -> str:
        """A symbol that keeps its meaning without colour (``NO_COLOR``)."""
        return _GLYPHS[self]

    @property
    def label(self) -> str:
        return f"{self.glyph} {self.word}"


_WORDS = {Severity.OK: "ok", Severity.WARNING: "warn", Severity.ERROR: "error"}
_GLYPHS = {Severity.OK: "·", Severity.WARNING: "▲", Severity.ERROR: "✖"}


def classify_seconds(seconds: float, warning: float, error: float) -> Severity:
    """Classify a duration against the warning and error thresholds (seconds)."""
    if seconds > error:
        return Severity.ERROR
    if seconds > warning:
        return Severity.WARNING
    return Severity.OK


def worst(severities: list[Severity]) -> Severity:
    return max(severities, default=Severity.OK)
