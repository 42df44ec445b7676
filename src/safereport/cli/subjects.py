"""Verbs to come (filled in by the issue that owns them)."""

from __future__ import annotations

import argparse


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    return None
