"""The package's one exception root.

Every failure the domain layer reports on purpose is a ``ScfError``: a refused transaction,
a node that stopped answering, a journal that cannot be resumed, a bad input file, a missing
build or manifest. The scripts' one-line error handler (``scf.cli.finishing``) catches this
one class; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ScfError(Exception):
    """A failure the package reports with a message meant for the person running it. Each
    subclass also keeps the built-in base it had before this root existed (``RuntimeError``,
    ``ValueError``, ``LookupError``), so code that caught those still does."""


class FileProblems(ScfError, ValueError):
    """A file a person wrote (a consortium, scenario or watch-policy file) is wrong: checked
    whole, the message lists every problem, each with its line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems))
