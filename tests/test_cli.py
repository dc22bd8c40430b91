"""The command lines of helpers.pipeline, helpers.bench and helpers.demo: every option arrives where it is used, with
its type, and an impossible value is refused in one line naming the option (exit 2) before any work."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import bench, pipeline
from helpers.core.config import REPO_ROOT
from helpers.demo import __main__ as demo_main


class Called(Exception):
    """Raised by a fake entry point: the command line got as far as starting the work."""


def recorder(calls: list):
    def record(*args, **kwargs):
        calls.append((args, kwargs))
        raise Called

    return record


def refused(capsys, function, argv: list[str]) -> str:
    """The one error line of an argparse refusal (exit code 2); fails if the work started."""
    with pytest.raises(SystemExit) as exit_info:
        function(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m helpers."), err
    return err[-1]


# ---------------------------------------------------------------------------------------------- helpers.pipeline


@pytest.fixture
def pipeline_calls(monkeypatch):
    calls: list = []
    monkeypatch.setattr(pipeline, "run_pipeline", recorder(calls))
    return calls


def test_every_pipeline_option_reaches_run_pipeline_with_its_type(pipeline_calls, tmp_path):
    with pytest.raises(Called):
        pipeline.main(["--data-dir", str(tmp_path), "--profile", "smoke", "--out", str(tmp_path / "o"), "--only",
                       "1,03", "--seed", "7", "--fresh", "--on-bad-image", "skip", "--verbose",
                       "-p", "IMAGE_BACKBONE", "resnet18", "-p", "HEAD_LR", "0.01", "-p", "LEARNING_RATES",
                       "(0.001, 0.1)", "-p", "AUGMENT", "False"])
    (args, kwargs), = pipeline_calls
    assert args == (str(tmp_path), "smoke", str(tmp_path / "o"), "1,03", 7, True, "skip", True)
    assert kwargs == {"parameters": {"IMAGE_BACKBONE": "resnet18", "HEAD_LR": 0.01, "LEARNING_RATES": [0.001, 0.1],
                                     "AUGMENT": False}}
    assert type(args[4]) is int and type(kwargs["parameters"]["HEAD_LR"]) is float


def test_pipeline_defaults_reach_run_pipeline(pipeline_calls):
    with pytest.raises(Called):
        pipeline.main([])
    (args, kwargs), = pipeline_calls
    assert args == ("", "cpu", "", None, 0, False, "error", False) and kwargs == {"parameters": {}}


@pytest.mark.parametrize("argv, option", [
    (["--profile", "huge"], "--profile"),
    (["--only", "01,07"], "--only: no notebook matches 07"),
    (["--only", "eda2"], "--only: no notebook matches eda2"),
    (["--seed", "x"], "--seed"),
    (["--on-bad-image", "ignore"], "--on-bad-image"),
    (["--data-dir", "/no/such/folder"], "--data-dir /no/such/folder does not exist"),
    (["-p", "NOT_A_PARAMETER", "1"], "-p NOT_A_PARAMETER: no selected notebook declares"),
    (["-p", "SEED", "1"], "-p SEED: set these with their own options"),
    (["-p", "SHOW_EXAMPLE_GRIDS", "two"], "-p SHOW_EXAMPLE_GRIDS 'two': 01_eda declares SHOW_EXAMPLE_GRIDS = 2 (int)"),
    (["-p", "AUGMENT", "1"], "-p AUGMENT 1: 03_cnn_training declares AUGMENT = True (bool)"),
    (["-p", "HEAD_LR", "0.1", "-p", "HEAD_LR", "0.2"], "-p HEAD_LR is given twice"),
    (["--only", "01", "-p", "HEAD_LR", "0.1"], "-p HEAD_LR: no selected notebook declares"),
])
def test_pipeline_refuses_an_impossible_value_in_one_line_before_any_work(pipeline_calls, capsys, argv, option):
    line = refused(capsys, pipeline.main, argv)
    assert option in line
    assert not pipeline_calls


def test_pipeline_refuses_an_out_that_is_a_file(pipeline_calls, capsys, tmp_path):
    (tmp_path / "f").write_text("")
    assert "--out" in refused(capsys, pipeline.main, ["--out", str(tmp_path / "f")]) and not pipeline_calls


def test_run_pipeline_refuses_a_wrong_parameter_before_generating_demo_data(monkeypatch):
    import helpers.run

    monkeypatch.setattr(helpers.run, "ensure_demo_data", recorder([]))
    with pytest.raises(ValueError, match="NOPE"):
        pipeline.run_pipeline(profile="smoke", parameters={"NOPE": 1})


def test_pipeline_refusal_is_one_line_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline", "--only", "09", "--out", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("python -m helpers.pipeline: error: --only")
    assert not (tmp_path / "executed").exists()


# ---------------------------------------------------------------------------------------------- helpers.bench


@pytest.fixture
def bench_calls(monkeypatch):
    calls: list = []
    monkeypatch.setattr(bench, "run_bench", recorder(calls))
    monkeypatch.setattr(bench, "ensure_bench_data", recorder(calls))
    return calls


def test_every_bench_option_reaches_run_bench_with_its_type(bench_calls, tmp_path):
    predictor = tmp_path / "p.pt"
    predictor.write_bytes(b"")
    with pytest.raises(Called):
        bench.main(["--json", str(tmp_path / "b.json"), "--data-dir", str(tmp_path), "--stages", "reading, lstm",
                    "--profile", "smoke", "--image-sample", "12", "--workers", "0", "--device", "cpu",
                    "--predictor", str(predictor), "--text-encoder", "some/encoder"])
    (args, kwargs), = bench_calls
    assert args == (["reading", "lstm"], tmp_path, "smoke", 12, 0, "cpu", predictor, "some/encoder") and not kwargs
    assert isinstance(args[1], Path) and type(args[3]) is int and type(args[4]) is int


def test_bench_sizes_reach_the_data_generator(bench_calls, tmp_path):
    with pytest.raises(Called):
        bench.main(["--json", str(tmp_path / "b.json"), "--n-train", "40", "--n-test", "9"])
    (args, kwargs), = bench_calls
    assert args == (40, 9) and type(args[0]) is int


def test_bench_defaults(bench_calls, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "ensure_bench_data", lambda n_train, n_test: tmp_path)
    with pytest.raises(Called):
        bench.main(["--json", str(tmp_path / "b.json")])
    (args, kwargs), = bench_calls
    assert args == (list(bench.STAGES), tmp_path, "cpu", 256, None, "auto", None, "")


NO_CUDA = not torch.cuda.is_available()


@pytest.mark.parametrize("argv, option", [
    (["--stages", "reading,nope"], "--stages: unknown stage(s) nope"),
    (["--stages", ","], "--stages: unknown stage(s) (none given)"),
    (["--n-train", "0"], "--n-train must be at least 1, not 0"),
    (["--n-test", "-5"], "--n-test must be at least 1, not -5"),
    (["--image-sample", "0"], "--image-sample must be at least 1"),
    (["--workers", "-1"], "--workers must be at least 0"),
    (["--n-train", "many"], "--n-train"),
    (["--profile", "huge"], "--profile"),
    (["--data-dir", "/no/such/folder"], "--data-dir /no/such/folder does not exist"),
    (["--predictor", "/no/such/file.pt"], "--predictor /no/such/file.pt does not exist"),
    (["--device", "gpu"], "--device 'gpu' is not a device name"),
    pytest.param(["--device", "cuda"], "--device 'cuda': this machine has no CUDA GPU",
                 marks=pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")),
    (["--device", f"cuda:{torch.cuda.device_count() + 3}"], "--device 'cuda:"),
])
def test_bench_refuses_an_impossible_value_in_one_line_before_any_work(bench_calls, capsys, tmp_path, argv, option):
    line = refused(capsys, bench.main, ["--json", str(tmp_path / "b.json"), *argv])
    assert option in line
    assert not bench_calls


def test_bench_refuses_a_json_path_that_is_a_folder(bench_calls, capsys, tmp_path):
    assert "--json" in refused(capsys, bench.main, ["--json", str(tmp_path)]) and not bench_calls


# ---------------------------------------------------------------------------------------------- helpers.demo


@pytest.fixture
def demo_calls(monkeypatch):
    calls: list = []
    monkeypatch.setattr(demo_main, "generate_demo_data", recorder(calls))
    return calls


def test_every_demo_option_reaches_the_generator_with_its_type(demo_calls, tmp_path):
    with pytest.raises(Called):
        demo_main.main(["--out", str(tmp_path / "d"), "--n-train", "30", "--n-test", "0", "--seed", "4",
                        "--workers", "2"])
    (args, kwargs), = demo_calls
    assert args == (tmp_path / "d", 30, 0, 4, 2) and not kwargs
    assert isinstance(args[0], Path) and all(type(a) is int for a in args[1:])


def test_demo_defaults(demo_calls, tmp_path):
    with pytest.raises(Called):
        demo_main.main(["--out", str(tmp_path)])
    (args, _), = demo_calls
    assert args == (tmp_path, 30000, 10000, 0, None)


@pytest.mark.parametrize("argv, option", [
    (["--n-train", "0"], "--n-train must be at least 1, not 0"),
    (["--n-test", "-1"], "--n-test must be at least 0, not -1"),
    (["--workers", "0"], "--workers must be at least 1, not 0"),
    (["--seed", "1.5"], "--seed"),
])
def test_demo_refuses_an_impossible_value_in_one_line_before_any_work(demo_calls, capsys, tmp_path, argv, option):
    line = refused(capsys, demo_main.main, ["--out", str(tmp_path), *argv])
    assert option in line and not demo_calls


def test_demo_refuses_an_out_that_is_a_file_and_a_missing_out(demo_calls, capsys, tmp_path):
    (tmp_path / "f").write_text("")
    assert "--out" in refused(capsys, demo_main.main, ["--out", str(tmp_path / "f")])
    assert "--out" in refused(capsys, demo_main.main, [])
    assert not demo_calls
