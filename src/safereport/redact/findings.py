"""The values the minimiser works with: findings, removals, modes and results.

Plain data, importable without Presidio: a `Finding` or a `Removal` carries a category and
offsets, never the words it stands for.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "IDENTIFIER_CATEGORIES",
    "IMMIGRATION_CATEGORIES",
    "IMMIGRATION_PRIORITY",
    "Finding",
    "Minimised",
    "Mode",
    "Removal",
]

# From most to least specific: where findings of several immigration categories overlap, or one
# sentence holds several, the first of these names the removal.
IMMIGRATION_PRIORITY: tuple[str, ...] = (
    "threat_to_report",
    "document_control",
    "public_funds",
    "immigration_status",
    "nationality",
)
IMMIGRATION_CATEGORIES: frozenset[str] = frozenset(IMMIGRATION_PRIORITY)
IDENTIFIER_CATEGORIES: frozenset[str] = frozenset(
    {"person", "address", "phone", "email", "document_number", "date_of_birth"}
)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a recogniser found: its category, where it is, which recogniser, how sure."""

    category: str
    start: int
    end: int
    recogniser: str
    score: float


class Mode(enum.StrEnum):
    """What happens to immigration information (identifiers are masked in every mode)."""

    SENTENCE = "sentence"  # the whole sentence goes
    MASK = "mask"  # the span becomes "[removed]"
    TAG = "tag"  # the span becomes its category, e.g. "[immigration status]"


@dataclass(frozen=True, slots=True)
class Removal:
    """One thing that did not leave: where it was in the original text, why, and how it went.

    `action` is "sentence" (the sentence was removed), "mask" (the span was replaced by a
    fixed mask or an identifier placeholder) or "tag" (the span was replaced by its category).
    """

    start: int
    end: int
    category: str
    action: str = "sentence"

    @property
    def reason(self) -> str:
        """The category, under the name the first-pass cleaner used."""
        return self.category


@dataclass(frozen=True, slots=True)
class Minimised:
    text: str
    removals: tuple[Removal, ...]
