"""Building fast regular expressions for many literal words.

Python's `re` scans fastest when a pattern starts with a character it can look for (a literal
or a set), slowest under IGNORECASE or behind a leading `\\b`. So word lists are compiled into
a trie-shaped alternation, in each letter case they are written in (lower case, capitalised,
upper case) instead of IGNORECASE, and the word-start check comes after the first character as
a lookbehind, where it costs nothing at positions the first character already rules out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["cased", "trie_pattern"]

_WORD_START = r"(?<!\w\w)"  # after a first word character: the character before it is not one


def cased(phrases: Iterable[str]) -> set[str]:
    """Each phrase as written in lower case, with a capital first letter, and in capitals."""
    out: set[str] = set()
    for phrase in phrases:
        low = phrase.lower()
        out.update((low, low[:1].upper() + low[1:], low.upper()))
    return out


class _Node:
    __slots__ = ("children", "continuations")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.continuations: list[str] = []


def _literal(ch: str, space: str) -> str:
    if ch == " ":
        return space
    if ch in "'\u2019":
        return "['\u2019]"
    return re.escape(ch)


def _emit(node: _Node, space: str, root: bool) -> str:
    branches = []
    for ch, child in sorted(node.children.items()):
        head = _literal(ch, space)
        if root:
            if not re.fullmatch(r"\w", ch):
                raise ValueError(f"expected every entry to start with a word character, got {ch!r}")
            head += _WORD_START
        branches.append(head + _emit(child, space, False))
    branches.extend(sorted(set(node.continuations)))
    if not branches:
        return ""
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def trie_pattern(entries: Mapping[str, str] | Iterable[str], *, space: str = r"\s+") -> str:
    """One alternation for many literal entries, each followed by its continuation pattern
    (a mapping) or by nothing (an iterable). A match starts at the start of a word. In the
    entries a space stands for `space` and an apostrophe for a straight or curly one; longer
    entries are preferred to their prefixes."""
    items = entries.items() if isinstance(entries, Mapping) else ((e, "") for e in entries)
    root = _Node()
    for literal, continuation in items:
        node = root
        for ch in literal:
            node = node.children.setdefault(ch, _Node())
        node.continuations.append(continuation)
    return _emit(root, space, True)
