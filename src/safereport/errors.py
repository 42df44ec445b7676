"""One error family. Every error has a stable `code`, a message that says what was expected
and what was got, and (for bad input) the `field` at fault.

Messages never carry personal data: they name fields, line numbers and ids, not values
taken from records.
"""

from __future__ import annotations


class SafereportError(Exception):
    """Base of every error safereport raises on purpose."""

    code = "safereport_error"
    exit_status = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.message}"
        return self.message

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class BadInput(SafereportError):
    """The caller sent something malformed; nothing was changed or disclosed."""

    code = "bad_input"
    exit_status = 2


class UnknownOrganisation(BadInput):
    code = "unknown_organisation"


class IngestError(BadInput):
    """A line of an ingest file is malformed; the whole file was rejected."""

    code = "ingest_error"

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.line = line

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return where + super().__str__()

    def as_dict(self) -> dict[str, str | None]:
        out = super().as_dict()
        out["line"] = str(self.line) if self.line is not None else None
        return out


class ProvenanceError(IngestError):
    """A `derived_from` chain is broken: a cycle or a reference to a record nobody holds."""

    code = "provenance_error"


class ConsentError(BadInput):
    code = "consent_error"


class PolicyError(SafereportError):
    """A policy set could not be loaded, or failed its checks; nothing is decided with it."""

    code = "policy_error"


class LocalPolicyRejected(PolicyError):
    """A local policy would weaken the national baseline."""

    code = "local_policy_rejected"
    exit_status = 2


class StoreError(SafereportError):
    """The store is missing, unreachable or at an unexpected schema version."""

    code = "store_error"


class AuditError(SafereportError):
    """The audit log could not be written, or does not verify."""

    code = "audit_error"


class ConfigError(SafereportError):
    code = "config_error"
    exit_status = 2


class PolicyUnproven(PolicyError):
    """A policy set has no proof of the firewall property for its hashes; it may not decide."""

    code = "policy_unproven"


class NotAuthenticated(SafereportError):
    """No API key, or a key that is unknown or revoked. Says nothing about which."""

    code = "not_authenticated"


class NotPermitted(SafereportError):
    """The caller's organisation or role may not do this."""

    code = "not_permitted"


class RateLimited(SafereportError):
    code = "rate_limited"
