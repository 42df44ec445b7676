"""Reading documents and printing JSON, shared by every verb."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from safereport.errors import BadInput
from safereport.wire import parse_json


def dump(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(", ", ": "))


def read_document(source: str, *, what: str) -> Any:
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"expected a readable UTF-8 JSON file, got {exc.__class__.__name__}", field=source
            ) from None
    return parse_json(text, what=what)


def read_key(value: str) -> str:
    """A verifier key given inline (name+hash+key) or as a file holding one."""
    path = Path(value)
    if "+" not in value and path.exists():
        return path.read_text("utf-8").strip()
    return value.strip()
