"""Imports run one way, down the flow (docs/architecture.md): no module inside the package
imports its root (``import riskmodels as rm``), which would make every module depend on
every other one. Doctest examples in docstrings may, since they show users' code."""

from __future__ import annotations

import ast
from pathlib import Path

import riskmodels

SRC = Path(riskmodels.__file__).parent


def _root_imports(path: Path) -> list[str]:
    """`import riskmodels` or `from riskmodels import NAME` where NAME is not a submodule."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [f"{path}:{node.lineno}" for a in node.names if a.name == "riskmodels"]
        elif isinstance(node, ast.ImportFrom) and node.module == "riskmodels" and not node.level:
            for a in node.names:
                submodule = (SRC / a.name).is_dir() or (SRC / f"{a.name}.py").is_file()
                if not submodule:
                    found.append(f"{path}:{node.lineno} ({a.name})")
    return found


def test_no_module_imports_the_package_root():
    offenders = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "__init__.py"
        for hit in _root_imports(path)
    ]
    assert not offenders, offenders
