"""Cedar conditions in plain words, for `policy explain`.

Works on the JSON syntax tree that `cedarpy.policies_to_json_str` gives. The constructs the
policies use are phrased for a reader who does not know Cedar; anything else is shown as its
Cedar text, so nothing is ever paraphrased wrongly.
"""

from __future__ import annotations

import json
from typing import Any

import cedarpy

# Attribute paths, from the request's variables, as a data protection officer would say them.
_PATHS: dict[tuple[str, ...], str] = {
    ("principal",): "the requester",
    ("principal", "functions"): "the requester's functions",
    ("principal", "kind"): "the requester's kind",
    ("resource",): "the datum",
    ("resource", "capacity"): "the capacity the datum was collected in",
    ("resource", "category"): "the datum's category",
    ("resource", "controller"): "the controller",
    ("resource", "controller", "kind"): "the controller's kind",
    ("resource", "controller", "functions"): "the controller's functions",
    ("context",): "the request",
    ("context", "purpose"): "the stated purpose",
    ("context", "direction"): "the direction",
    ("context", "consent"): "the subject's consent covers this datum",
    ("action",): "the action",
}

_COMPARISONS = {
    "==": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
    "in": "is in",
}


def _path(node: dict[str, Any]) -> tuple[str, ...] | None:
    """(`principal`, `functions`) for `principal.functions`; None if `node` is no such chain."""
    if "Var" in node:
        return (str(node["Var"]),)
    if "." in node:
        base = _path(node["."]["left"])
        return None if base is None else (*base, str(node["."]["attr"]))
    return None


def _path_words(path: tuple[str, ...]) -> str:
    if path in _PATHS:
        return _PATHS[path]
    owner = _path_words(path[:-1]) if len(path) > 1 else path[0]
    return f"{owner}'s {path[-1].replace('_', ' ')}"


def _value_words(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and "__entity" in value:
        return str(value["__entity"]["id"])
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value)


def _one_of(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return "one of " + ", ".join(items)


def _set_items(node: dict[str, Any]) -> list[str] | None:
    if "Set" not in node:
        return None
    return [noun(item) for item in node["Set"]]


def noun(node: dict[str, Any]) -> str:
    """A value expression as a noun phrase."""
    path = _path(node)
    if path is not None:
        return _path_words(path)
    if "Value" in node:
        return _value_words(node["Value"])
    items = _set_items(node)
    if items is not None:
        return "{" + ", ".join(items) + "}"
    return cedar_text(node)


def words(node: dict[str, Any]) -> str:
    """A condition (a boolean expression that is not `&&`, `||` or `!`) in plain words."""
    path = _path(node)
    if path is not None:
        phrase = _path_words(path)
        return phrase if path in _PATHS and path[-1] == "consent" else f"{phrase} is true"
    if "Value" in node and isinstance(node["Value"], bool):
        return "always" if node["Value"] else "never"
    for op, verb in _COMPARISONS.items():
        if op in node:
            left, right = node[op]["left"], node[op]["right"]
            if op == "in":
                items = _set_items(right)
                if items is not None:
                    return f"{noun(left)} is in {_one_of(items)}"
            return f"{noun(left)} {verb} {noun(right)}"
    if "contains" in node:
        left, right = node["contains"]["left"], node["contains"]["right"]
        items = _set_items(left)
        if items is not None:
            return f"{noun(right)} is {_one_of(items)}"
        left_path = _path(left)
        if left_path is not None and left_path[-1] == "functions" and len(left_path) > 1:
            return f"{_path_words(left_path[:-1])} has the function {noun(right)}"
        return f"{noun(left)} include {noun(right)}"
    for op, quantifier in (("containsAll", "all"), ("containsAny", "any")):
        if op in node:
            left, right = node[op]["left"], node[op]["right"]
            return f"{noun(left)} include {quantifier} of {noun(right)}"
    if "has" in node:
        return f"{noun(node['has']['left'])} has an attribute {node['has']['attr']}"
    if "is" in node:
        return f"{noun(node['is']['left'])} is a {node['is']['entity_type']}"
    return cedar_text(node)


def cedar_text(node: dict[str, Any]) -> str:
    """The Cedar source of one expression, for what has no plain-word phrasing."""
    policy = {
        "effect": "permit",
        "principal": {"op": "All"},
        "action": {"op": "All"},
        "resource": {"op": "All"},
        "conditions": [{"kind": "when", "body": node}],
    }
    document = {"staticPolicies": {"p": policy}, "templates": {}, "templateLinks": []}
    text = str(cedarpy.policies_from_json_str(json.dumps(document)))
    start, end = text.find("when {"), text.rfind("}")
    if start < 0 or end <= start:
        return "(Cedar) " + text
    return "(Cedar) " + text[start + len("when {") : end].strip()


def scope_words(scope: dict[str, dict[str, Any]]) -> str:
    """A policy's scope (principal, action, resource) in plain words."""
    subjects = {"principal": "the requester", "action": "the action", "resource": "the datum"}
    parts = []
    for key, subject in subjects.items():
        constraint = scope[key]
        op = constraint.get("op")
        if op == "All":
            continue
        if op == "==" and "entity" in constraint:
            parts.append(f"{subject} is {constraint['entity']['id']}")
        elif op == "in" and "entities" in constraint:
            parts.append(f"{subject} is {_one_of([str(e['id']) for e in constraint['entities']])}")
        elif op == "in" and "entity" in constraint:
            parts.append(f"{subject} is in {constraint['entity']['id']}")
        elif op == "is":
            where = f" in {constraint['in']['entity']['id']}" if "in" in constraint else ""
            parts.append(f"{subject} is a {constraint['entity_type']}{where}")
        else:
            parts.append(f"{subject}: {json.dumps(constraint)}")
    return " and ".join(parts) if parts else "every request"
