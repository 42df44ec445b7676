"""Cleaning free text before it leaves: sentences that reveal immigration status or nationality go."""

from safereport.redact.narrative import CleanedNarrative, Removal, clean_narrative

__all__ = ["CleanedNarrative", "Removal", "clean_narrative"]
