"""The organisation registry: every party that may hold, request or receive data.

Shipped as package data (`data/organisations.json`); an id that is not in it is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources

from safereport.errors import UnknownOrganisation
from safereport.model import Function, Organisation, OrgKind


def org_id_from_name(name: str) -> str:
    """The contract's id rule: lower-case, drop `&`, runs of non-letters become `-`."""
    return re.sub(r"[^a-z]+", "-", name.lower().replace("&", "")).strip("-")


class Registry(Mapping[str, Organisation]):
    def __init__(self, organisations: Iterator[Organisation] | list[Organisation]) -> None:
        self._by_id = {org.id: org for org in organisations}

    def __getitem__(self, org_id: str) -> Organisation:
        return self._by_id[org_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def require(self, org_id: object, *, field: str) -> Organisation:
        """The organisation with this id, or an error naming `field`."""
        if isinstance(org_id, str) and org_id in self._by_id:
            return self._by_id[org_id]
        shown = org_id if isinstance(org_id, str) and len(org_id) <= 80 else type(org_id).__name__
        raise UnknownOrganisation(
            f"expected a known organisation id (see `safereport orgs`), got {shown!r}", field=field
        )

    def with_function(self, function: Function) -> list[Organisation]:
        return [org for org in self._by_id.values() if function in org.functions]

    def of_kind(self, kind: OrgKind) -> list[Organisation]:
        return [org for org in self._by_id.values() if org.kind is kind]


@cache
def registry() -> Registry:
    raw = json.loads(resources.files("safereport.data").joinpath("organisations.json").read_text("utf-8"))
    return Registry(
        [
            Organisation(
                id=entry["id"],
                name=entry["name"],
                kind=OrgKind(entry["kind"]),
                functions=frozenset(Function(f) for f in entry["functions"]),
            )
            for entry in raw["organisations"]
        ]
    )
