"""The package's architecture: sub-packages are layers and imports point one way.

core <- data <- text, models <- engine <- train <- fusion <- predictor <- report; demo uses core and data only;
the top-level
modules (run, pipeline, bench, predict) are entry points and may use anything. An import needed only for
type hints (inside `if TYPE_CHECKING:`) is not a dependency and is allowed anywhere.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.core.config import REPO_ROOT

PACKAGE = REPO_ROOT / "helpers"
ALLOWED = {  # layer -> the layers it may import (itself included)
    "core": {"core"},
    "data": {"core", "data"},
    "text": {"core", "data", "text"},
    "models": {"core", "data", "models"},
    "engine": {"core", "data", "models", "engine"},
    "train": {"core", "data", "text", "models", "engine", "train"},
    "fusion": {"core", "data", "text", "models", "engine", "train", "fusion"},
    "predictor": {"core", "data", "text", "models", "engine", "fusion", "predictor"},
    "report": {"core", "data", "text", "models", "engine", "train", "fusion", "predictor", "report"},
    "demo": {"core", "data", "demo"},
}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else "top"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_layers(path: Path) -> list[tuple[int, str]]:
    """(line, layer) of every helpers import that runs (module level or inside functions)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "helpers" else [f"helpers.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}:{node.lineno}: use absolute imports (from helpers.<layer>...)")
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            names = []
        for name in names:
            parts = name.split(".")
            if parts[0] == "helpers" and len(parts) > 1:
                target = PACKAGE / parts[1]
                found.append((node.lineno, parts[1] if target.is_dir() else "top"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path):
    layer = layer_of(path)
    if layer == "top":
        return
    wrong = [f"line {line}: imports helpers.{target}" for line, target in imported_layers(path)
             if target not in ALLOWED[layer]]
    assert not wrong, f"{path.relative_to(REPO_ROOT)} (layer {layer}) reaches up or sideways: {wrong}"


def test_every_layer_is_a_package():
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} >= set(ALLOWED)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The test above can fail: a core module importing the training loop is reported."""
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from helpers.run import Run\n" \
             "def f():\n    from helpers.engine.fit import fit\n"
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    layers = [target for _, target in imported_layers(probe)]
    assert layers == ["engine"]  # the TYPE_CHECKING import is ignored, the function-level one is not


def _is_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_helpers_readme_points_to_functions_that_exist():
    """The figure map in helpers/README.md names real functions, and every figure and table the smoke run expects."""
    import importlib
    import importlib.util
    import re

    from tests.test_notebooks import EXPECTED_FIGURES, EXPECTED_TABLES

    text = (PACKAGE / "README.md").read_text()
    named = set(re.findall(r"`((?:core|data|text|models|engine|train|fusion|predictor|report)\.[\w.]+)`", text))
    assert len(named) > 30
    for dotted in sorted(named):
        if importlib.util.find_spec(f"helpers.{dotted.split('.')[0]}") and _is_module(f"helpers.{dotted}"):
            continue  # a module named in the package list
        module_name, _, attr = dotted.rpartition(".")
        try:
            module = importlib.import_module(f"helpers.{module_name}")
        except ModuleNotFoundError:  # a class method such as train.cnn_head.HeadTrainer.sweep
            owner_module, _, owner = module_name.rpartition(".")
            module = getattr(importlib.import_module(f"helpers.{owner_module}"), owner)
        assert hasattr(module, attr), f"helpers/README.md names {dotted}, which does not exist"
    listed = set(re.findall(r"(fig\d\d|table\d\d)", text))
    ranges = {"fig08", "fig09", "fig10", "fig11", "fig12", "fig14", *(f"table3{i}" for i in range(6))}
    missing = [name for name in EXPECTED_FIGURES + EXPECTED_TABLES if name[:5 if name.startswith("fig") else 7]
               not in listed | ranges]
    assert not missing, f"helpers/README.md does not say which function makes {missing}"
