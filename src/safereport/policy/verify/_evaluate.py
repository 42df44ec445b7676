"""Evaluate Z3 terms on concrete requests, fast, without the solver.

The very terms the solver proves things about are translated, node by node, into one Python
function, so that the differential check compares the proof's model of Cedar (and not a
second, hand-written model) with cedarpy on every request of the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import z3

from safereport.policy.verify._domain import Z3_LOCK

Evaluator = Callable[[Sequence[int | bool]], tuple[int | bool, ...]]

_NARY = {z3.Z3_OP_AND: " and ", z3.Z3_OP_OR: " or "}
_BINARY = {z3.Z3_OP_EQ: "==", z3.Z3_OP_ULT: "<", z3.Z3_OP_ULEQ: "<=", z3.Z3_OP_IFF: "=="}


def compile_terms(variables: Sequence[z3.ExprRef], terms: Sequence[z3.ExprRef]) -> Evaluator:
    """A function from values of `variables` (in order) to the values of `terms`.

    Booleans evaluate to bool, bit-vectors to int. Only the operators the compiler emits are
    accepted; any other raises ValueError rather than being guessed at.
    """
    with Z3_LOCK:
        names: dict[int, str] = {v.get_id(): f"v[{i}]" for i, v in enumerate(variables)}
        lines: list[str] = []

        def emit(e: z3.ExprRef) -> str:
            key = e.get_id()
            found = names.get(key)
            if found is not None:
                return found
            kind = e.decl().kind()
            if z3.is_true(e):
                code = "True"
            elif z3.is_false(e):
                code = "False"
            elif z3.is_bv_value(e):
                code = str(e.as_long())
            elif kind in _NARY:
                code = "(" + _NARY[kind].join(emit(c) for c in e.children()) + ")"
            elif kind == z3.Z3_OP_NOT:
                code = f"(not {emit(e.arg(0))})"
            elif kind in _BINARY:
                code = f"({emit(e.arg(0))} {_BINARY[kind]} {emit(e.arg(1))})"
            elif kind == z3.Z3_OP_IMPLIES:
                code = f"((not {emit(e.arg(0))}) or {emit(e.arg(1))})"
            elif kind == z3.Z3_OP_ITE:
                code = f"({emit(e.arg(1))} if {emit(e.arg(0))} else {emit(e.arg(2))})"
            elif kind == z3.Z3_OP_UNINTERPRETED and e.num_args() == 0:
                raise ValueError(f"the term mentions {e}, which is not one of the request's variables")
            else:
                raise ValueError(f"cannot evaluate the operator {e.decl().name()}")
            name = f"t{len(lines)}"
            lines.append(f"    {name} = {code}")
            names[key] = name
            return name

        results = [emit(t) for t in terms]
    body = "\n".join(lines) or "    pass"
    source = f"def evaluate(v):\n{body}\n    return ({', '.join(results)},)\n"
    namespace: dict[str, object] = {}
    exec(compile(source, "<verify-evaluator>", "exec"), namespace)
    evaluate = namespace["evaluate"]
    assert callable(evaluate)
    return evaluate
