"""No module of the package, DAG file or plugin imports another module's private (``_``-prefixed) name.

A name another module needs is part of its owner's interface, so it is public there; a private import
hides a dependency that a rename inside the owner would break without warning.
"""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
TREES = ("include", "dags", "plugins")


def private_imports(source: str) -> list[tuple[int, str, str]]:
    """``(line, module, name)`` of every ``from gemini_qa_tuning… import _name`` (or relative) in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        if not (node.level or module == "gemini_qa_tuning" or module.startswith("gemini_qa_tuning.")):
            continue
        for alias in node.names:
            if alias.name.startswith("_") and not alias.name.startswith("__"):
                found.append((node.lineno, "." * node.level + module, alias.name))
    return found


def test_the_check_finds_a_private_import() -> None:
    source = "from gemini_qa_tuning.pipeline.steps import vertex_hook, _secret\nfrom os import _exit\n"
    assert private_imports(source) == [(1, "gemini_qa_tuning.pipeline.steps", "_secret")]
    assert private_imports("from .runner import _helper\n") == [(1, ".runner", "_helper")]


def test_no_module_imports_another_modules_private_name() -> None:
    offenders = [
        f"{path.relative_to(PROJECT)}:{line}: from {module} import {name}"
        for tree in TREES
        for path in sorted((PROJECT / tree).rglob("*.py"))
        for line, module, name in private_imports(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "make these names public in their module, or keep the code beside them:\n" + "\n".join(
        offenders
    )
