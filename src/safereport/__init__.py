"""safereport: a data-sharing firewall for public services.

Personal data that a public service collected about a person as a victim, witness, reporter,
patient, pupil or service user is never disclosed for immigration enforcement; every decision
is logged, tamper-evidently, before it is answered.
"""

from safereport.audit import AuditReport
from safereport.config import Settings, load_settings
from safereport.errors import (
    AuditError,
    BadInput,
    ConfigError,
    ConsentError,
    IngestError,
    LocalPolicyRejected,
    PolicyError,
    ProvenanceError,
    SafereportError,
    StoreError,
    UnknownOrganisation,
)
from safereport.firewall import Firewall, IngestReport
from safereport.model import (
    Capacity,
    Category,
    Consent,
    Decision,
    Direction,
    DisclosedItem,
    DisclosureRequest,
    Explanation,
    Function,
    Organisation,
    Person,
    Purpose,
    Receipt,
    Record,
    Response,
    SubjectById,
    SubjectByName,
)
from safereport.policy import LocalPolicy
from safereport.wire import parse_consent, parse_record, parse_request, response_to_json

__version__ = "0.1.0"

__all__ = [
    "AuditError",
    "AuditReport",
    "BadInput",
    "Capacity",
    "Category",
    "ConfigError",
    "Consent",
    "ConsentError",
    "Decision",
    "Direction",
    "DisclosedItem",
    "DisclosureRequest",
    "Explanation",
    "Firewall",
    "Function",
    "IngestError",
    "IngestReport",
    "LocalPolicy",
    "LocalPolicyRejected",
    "Organisation",
    "Person",
    "PolicyError",
    "ProvenanceError",
    "Purpose",
    "Receipt",
    "Record",
    "Response",
    "SafereportError",
    "Settings",
    "StoreError",
    "SubjectById",
    "SubjectByName",
    "UnknownOrganisation",
    "__version__",
    "load_settings",
    "parse_consent",
    "parse_record",
    "parse_request",
    "response_to_json",
]
