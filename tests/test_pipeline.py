"""helpers.pipeline: notebook selection, -p values and their types, and that every notebook parameter reaches the
notebook through papermill's own injection and is used there."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from helpers import pipeline
from helpers.core.config import NOTEBOOKS_DIR, REPO_ROOT
from helpers.core.console import HEADLESS_ENV
from helpers.pipeline import (
    NOTEBOOKS,
    declared_parameters,
    notebook_parameters,
    parameter_defaults,
    resolve_value,
    select_notebooks,
)


def test_select_notebooks_by_number_or_name_in_pipeline_order():
    assert select_notebooks(None) == list(NOTEBOOKS)
    assert select_notebooks("3, 01") == ["01_eda", "03_cnn_training"]
    assert select_notebooks("05_ensembling") == ["05_ensembling"]
    with pytest.raises(ValueError, match="--only: no notebook matches 6, x"):
        select_notebooks("01,6,x")


def test_resolve_value_reads_values_as_papermills_command_line_does_and_literals_as_lists():
    assert [resolve_value(v) for v in ("3", "0.5", "True", "False", "None", "resnet18", "1e-4")] == [
        3, 0.5, True, False, None, "resnet18", 1e-4]
    assert type(resolve_value("3")) is int and type(resolve_value("3.0")) is float
    assert resolve_value("(0.001, 0.01)") == [0.001, 0.01] and resolve_value("['a', 'b']") == ["a", "b"]
    assert resolve_value("()") == [] and resolve_value("(oops") == "(oops" and resolve_value("(1)") == "(1)"


def test_pipeline_parameters_are_checked_against_the_notebooks():
    assert "IMAGE_BACKBONE" in declared_parameters("03_cnn_training")
    per_notebook = notebook_parameters(["01_eda", "03_cnn_training"], {"SEED": 3},
                                       {"IMAGE_BACKBONE": "efficientnet_b0"})
    assert per_notebook["03_cnn_training"]["IMAGE_BACKBONE"] == "efficientnet_b0"
    assert "IMAGE_BACKBONE" not in per_notebook["01_eda"] and per_notebook["01_eda"]["SEED"] == 3
    with pytest.raises(ValueError, match="IMAGE_BACKBONE: no selected notebook declares.*SHOW_EXAMPLE_GRIDS"):
        notebook_parameters(["01_eda"], {}, {"IMAGE_BACKBONE": "resnet18"})
    with pytest.raises(ValueError, match="--seed"):
        notebook_parameters(["01_eda"], {}, {"SEED": 1})


@pytest.mark.parametrize("value, fits", [(0.01, True), (1, True), ("0.1", False), (True, False), (None, False)])
def test_a_value_must_have_the_declared_defaults_type(value, fits):
    """HEAD_LR's default is a float: an int stands for it, a string, a bool or None does not."""
    if fits:
        assert notebook_parameters(["03_cnn_training"], {}, {"HEAD_LR": value})["03_cnn_training"]["HEAD_LR"] == value
    else:
        with pytest.raises(ValueError, match="-p HEAD_LR"):
            notebook_parameters(["03_cnn_training"], {}, {"HEAD_LR": value})


def example_value(default):
    """A command-line spelling of a value of the default's type, other than the default, and the value itself."""
    if isinstance(default, bool):
        return str(not default), not default
    if isinstance(default, int):
        return str(default + 3), default + 3
    if isinstance(default, float):
        return "0.125", 0.125
    if isinstance(default, tuple | list):
        return "('x', 'y')", ["x", "y"]
    return "other_value", "other_value"


PARAMETERS = [(name, key) for name in NOTEBOOKS for key in declared_parameters(name)
              if key not in pipeline.COMMON_PARAMETERS]


@pytest.fixture
def captured_runs(monkeypatch, tmp_path):
    """Run helpers.pipeline's main with run_notebook replaced: {notebook: the parameters papermill would get}."""
    captured: dict[str, dict] = {}
    monkeypatch.setattr(pipeline, "run_notebook", lambda name, parameters, *a, **k: captured.update({name: parameters}))
    monkeypatch.setattr(pipeline, "describe_machine", lambda: {})
    monkeypatch.setenv(HEADLESS_ENV, os.environ.get(HEADLESS_ENV, ""))  # main sets both: restore them afterwards
    monkeypatch.setenv("PATH", os.environ["PATH"])
    (tmp_path / "data").mkdir()
    return captured


def injected_namespace(name: str, parameters: dict) -> dict:
    """Papermill's own injection into the real notebook, then its parameters cell and the injected cell executed."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(NOTEBOOKS_DIR / f"{name}.ipynb")), parameters)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and len(injected) == 1
    assert nb.cells.index(injected[0]) == nb.cells.index(tagged[0]) + 1
    namespace: dict = {}
    exec(tagged[0].source, namespace)
    exec(injected[0].source, namespace)
    return namespace


@pytest.mark.parametrize("name, key", PARAMETERS, ids=[f"{n[:2]}-{k}" for n, k in PARAMETERS])
def test_every_notebook_parameter_given_with_p_reaches_its_notebook_with_its_type(captured_runs, tmp_path, name, key):
    text, value = example_value(parameter_defaults(name)[key])
    pipeline.main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--only", name[:2],
                   "--profile", "smoke", "--seed", "5", "-p", key, text])
    given = captured_runs[name]
    assert given[key] == value and type(given[key]) is type(value)
    namespace = injected_namespace(name, given)
    assert namespace[key] == value and type(namespace[key]) is type(value)
    assert (namespace["SEED"], namespace["PROFILE"]) == (5, "smoke")
    assert namespace["DATA_DIR"] == str(tmp_path / "data") and namespace["OUT_DIR"] == str(tmp_path / "out")


def test_an_integer_parameter_reaches_the_notebook_as_an_integer(captured_runs, tmp_path):
    """The issue's example: `-p SCRATCH_EPOCHS 3` reaches notebook 03 as the integer 3 (when 03 declares it); and an
    integer parameter that exists today, SHOW_EXAMPLE_GRIDS of notebook 01, the same way."""
    cases = [("01_eda", "SHOW_EXAMPLE_GRIDS")]
    if "SCRATCH_EPOCHS" in declared_parameters("03_cnn_training"):
        cases.append(("03_cnn_training", "SCRATCH_EPOCHS"))
    for name, key in cases:
        pipeline.main(["--data-dir", str(tmp_path / "data"), "--only", name[:2], "--out", str(tmp_path / "o"),
                       "-p", key, "3"])
        assert injected_namespace(name, captured_runs[name])[key] == 3
        assert type(injected_namespace(name, captured_runs[name])[key]) is int


@pytest.mark.parametrize("option, value, key, expected", [
    ("--fresh", None, "FRESH", True), ("--on-bad-image", "skip", "ON_BAD_IMAGE", "skip"), ("--seed", "11", "SEED", 11),
    ("--profile", "full", "PROFILE", "full"),
])
def test_every_common_option_reaches_every_notebook(captured_runs, tmp_path, option, value, key, expected):
    pipeline.main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o"), option,
                   *([value] if value else [])])
    assert set(captured_runs) == set(NOTEBOOKS)
    for name, parameters in captured_runs.items():
        got = injected_namespace(name, parameters)[key]
        assert got == expected and type(got) is type(expected), name


def _code(cell_source: str) -> ast.Module:
    lines = [line for line in cell_source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_declared_parameter_is_used_by_a_later_cell(name):
    cells = [c for c in json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text())["cells"] if c["cell_type"] == "code"]
    index = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    declared = [node.targets[0].id for node in _code("".join(cells[index]["source"])).body]
    assert sorted(declared) == sorted(declared_parameters(name))
    used = {node.id for cell in cells[index + 1:] for node in ast.walk(_code("".join(cell["source"])))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    unused = [p for p in declared if p not in used]
    assert not unused, f"{name}: parameters {unused} are declared but no later cell uses them"


def test_the_unused_parameter_check_can_fail():
    tree = _code("SEED = 0\nOTHER = 1")
    used = {n.id for n in ast.walk(_code("print(SEED)")) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert [t.targets[0].id for t in tree.body if t.targets[0].id not in used] == ["OTHER"]


def test_pipeline_rejects_a_missing_data_dir(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline", "--data-dir", str(tmp_path / "nope"),
                           "--profile", "smoke", "--out", str(tmp_path / "out")], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_pipeline_rejects_an_unknown_parameter_before_running(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline", "--data-dir", str(tmp_path), "--profile", "smoke",
                           "--out", str(tmp_path / "out"), "-p", "NOT_A_PARAMETER", "1"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "NOT_A_PARAMETER" in proc.stderr and "DATA_DIR" in proc.stderr
    assert not (tmp_path / "out" / "executed").exists()


def test_pipeline_selects_notebooks_in_order():
    assert select_notebooks(None) == list(NOTEBOOKS)
    assert select_notebooks("3,01") == ["01_eda", "03_cnn_training"]
    with pytest.raises(ValueError, match="no notebook matches 07"):
        select_notebooks("07")
