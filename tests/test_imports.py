"""Imports only go down: decode never imports train, checkpoint I/O sits below both, a model never
imports a loss (objectives.contrastive). Read from the source, lazy imports inside functions included."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import asrkit

ROOT = Path(asrkit.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules a file imports, anywhere in it."""
    package = ".".join(("asrkit", *path.relative_to(ROOT).with_suffix("").parts[:-1]))
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, (base, node.module)))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("files, forbidden", [
    ("decode/**/*.py", ("asrkit.train",)),
    ("checkpoint.py", ("asrkit.train", "asrkit.decode", "asrkit.cli")),
    ("models/**/*.py", ("asrkit.objectives.contrastive", "asrkit.train", "asrkit.decode", "asrkit.checkpoint")),
])
def test_imports_only_go_down(files, forbidden):
    wrong = {f"{path.relative_to(ROOT)} imports {name}" for path in ROOT.glob(files)
             for name in imported_modules(path) if name.startswith(forbidden)}
    assert not wrong, sorted(wrong)
