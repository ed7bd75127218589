"""Text that others chose, made safe to print on a terminal.

A member's name is chosen by the applicant and read back from the chain; a revert reason is
whatever a contract returned. Printed as is, an ANSI escape sequence (``\\x1b[2J``, a cursor
move, a new window title), a carriage return or a bidirectional override in such a string
rewrites the terminal of whoever runs ``ape run inspect`` or reads a report. Every printer
passes them through ``printable``, which shows such characters as escapes instead.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

# Bidirectional controls reorder what is displayed ("Trojan Source"): a name could show as
# another member's. They are format characters (Cf), a class otherwise needed by scripts and
# emoji (zero-width joiners), so only these are escaped.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# The width rich's tree guides take per level ("├── ", "│   ").
GUIDE = 4

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _is_unsafe(char: str) -> bool:
    """C0 and C1 controls and DEL (Cc), line and paragraph separators, bidi controls."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape, as Python writes it:
    ``"\\x1b[31m"`` prints as the eight characters ``\\x1b[31m``, a newline as ``\\n``. With
    ``keep_newlines``, ``"\\n"`` stays a line break (for messages that are several lines
    by design); a carriage return never does."""
    text = str(text)
    if not any(_is_unsafe(c) for c in text):
        return text
    return "".join(c if (keep_newlines and c == "\n") or not _is_unsafe(c) else _escape(c) for c in text)


def printable_lines(lines: Iterable[object]) -> str:
    """Lines joined with newlines, each one made printable: a report's last line of defence
    for any field its renderer did not escape itself."""
    return "\n".join(printable(line) for line in lines)


def tree_lines(rows: Iterable[tuple[int, str, str]], indent: str = "  ") -> list[str]:
    """Rows given depth first as ``(depth, head, tail)`` (depth 0 for a root), drawn as a tree
    by rich, one line per row, each prefixed with ``indent``; the tails start in one column.
    Each text is made printable and taken literally (rich markup in a member's name is shown,
    not interpreted)."""
    rows = [(depth, printable(head), printable(tail)) for depth, head, tail in rows]
    column = max((GUIDE * depth + len(head) for depth, head, _ in rows), default=0)
    roots: list[Tree] = []
    path: list[Tree] = []
    for depth, head, tail in rows:
        label = Text(f"{head:<{column - GUIDE * depth}}  {tail}".rstrip(), no_wrap=True, overflow="ignore")
        node = Tree(label) if depth == 0 else path[depth - 1].add(label)
        if depth == 0:
            roots.append(node)
        path[depth:] = [node]
    out = io.StringIO()
    console = Console(file=out, width=10_000, color_system=None, highlight=False, emoji=False, soft_wrap=True)
    for root in roots:
        console.print(root)
    return [indent + line.rstrip() for line in out.getvalue().splitlines()]
