"""Audit: the entry format with keyed subject hashes, and the tamper-evident log."""

from safereport.audit.entry import AuditEntry, person_key, query_key, request_digest
from safereport.audit.log import AuditLog, AuditReport

__all__ = ["AuditEntry", "AuditLog", "AuditReport", "person_key", "query_key", "request_digest"]
