"""The firewall property, written once, from the contract (§5) and docs/design.md, not from the
policies it is checked against.

A datum is protected unless it was collected about a suspect or an offender (`reporter` and
any capacity added later are protected). Then:

1. firewall-immigration: a protected datum is denied to any organisation with the
   `immigration_enforcement` or `immigration_casework` function, and to anyone for the
   `immigration_enforcement` purpose, unless the subject's consent covers it;
2. firewall-status-nationality: a protected datum of category `immigration_status` or
   `nationality` is denied to everyone unless the subject's consent covers it.

Each is a condition under which the decision must be deny, stated over the symbolic request
(`RequestTerms`), whoever the requester is (any kind, any functions) and whatever the
controller, purpose or direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3

from safereport.model import Capacity, Category, Function, Purpose
from safereport.policy.verify._domain import RequestTerms, and_, not_, or_

UNPROTECTED = frozenset({Capacity.SUSPECT, Capacity.OFFENDER})
IMMIGRATION_FUNCTIONS = frozenset({Function.IMMIGRATION_ENFORCEMENT, Function.IMMIGRATION_CASEWORK})
IMMIGRATION_PURPOSES = frozenset({Purpose.IMMIGRATION_ENFORCEMENT})
STATUS_CATEGORIES = frozenset({Category.IMMIGRATION_STATUS, Category.NATIONALITY})


@dataclass(frozen=True, slots=True)
class FirewallProperty:
    id: str
    statement: str
    must_deny: Callable[[RequestTerms], z3.BoolRef]


def protected(r: RequestTerms) -> z3.BoolRef:
    return not_(r.capacity_in(UNPROTECTED))


def _immigration(r: RequestTerms) -> z3.BoolRef:
    immigration_body = or_(*(r.principal_has_function(f) for f in sorted(IMMIGRATION_FUNCTIONS)))
    return and_(protected(r), or_(immigration_body, r.purpose_in(IMMIGRATION_PURPOSES)), not_(r.consent))


def _status(r: RequestTerms) -> z3.BoolRef:
    return and_(protected(r), r.category_in(STATUS_CATEGORIES), not_(r.consent))


PROPERTIES: tuple[FirewallProperty, ...] = (
    FirewallProperty(
        "firewall-immigration",
        "no datum collected in a protected capacity (any but suspect and offender) is permitted to "
        "an organisation with an immigration_enforcement or immigration_casework function, or to "
        "anyone for the immigration_enforcement purpose, without the subject's consent",
        _immigration,
    ),
    FirewallProperty(
        "firewall-status-nationality",
        "no immigration_status or nationality datum collected in a protected capacity is "
        "permitted to anyone without the subject's consent",
        _status,
    ),
)
