"""Paths, profiles, atomic writes, figure/table naming, metrics and the pipeline's notebook selection."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from helpers.core import files as atomic  # noqa: E402
from helpers.core import metrics
from helpers.core.config import DATA_ROOT, REPO_ROOT, demo_data_dir, run_paths  # noqa: E402
from helpers.core.labels import LABEL_IDS, LABEL_NAMES, labels_to_matrix, matrix_to_labels, parse_label_field  # noqa: E402
from helpers.core.profiles import PROFILE_NAMES, get_profile  # noqa: E402
from helpers.pipeline import NOTEBOOKS, select_notebooks  # noqa: E402
from helpers.report import figures


def test_labels_are_coco_ids_without_12():
    assert len(LABEL_IDS) == 18 and 12 not in LABEL_IDS and LABEL_NAMES[8] == "truck"
    assert parse_label_field("3 1 3") == [3, 1]
    with pytest.raises(ValueError, match="unknown label id 12"):
        parse_label_field("1 12")
    with pytest.raises(ValueError, match="not an integer"):
        parse_label_field("1 x")
    matrix = labels_to_matrix([[1, 19], [8]])
    assert matrix.shape == (2, 18) and matrix[0, 0] == 1 and matrix[0, 17] == 1 and matrix[1, 7] == 1
    assert matrix_to_labels(matrix) == [[1, 19], [8]]


def test_paths_derive_from_repo_root_and_parameters(tmp_path):
    default = run_paths(demo_data_dir(10, 5))
    assert default.data_dir == DATA_ROOT / "demo-10-5" and default.figures == REPO_ROOT / "figures"
    custom = run_paths(tmp_path / "data", tmp_path / "out")
    assert custom.train_csv == tmp_path / "data" / "train.csv"
    assert custom.images_dir == tmp_path / "data" / "data"
    assert custom.submission == tmp_path / "out" / "Predicted_labels.csv"
    assert custom.checkpoints.parent == custom.artifacts


def test_profiles():
    assert PROFILE_NAMES == ("smoke", "cpu", "full")
    full = get_profile("full")
    assert full.cnn.image_size == 224 and full.lstm.ablation_epochs == 20 and len(full.lstm.seeds) == 3
    assert get_profile("smoke").demo.n_train < get_profile("cpu").demo.n_train
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("gpu")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "result.json"
    atomic.write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("killed")
    assert atomic.read_json(target) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_save_fig_and_table_use_fixed_names(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = figures.save_fig(fig, "fig01_test_plot", tmp_path)
    assert path.name == "fig01_test_plot.png" and path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="figNN_what"):
        figures.save_fig(fig, "Figure 1", tmp_path)
    plt.close(fig)
    df = pd.DataFrame({"model": ["a|b"], "f1": [0.123456]})
    figures.save_table(df, "table01_test", tmp_path)
    assert pd.read_csv(tmp_path / "table01_test.csv")["f1"].item() == pytest.approx(0.123456)
    md = (tmp_path / "table01_test.md").read_text()
    assert "| model | f1 |" in md and "0.1235" in md and "a\\|b" in md


def test_metrics_match_sklearn_and_are_named():
    rng = np.random.default_rng(0)
    y = (rng.random((50, 18)) < 0.2).astype(np.uint8)
    p = (rng.random((50, 18)) < 0.25).astype(np.uint8)
    scores = metrics.multilabel_scores(y, p)
    assert set(scores) == set(metrics.METRIC_NAMES)
    assert scores["micro_f1"] == pytest.approx(f1_score(y, p, average="micro"))
    assert scores["samples_f1"] == pytest.approx(f1_score(y, p, average="samples", zero_division=0))
    assert metrics.micro_f1(y, p) == pytest.approx(scores["micro_f1"])
    assert scores["hamming_accuracy"] == pytest.approx((y == p).mean())
    assert metrics.binarize(np.array([[0.2, 0.6]]), np.array([0.1, 0.7])).tolist() == [[1, 0]]
    table = metrics.per_label_table(y, p, model="m")
    assert list(table.label) == list(LABEL_IDS) and table.support.sum() == y.sum()


def test_pipeline_selects_notebooks_in_order():
    assert select_notebooks(None) == list(NOTEBOOKS)
    assert select_notebooks("3,01") == ["01_eda", "03_cnn_training"]
    with pytest.raises(ValueError, match="no notebook matches 07"):
        select_notebooks("07")
