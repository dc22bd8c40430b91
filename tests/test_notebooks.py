"""The notebooks: committed clean, shaped alike (bootstrap, literal parameters, setup), and run end to end.

The slow tests run the whole pipeline with papermill on a tiny generated data set with the smoke
profile, with every network connection refused (and recorded) and an empty torch cache, and check
what it wrote by content: every figure and table of the reference study's numbering plus ours, every
PNG decodes and is not blank, no notebook holds an error, table22 is the submission re-scored, the
final fusion beats the trivial baseline, nothing was downloaded and no connection was attempted.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers.core.config import NOTEBOOKS_DIR, REPO_ROOT
from helpers.pipeline import NOTEBOOKS

NOTEBOOK_FILES = [NOTEBOOKS_DIR / f"{name}.ipynb" for name in NOTEBOOKS]
PARAMETER_NAMES = {"DATA_DIR", "PROFILE", "OUT_DIR", "SEED", "FRESH", "ON_BAD_IMAGE"}


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_every_notebook_exists():
    assert sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(p.name for p in NOTEBOOK_FILES)


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path):
    dirty = [i for i, c in enumerate(code_cells(path)) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_shape(path):
    cells = code_cells(path)
    assert "ROOT" in "".join(cells[0]["source"]), "first code cell must be the bootstrap"
    params = cells[1]
    assert "parameters" in params.get("metadata", {}).get("tags", []), "second code cell must be tagged parameters"
    tree = ast.parse("".join(params["source"]))
    names = set()
    for node in tree.body:
        assert isinstance(node, ast.Assign), f"{path.name}: the parameters cell must hold assignments only"
        try:
            ast.literal_eval(node.value)
        except ValueError:
            pytest.fail(f"{path.name}: parameter {ast.unparse(node)!r} is not a literal")
        names.add(node.targets[0].id)
    assert PARAMETER_NAMES <= names
    assert "setup_run(" in "".join(cells[2]["source"]), "third code cell derives the run from the parameters"


EXPECTED_FIGURES = [
    "fig01_label_distribution", "fig02_labels_per_example", "fig05_caption_words",
    "fig06_caption_words_no_stopwords", "fig13_caption_words_with_stopwords",
    "fig08_lstm_architecture", "fig09_lstm_cutoff", "fig10_lstm_learning_rate", "fig11_lstm_embedding_dim",
    "fig12_lstm_hidden_dim", "fig14_lstm_preprocessing",
    "fig15_cnn_learning_rate", "fig16_cnn_cutoff", "fig17_cnn_optimizer", "fig18_cnn_epochs",
    "fig19_caption_examples", "fig20_per_label_f1", "fig21_training_curves", "fig22_prediction_gallery",
    "fig23_precision_recall", "fig24_label_cooccurrence", "fig25_cnn_architectures", "fig26_cnn_loss",
    "fig27_cnn_backbones", "fig30_lstm_learning_curves", "fig42_predictor_examples",
    "fig40_lambda_sweep", "fig41_fusion_methods",
]
EXPECTED_TABLES = [
    "table01_label_meanings", "table02_preprocessing_examples", "table03_lstm_sizes", "table04_dictionary_sizes",
    "table05_lambda_sweep", "table06_cnn_design", "table07_cnn_performance", "table08_lstm_design",
    "table09_lstm_performance", "table10_ensemble_performance", "table11_fusion_methods",
    "table20_per_label_metrics", "table21_size_budget", "table22_test_scores", "table27_cnn_backbones",
    "table30_lstm_ablation_architecture", "table31_lstm_ablation_cutoff", "table32_lstm_ablation_learning_rate",
    "table33_lstm_ablation_embedding_dim", "table34_lstm_ablation_hidden_dim", "table35_lstm_ablation_preprocessing",
    "table36_lstm_ablation_summary",
]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from helpers.demo.generator import generate_demo_data

    return generate_demo_data(tmp_path_factory.mktemp("demo"), n_train=600, n_test=150, seed=0)


BASELINE_TABLES = ["table05_lambda_sweep", "table07_cnn_performance", "table09_lstm_performance",
                   "table10_ensemble_performance", "table11_fusion_methods", "table36_lstm_ablation_summary"]
SMOKE_SEED = 3  # not 0: every hand-off between notebooks must follow the seed


def _string_cells(table: pd.DataFrame) -> list[str]:
    return [str(v) for c in table.columns if not pd.api.types.is_numeric_dtype(table[c]) for v in table[c]]


NO_NETWORK = """
import os, socket

_LOG = os.environ["BLOCKED_CONNECTIONS_LOG"]
_LOCAL = (None, "", "localhost", "127.0.0.1", "::1")


def _record(what):
    with open(_LOG, "a") as log:
        log.write(f"{os.getpid()} {what}\\n")


def _refuse(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOCAL:
        _record(f"connect {address!r}")
        raise OSError(101, f"network unreachable (test sandbox): {address!r}")
    return _connect(self, address, *args)


def _no_lookup(host, *args, **kwargs):
    if (host.decode() if isinstance(host, bytes) else host) not in _LOCAL:
        _record(f"name lookup {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"name lookup refused (test sandbox): {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
socket.socket.connect = _refuse
socket.socket.connect_ex = lambda self, address: _refuse(self, address) or 0
socket.getaddrinfo = _no_lookup
"""


def offline_env(folder: Path) -> dict[str, str]:
    """An environment in which every Python process (the pipeline and its kernels) refuses and records each
    internet connection and name lookup (a sitecustomize on PYTHONPATH), with an empty torch cache."""
    site = folder / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_NETWORK)
    (folder / "torch_home").mkdir()
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "BLOCKED_CONNECTIONS_LOG": str(folder / "connections.log"),
            "TORCH_HOME": str(folder / "torch_home")}


@pytest.fixture(scope="module")
def smoke_run(tiny_data, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The whole pipeline, smoke profile, seed 3, under umask 022 (as on a shared machine), without network."""
    folder = tmp_path_factory.mktemp("smoke")
    out = folder / "out"
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline", "--data-dir", str(tiny_data), "--profile",
                           "smoke", "--out", str(out), "--seed", str(SMOKE_SEED)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=1500, preexec_fn=lambda: os.umask(0o022),
                          env=offline_env(folder))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc


def test_the_offline_sandbox_refuses_and_records_a_connection(tmp_path):
    env = offline_env(tmp_path)
    probe = "import socket\ntry:\n    socket.socket().connect(('192.0.2.1', 80))\nexcept OSError as e:\n" \
            "    print('refused', e.errno)\n"
    lookup = "import urllib.request\ntry:\n    urllib.request.urlopen('https://example.org', timeout=1)\n" \
             "except OSError as e:\n    print('no lookup', type(e).__name__)\n"
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert "refused 101" in proc.stdout, proc.stderr
    proc = subprocess.run([sys.executable, "-c", lookup], env=env, capture_output=True, text=True, timeout=60)
    assert "no lookup URLError" in proc.stdout, proc.stderr
    log = (tmp_path / "connections.log").read_text()
    assert "connect ('192.0.2.1', 80)" in log and "name lookup 'example.org'" in log


@pytest.mark.slow
def test_pipeline_smoke_regenerates_every_figure_table_and_submission(tiny_data, smoke_run):
    out, _ = smoke_run
    figures = out / "figures"
    missing = [f for f in EXPECTED_FIGURES if not (figures / f"{f}.png").is_file()]
    missing += [t for t in EXPECTED_TABLES for ext in (".csv", ".md") if not (figures / f"{t}{ext}").is_file()]
    assert not missing, f"not written: {missing}"
    assert len(list(figures.glob("fig03_examples_*.png"))) == 18
    for name in NOTEBOOKS:
        assert (out / "executed" / f"{name}.ipynb").is_file()
    timings = json.loads((out / "executed" / "timings.json").read_text())
    assert set(timings["notebooks"]) == set(NOTEBOOKS) and timings["seed"] == SMOKE_SEED


@pytest.mark.slow
def test_smoke_submission_is_valid_and_scored(tiny_data, smoke_run):
    from helpers.data.submission import read_submission

    out, _ = smoke_run
    test_ids = pd.read_csv(tiny_data / "test_labels.csv", dtype=str)["ImageID"]
    submission = pd.read_csv(out / "Predicted_labels.csv", dtype=str, keep_default_na=False)
    assert list(submission.columns) == ["ImageID", "Labels"]
    assert submission["ImageID"].tolist() == test_ids.tolist()
    assert (submission["Labels"].str.len() > 0).all()
    read_submission(out / "Predicted_labels.csv", test_ids)  # validates header, completeness, order, label ids
    scores = pd.read_csv(out / "figures" / "table22_test_scores.csv")
    assert len(scores) >= 1
    for column in ("micro_f1", "samples_f1", "macro_f1"):
        assert scores[column].between(0, 1).all() and scores[column].notna().all(), column


@pytest.mark.slow
def test_smoke_tables_hold_scores_and_baselines(tiny_data, smoke_run):
    out, _ = smoke_run
    figures = out / "figures"
    for name in EXPECTED_TABLES:
        table = pd.read_csv(figures / f"{name}.csv")
        assert len(table) > 0, f"{name} has no rows"
        for column in table.columns:
            if str(column).endswith("f1") or str(column).endswith("f1 mean"):
                values = pd.to_numeric(table[column], errors="coerce").dropna()
                assert values.between(0, 1).all(), f"{name}.{column} outside [0, 1]"
    for name in BASELINE_TABLES:
        cells = _string_cells(pd.read_csv(figures / f"{name}.csv"))
        assert any("baseline" in cell for cell in cells), f"{name} has no trivial-baseline row"
    per_label = pd.read_csv(figures / "table20_per_label_metrics.csv")
    assert per_label["label"].nunique() == 18


@pytest.mark.slow
def test_smoke_outputs_are_readable_by_others(smoke_run):
    out, _ = smoke_run
    private = [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.stat().st_mode & 0o044]
    assert not private, f"files others cannot read under umask 022: {private[:10]}"


def _outputs_text(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    parts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
            data = output.get("data", {})
            parts.append("".join(data.get("text/plain", [])))
    return "\n".join(parts)


@pytest.mark.slow
def test_smoke_notebooks_are_quiet(smoke_run):
    out, proc = smoke_run
    assert "running over TCP" not in proc.stderr + proc.stdout
    for name in NOTEBOOKS:
        text = _outputs_text(out / "executed" / f"{name}.ipynb")
        assert "PosixPath(" not in text, f"{name}: a bare path echo"
        assert " 0/" not in text or "%|" not in text, f"{name}: a progress bar left in the notebook"
        assert text.count("PretrainedWeightsWarning") <= 1, f"{name}: offline-weights warning repeated"
        for line in DOWNLOAD_LINES:
            assert line not in text, f"{name}: {line!r} in its outputs (the smoke profile never reaches the network)"
        training_lines = [line for line in text.splitlines()
                          if re.search(r"trained afresh|reused \(|resumed from epoch| epoch \d+/\d+:", line)]
        assert len(training_lines) <= 48, f"{name}: {len(training_lines)} lines of training log"


@pytest.mark.slow
def test_pipeline_stops_at_the_failing_notebook_with_its_error(tiny_data, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "data").symlink_to(tiny_data / "data")
    (broken / "test.csv").write_text((tiny_data / "test.csv").read_text())
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline", "--data-dir", str(broken), "--profile",
                           "smoke", "--out", str(tmp_path / "out")], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 1
    assert "01_eda failed" in proc.stderr and "train.csv" in proc.stderr
    assert not (tmp_path / "out" / "executed" / "02_text_preprocessing.ipynb").exists()


@pytest.mark.slow
def test_predict_cli_reproduces_the_pipeline_submission(tiny_data, smoke_run, tmp_path):
    """`python -m helpers.predict` on notebook 05's predictor file writes the pipeline's submission, byte for byte."""
    out, _ = smoke_run
    labels = tmp_path / "p.csv"
    proc = subprocess.run([sys.executable, "-m", "helpers.predict", "--model", str(out / "artifacts" / "predictor.pt"),
                           "--data-dir", str(tiny_data), "--out", str(labels)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert labels.read_bytes() == (out / "Predicted_labels.csv").read_bytes()


# What a download prints: torch hub's own line (helpers.models.backbones hides it, so also its own "downloaded <url>"
# line), NLTK's "[nltk_data]" lines, and helpers.text.stopwords' source "nltk corpus (downloaded now)"; and what a
# failed attempt prints: the stop words' "download failed or timed out", the backbone warning's "URLError".
DOWNLOAD_LINES = ("Downloading", "downloaded http", "[nltk_data]", "(downloaded now)")
ATTEMPT_LINES = ("download failed or timed out", "URLError")


@pytest.mark.slow
def test_smoke_run_attempts_no_connection_and_downloads_nothing(smoke_run):
    out, proc = smoke_run
    log = out.parent / "connections.log"
    assert not log.exists(), f"the smoke profile tried to reach the network: {log.read_text()[:500]}"
    for line in DOWNLOAD_LINES + ATTEMPT_LINES:
        assert line not in proc.stdout + proc.stderr, line
        for name in NOTEBOOKS:
            assert line not in _outputs_text(out / "executed" / f"{name}.ipynb"), f"{name}: {line!r}"
    assert not any((out.parent / "torch_home").rglob("*.pth")), "weights were written to the torch cache"


@pytest.mark.slow
def test_smoke_notebooks_hold_no_error_output(smoke_run):
    out, _ = smoke_run
    for name in NOTEBOOKS:
        cells = json.loads((out / "executed" / f"{name}.ipynb").read_text())["cells"]
        errors = [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in enumerate(cells)
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors}"


@pytest.mark.slow
def test_smoke_figures_decode_and_are_not_blank(smoke_run):
    import numpy as np
    from PIL import Image

    out, _ = smoke_run
    pngs = sorted((out / "figures").glob("*.png"))
    assert len(pngs) >= len(EXPECTED_FIGURES)
    for png in pngs:
        with Image.open(png) as image:
            image.load()
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
        assert pixels.shape[0] > 50 and pixels.shape[1] > 50, png.name
        assert pixels.std() > 2.0, f"{png.name} is blank (pixel std {pixels.std():.2f})"


@pytest.mark.slow
def test_smoke_table22_is_the_submission_rescored(tiny_data, smoke_run):
    from helpers.data.dataset import load_dataset
    from helpers.data.submission import score_submission

    out, _ = smoke_run
    data = load_dataset(tiny_data, check_images=False)
    rescored = score_submission(out / "Predicted_labels.csv", data.test["ImageID"], data.test_Y)
    table22 = pd.read_csv(out / "figures" / "table22_test_scores.csv")
    assert len(table22) == 1 and table22["file"].item() == "Predicted_labels.csv"
    for metric, value in rescored.items():
        assert table22[metric].item() == pytest.approx(value, abs=1e-12), metric


@pytest.mark.slow
def test_smoke_final_fusion_beats_the_trivial_baseline(smoke_run):
    out, _ = smoke_run
    table10 = pd.read_csv(out / "figures" / "table10_ensemble_performance.csv")
    model = table10.columns[0]
    final = table10[table10[model] == "final fusion"]
    baseline = table10[table10[model].str.contains("trivial baseline")]
    assert len(final) == 1 and len(baseline) == 1, table10[model].tolist()
    assert final["samples_f1"].item() > baseline["samples_f1"].item(), table10[[model, "samples_f1"]]
