"""Table-driven policy tests, like `opa test`: a directory of TOML tables, each case one question
asked of the policy set (requester, controller, capacity, category, purpose, direction, consent)
and the answer expected.

The directory may also hold `.cedar` files: a draft of the controller's local policies, loaded
beside the national baseline for every case, so a data protection officer can test a draft
before adding it. Like the engine it drives, this touches no store and no clock.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, ValidationError

from safereport.errors import BadInput, PolicyError
from safereport.model import Capacity, Category, Direction, Purpose
from safereport.orgs import registry
from safereport.policy.engine import (
    DEFAULT_DENY,
    EVALUATION_ERROR,
    LocalPolicy,
    PolicyEngine,
    load_baseline,
    policy_ids,
)

TABLE_SUFFIX = ".toml"
DRAFT_SUFFIX = ".cedar"
# Verdict markers the engine reports in place of a policy id.
MARKERS = (DEFAULT_DENY, EVALUATION_ERROR)

_Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
_OrgId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Expect(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Orgs = Annotated[list[_OrgId], Field(min_length=1)]
_Capacities = Annotated[list[Capacity], Field(min_length=1)]
_Categories = Annotated[list[Category], Field(min_length=1)]
_Purposes = Annotated[list[Purpose], Field(min_length=1)]
_Directions = Annotated[list[Direction], Field(min_length=1)]
_Consents = Annotated[list[StrictBool], Field(min_length=1)]


class _DefaultsIn(_Strict):
    requester: _Orgs | None = None
    controller: _Orgs | None = None
    capacity: _Capacities | None = None
    category: _Categories | None = None
    purpose: _Purposes | None = None
    direction: _Directions | None = None
    consent: _Consents | None = None


class _CaseIn(_Strict):
    name: _Name
    requester: _Orgs
    controller: _Orgs
    capacity: _Capacities
    category: _Categories
    purpose: _Purposes
    direction: _Directions = [Direction.INBOUND]
    consent: _Consents = [False]
    expect: Expect
    fired: list[_Name] | None = None
    fired_includes: list[_Name] | None = None
    note: str = ""


class _TableIn(_Strict):
    description: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    case: list[dict[str, Any]] = Field(min_length=1)


# The dimensions a case may give as a list, expanding to one case per combination.
_DIMENSIONS = ("requester", "controller", "capacity", "category", "purpose", "direction", "consent")


@dataclass(frozen=True, slots=True)
class PolicyCase:
    """One question put to the policy set, and the answer expected."""

    file: str
    name: str
    requester: str
    controller: str
    capacity: Capacity
    category: Category
    purpose: Purpose
    direction: Direction
    consent: bool
    expect: Expect
    # Exactly these policies decide the verdict (None: not checked).
    fired: frozenset[str] | None = None
    # At least these policies decide the verdict (None: not checked).
    fired_includes: frozenset[str] | None = None

    def describe(self) -> str:
        return (
            f"requester={self.requester} controller={self.controller} capacity={self.capacity} "
            f"category={self.category} purpose={self.purpose} direction={self.direction} "
            f"consent={str(self.consent).lower()}"
        )


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PolicyCase
    passed: bool
    allowed: bool
    fired: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class TestReport:
    """The outcome of one directory of policy tests."""

    __test__ = False  # not a pytest class

    directory: str
    files: tuple[str, ...]
    drafts: tuple[str, ...]
    results: tuple[CaseResult, ...]
    # Policies of the set (baseline and drafts) that decided no case: untested rules.
    never_fired: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "passed": self.passed,
            "total": len(self.results),
            "failed": len(self.failures),
            "files": list(self.files),
            "drafts": list(self.drafts),
            "never_fired": list(self.never_fired),
            "cases": [
                {
                    "file": r.case.file,
                    "name": r.case.name,
                    "passed": r.passed,
                    "expected": r.case.expect.value,
                    "got": "allow" if r.allowed else "deny",
                    "fired": list(r.fired),
                    "message": r.message,
                    "request": {
                        "requester": r.case.requester,
                        "controller": r.case.controller,
                        "capacity": r.case.capacity.value,
                        "category": r.case.category.value,
                        "purpose": r.case.purpose.value,
                        "direction": r.case.direction.value,
                        "consent": r.case.consent,
                    },
                }
                for r in self.results
            ],
        }


def run_policy_tests(dir: Path, *, local: Sequence[LocalPolicy] = ()) -> TestReport:
    """Run every `*.toml` table in `dir` against the national baseline, the `.cedar` drafts in
    `dir`, and those of `local` whose controller is the case's controller."""
    directory = Path(dir)
    if not directory.is_dir():
        raise BadInput(f"expected a directory of policy tests, got {_kind_of(directory)}", field=str(dir))
    tables = sorted(p for p in directory.iterdir() if p.suffix == TABLE_SUFFIX and p.is_file())
    if not tables:
        raise BadInput(
            f"expected at least one {TABLE_SUFFIX} test table in the directory, got none", field=str(dir)
        )
    drafts = _load_drafts(directory)
    known = _known_ids(drafts, local)
    cases = [case for table in tables for case in load_table(table, known_ids=known)]
    engines: dict[str, PolicyEngine] = {}
    results = []
    decided_by: set[str] = set()
    for case in cases:
        engine = engines.get(case.controller)
        if engine is None:
            engine = _engine(case.controller, drafts, local, directory)
            engines[case.controller] = engine
        result = run_case(engine, case)
        decided_by.update(result.fired)
        results.append(result)
    never = tuple(pid for pid in known if pid not in MARKERS and pid not in decided_by)
    return TestReport(
        directory=str(directory),
        files=tuple(t.name for t in tables),
        drafts=tuple(p.policy_id + DRAFT_SUFFIX for p in drafts),
        results=tuple(results),
        never_fired=never,
    )


def run_case(engine: PolicyEngine, case: PolicyCase) -> CaseResult:
    """Ask `engine` the case's question and compare with what the case expects."""
    requester = registry()[case.requester]
    verdict = engine.authorise(
        requester, case.capacity, case.category, case.purpose, case.direction, case.consent
    )
    got = Expect.ALLOW if verdict.allowed else Expect.DENY
    fired = tuple(sorted(verdict.policies))
    shown = ", ".join(fired)
    problems = []
    if got is not case.expect:
        problems.append(f"expected {case.expect}")
    if case.fired is not None and set(fired) != case.fired:
        problems.append(f"expected exactly [{', '.join(sorted(case.fired))}] to decide")
    if case.fired_includes is not None and not case.fired_includes <= set(fired):
        missing = ", ".join(sorted(case.fired_includes - set(fired)))
        problems.append(f"expected [{missing}] among the policies that decide")
    if problems:
        message = (
            f"{case.file}: {case.name}: {'; '.join(problems)}; got {got} decided by [{shown}] "
            f"for {case.describe()}"
        )
    else:
        message = f"{case.file}: {case.name}: {got} as expected, decided by [{shown}]"
    return CaseResult(case, not problems, verdict.allowed, fired, message)


def load_table(path: Path, *, known_ids: Sequence[str] | None = None) -> list[PolicyCase]:
    """The cases of one TOML table; an error names the file, the case and the field."""
    where = path.name
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"expected a readable UTF-8 TOML file, got {exc.__class__.__name__}", field=where
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"expected valid TOML, got {exc}", field=where) from None
    try:
        table = _TableIn.model_validate(document)
    except ValidationError as exc:
        field, message = _first_problem(exc, set())
        if field.startswith("case") and not message.startswith("unknown field"):
            message = "expected at least one [[case]] table, each a table of fields"
        raise BadInput(message, field=f"{where}: {field}") from None
    defaults_raw, scalar_defaults = _listify(table.defaults)
    try:
        defaults = _DefaultsIn.model_validate(defaults_raw).model_dump(exclude_none=True)
    except ValidationError as exc:
        field, message = _first_problem(exc, scalar_defaults)
        raise BadInput(message, field=f"{where}: defaults.{field}") from None
    cases: list[PolicyCase] = []
    names: set[str] = set()
    for number, raw in enumerate(table.case, start=1):
        label = _label(raw, number)
        own, scalars = _listify(raw)
        try:
            parsed = _CaseIn.model_validate({**defaults, **own})
        except ValidationError as exc:
            field, message = _first_problem(exc, scalars | (set(scalar_defaults) - set(own)))
            raise BadInput(message, field=f"{where}: {label}: {field}") from None
        for org_field in ("requester", "controller"):
            for org_id in getattr(parsed, org_field):
                registry().require(org_id, field=f"{where}: {label}: {org_field}")
        for ids_field in ("fired", "fired_includes"):
            ids = getattr(parsed, ids_field)
            if ids is not None and known_ids is not None:
                for pid in ids:
                    if pid not in known_ids:
                        raise BadInput(
                            f"expected a policy id of the policy set ({', '.join(known_ids)}), got {pid!r}",
                            field=f"{where}: {label}: {ids_field}",
                        )
        for case in _expand(parsed, where):
            if case.name in names:
                raise BadInput(
                    f"expected every case name to be unique in its file, got {case.name!r} twice",
                    field=f"{where}: {label}: name",
                )
            names.add(case.name)
            cases.append(case)
    return cases


def _expand(parsed: _CaseIn, where: str) -> Iterator[PolicyCase]:
    values = {d: list(dict.fromkeys(getattr(parsed, d))) for d in _DIMENSIONS}
    varying = [d for d in _DIMENSIONS if len(values[d]) > 1]
    for combination in product(*(values[d] for d in _DIMENSIONS)):
        chosen: Mapping[str, Any] = dict(zip(_DIMENSIONS, combination, strict=True))
        name = parsed.name
        if varying:
            name += " [" + ", ".join(f"{d}={_show(chosen[d])}" for d in varying) + "]"
        yield PolicyCase(
            file=where,
            name=name,
            requester=chosen["requester"],
            controller=chosen["controller"],
            capacity=chosen["capacity"],
            category=chosen["category"],
            purpose=chosen["purpose"],
            direction=chosen["direction"],
            consent=chosen["consent"],
            expect=parsed.expect,
            fired=frozenset(parsed.fired) if parsed.fired is not None else None,
            fired_includes=frozenset(parsed.fired_includes) if parsed.fired_includes is not None else None,
        )


def _listify(raw: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """A case's fields with every dimension as a list, and the dimensions given as one value."""
    out = dict(raw)
    scalars = set()
    for dimension in _DIMENSIONS:
        if dimension in out and not isinstance(out[dimension], list):
            out[dimension] = [out[dimension]]
            scalars.add(dimension)
    return out, scalars


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _label(raw: Any, number: int) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    if isinstance(name, str) and name:
        shown = name if len(name) <= 80 else name[:77] + "..."
        return f"case {number} ({shown})"
    return f"case {number}"


def _first_problem(exc: ValidationError, scalars: set[str]) -> tuple[str, str]:
    """(field, message) for the first problem; a value the file gave alone is not shown as a list."""
    errors = exc.errors(include_url=False)
    # A misspelt field also shows up as a missing one: name the misspelling.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = list(err["loc"])
    if len(loc) == 2 and loc[0] in scalars and loc[1] == 0:
        loc = loc[:1]
    path = ".".join(str(p) for p in loc) or "(document)"
    kind = err["type"]
    if kind == "missing":
        return path, "required field is missing"
    if kind == "extra_forbidden":
        return path, "unknown field; see docs/policy-tools.md for the fields a test table takes"
    if kind == "too_short":
        return path, "expected a value or a non-empty list, got an empty list"
    message = str(err["msg"])
    if message.startswith("Input should be "):
        message = "expected " + message[len("Input should be ") :]
    shown = err.get("input")
    if isinstance(shown, str | int | float | bool):
        return path, f"{message}, got {str(shown)[:80]!r}"
    return path, f"{message}, got a value of type {type(shown).__name__}"


def _kind_of(path: Path) -> str:
    if not path.exists():
        return "a path that does not exist"
    return "a file" if path.is_file() else "something that is not a directory"


def _load_drafts(directory: Path) -> list[LocalPolicy]:
    """The `.cedar` drafts of `directory`, each parsed and validated on its own."""
    drafts = []
    baseline = load_baseline()
    for path in sorted(p for p in directory.iterdir() if p.suffix == DRAFT_SUFFIX and p.is_file()):
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"expected a readable UTF-8 Cedar file, got {exc.__class__.__name__}", field=path.name
            ) from None
        draft = LocalPolicy("(draft)", path.stem, text)
        try:
            policy_ids(text)
            # Any organisation will do: validation does not depend on the controller.
            PolicyEngine(next(iter(registry())), [draft], baseline=baseline)
        except PolicyError as exc:
            raise BadInput(f"expected a valid local policy file: {exc.message}", field=path.name) from None
        drafts.append(draft)
    return drafts


def _known_ids(drafts: Sequence[LocalPolicy], local: Sequence[LocalPolicy]) -> tuple[str, ...]:
    ids = list(policy_ids(load_baseline().policies))
    for policy in [*drafts, *local]:
        ids.extend(pid for pid in policy_ids(policy.text) if pid not in ids)
    return (*ids, *MARKERS)


def _engine(
    controller: str, drafts: Sequence[LocalPolicy], local: Sequence[LocalPolicy], directory: Path
) -> PolicyEngine:
    own = [LocalPolicy(controller, d.policy_id, d.text) for d in drafts]
    own += [p for p in local if p.controller == controller]
    try:
        return PolicyEngine(controller, own)
    except PolicyError as exc:
        raise BadInput(
            f"expected the drafts to form one policy set with {controller}'s policies: {exc.message}",
            field=str(directory),
        ) from None
