"""Words for the pages: the vocabularies as a reader would say them, and value formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from safereport.orgs import registry

PURPOSES = {
    "immigration_enforcement": "Immigration enforcement",
    "criminal_investigation": "Criminal investigation",
    "prosecution": "Prosecution",
    "safeguarding": "Safeguarding",
    "victim_immigration_application": "A victim's immigration application",
    "benefits_administration": "Benefits administration",
    "tax_administration": "Tax administration",
    "healthcare": "Healthcare",
    "other": "Other",
}

FUNCTIONS = {
    "immigration_enforcement": "Immigration enforcement",
    "immigration_casework": "Immigration casework",
    "policing": "Policing",
    "prosecution": "Prosecution",
    "courts": "Courts",
    "safeguarding": "Safeguarding",
    "healthcare": "Healthcare",
    "benefits": "Benefits",
    "tax": "Tax",
    "education": "Education",
    "unregistered": "Unregistered body",
}

CATEGORIES = {
    "identity": "identity (name, date of birth)",
    "contact": "contact details",
    "nationality": "nationality",
    "immigration_status": "immigration status",
    "health": "health",
    "narrative": "the written account",
}

DECISIONS = {"permit": "Permitted", "deny": "Refused"}

TOTALS = {
    "requests": "Requests and checks decided",
    "permitted": "Permitted (something disclosed)",
    "refused": "Refused (nothing disclosed)",
    "immigration_enforcement_attempts": "Immigration-enforcement attempts",
    "immigration_enforcement_refused": "Immigration-enforcement attempts refused",
    "outbound_checks": "Outbound checks",
    "outbound_refused": "Outbound checks refused",
    "impersonations_refused": "Refused because the caller spoke for another body",
}

KINDS = {
    "police_force": "Police force",
    "prosecutor": "Prosecutor",
    "courts": "Courts",
    "home_office": "Home Office",
    "government_department": "Government department",
    "local_authority": "Local authority",
    "gp_practice": "GP practice",
    "nhs_trust": "NHS trust",
    "school": "School",
}


def _say(table: dict[str, str], value: str) -> str:
    return table.get(value, value.replace("_", " "))


def purpose(value: str) -> str:
    return _say(PURPOSES, value)


def function(value: str) -> str:
    return " and ".join(_say(FUNCTIONS, part) for part in value.split("+"))


def category(value: str) -> str:
    return _say(CATEGORIES, value)


def decision(value: str) -> str:
    return _say(DECISIONS, value)


def total(value: str) -> str:
    return _say(TOTALS, value)


def kind(value: str) -> str:
    return _say(KINDS, value)


def org_name(org_id: str) -> str:
    org = registry().get(org_id)
    return org.name if org else org_id


def count(value: int | str) -> str:
    """A published count: digits grouped by commas, or the suppression wording as it is."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def short_hash(value: str | None) -> str:
    return value[:12] if value else "none"
