"""The test suite's own rules, checked on its source.

ape isolates tests with chain snapshots per fixture scope and tracks fixtures by name across
the whole session: a name defined module-scoped in one file and function-scoped in another
makes ape restore the wrong snapshot, and one test's state leaks into the next (seen: a
module-scoped ``ledger`` of the supervision test left test_default_payouts' guarantor admitted
from one test to the next). So a fixture name has one scope in the whole suite."""

from __future__ import annotations

import ast
from collections import defaultdict

from tests.support import ROOT


def _fixture_scope(decorator: ast.expr) -> str | None:
    """``"function"``, ``"module"``, ... for a ``@pytest.fixture`` decorator, else None."""
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call else decorator
    if not (isinstance(target, ast.Attribute) and target.attr == "fixture"):
        return None
    for keyword in call.keywords if call else []:
        if keyword.arg == "scope" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return "function"


def _fixture_name(function: ast.FunctionDef, decorator: ast.expr) -> str:
    if isinstance(decorator, ast.Call):
        for keyword in decorator.keywords:
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
    return function.name


def test_every_fixture_name_has_one_scope_in_the_whole_suite():
    scopes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    if (scope := _fixture_scope(decorator)) is not None:
                        scopes[_fixture_name(node, decorator)].add((scope, path.name))
    mixed = {name: sorted(found) for name, found in scopes.items() if len({s for s, _ in found}) > 1}
    assert not mixed, f"fixture names defined with more than one scope: {mixed}"
    assert "ledger" in scopes and "busy_book" in scopes  # the check saw the suite's fixtures


def test_the_check_tells_a_module_scoped_fixture_from_a_function_scoped_one():
    source = (
        "import pytest\n"
        "@pytest.fixture(scope='module')\ndef a(): pass\n"
        "@pytest.fixture\ndef b(): pass\n"
        "@pytest.fixture(name='c')\ndef c_fixture(): pass\n"
    )
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            (decorator,) = node.decorator_list
            found[_fixture_name(node, decorator)] = _fixture_scope(decorator)
    assert found == {"a": "module", "b": "function", "c": "function"}
