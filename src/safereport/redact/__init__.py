"""Minimising free text before it leaves: immigration information goes (by sentence, mask or
tag), other people's identifiers are masked with consistent placeholders.

Importing this package is cheap; Presidio and spaCy load on the first `analyse` or
`minimise`.
"""

from safereport.redact.analysis import analyse
from safereport.redact.findings import (
    IDENTIFIER_CATEGORIES,
    IMMIGRATION_CATEGORIES,
    Finding,
    Minimised,
    Mode,
    Removal,
)
from safereport.redact.minimise import MinimisationError, minimise
from safereport.redact.narrative import CleanedNarrative, clean_narrative

__all__ = [
    "IDENTIFIER_CATEGORIES",
    "IMMIGRATION_CATEGORIES",
    "CleanedNarrative",
    "Finding",
    "MinimisationError",
    "Minimised",
    "Mode",
    "Removal",
    "analyse",
    "clean_narrative",
    "minimise",
]
