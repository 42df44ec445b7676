"""What the minimiser writes in place of what it removes, and how it reads its own output.

Identifiers become numbered placeholders ("[person 1]", "[phone 2]"); immigration spans become
"[removed]" (mask mode) or their category ("[immigration status]", tag mode).

Before text is analysed, the placeholders it already holds are replaced by a run of `WALL`
characters of the same length (so offsets stay put). No recogniser matches a wall, and a wall
is neither a word character nor white space, so nothing matches across one either: minimising
the minimiser's output finds nothing new.
"""

from __future__ import annotations

import re

from safereport.redact.findings import IMMIGRATION_PRIORITY

__all__ = [
    "ANY_PLACEHOLDER",
    "IDENTIFIER_LABELS",
    "IDENTIFIER_PLACEHOLDER",
    "IMMIGRATION_TAGS",
    "MASK",
    "WALL",
    "wall",
]

WALL = "\ufffc"  # OBJECT REPLACEMENT CHARACTER
MASK = "[removed]"
IMMIGRATION_TAGS: dict[str, str] = {c: "[" + c.replace("_", " ") + "]" for c in IMMIGRATION_PRIORITY}
IDENTIFIER_LABELS: dict[str, str] = {
    "person": "person",
    "address": "address",
    "phone": "phone",
    "email": "email",
    "document_number": "document",
    "date_of_birth": "date of birth",
}

_IDENTIFIER = r"\[(?:" + "|".join(IDENTIFIER_LABELS.values()) + r") \d+\]"
_IMMIGRATION = r"\[(?:" + "|".join(t[1:-1] for t in [MASK, *IMMIGRATION_TAGS.values()]) + r")\]"

IDENTIFIER_PLACEHOLDER = re.compile(_IDENTIFIER)
IMMIGRATION_PLACEHOLDER = re.compile(_IMMIGRATION)
ANY_PLACEHOLDER = re.compile(f"{_IDENTIFIER}|{_IMMIGRATION}")


def _walled(m: re.Match[str]) -> str:
    return WALL * (m.end() - m.start())


def wall(text: str, placeholders: re.Pattern[str]) -> str:
    """`text` with every match of `placeholders` turned into walls of the same length."""
    if "[" not in text:
        return text
    return placeholders.sub(_walled, text)
