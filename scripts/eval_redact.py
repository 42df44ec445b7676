#!/usr/bin/env python3
"""Precision, recall and F1 of the free-text minimiser on the evaluation corpus.

    .venv/bin/python scripts/eval_redact.py [--split dev|heldout|all] [--json] [--errors [--show-text]]

The metric code is `safereport.redact.evaluation`; see docs/redaction-eval.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from safereport.redact.evaluation import main

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "redact_corpus"

if __name__ == "__main__":
    sys.exit(main(default_corpus=CORPUS))
