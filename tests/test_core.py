"""The core layer: baseline and bootstrap, atomic writes and their file mode, damaged caches, weights files,
profile reductions, hand-off errors, display rounding."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import f1_score

from helpers.core import files as atomic_io
from helpers.core.config import run_paths
from helpers.core.files import DamagedCacheWarning, read_cached
from helpers.core.handoff import HandoffMissing, load_history, load_probabilities, load_summary
from helpers.core.metrics import METRIC_NAMES, baseline_prediction, multilabel_scores, paired_bootstrap
from helpers.core.profiles import describe_reductions, get_profile
from helpers.models.weights import WeightsFileError, load_weights, save_weights
from helpers.report.figures import readable


def noisy(Y: np.ndarray, flip: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(Y.shape) < flip, 1 - Y, Y).astype(np.uint8)


@pytest.fixture
def labels() -> np.ndarray:
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 18)) < 0.1).astype(np.uint8)
    Y[:, 0] = rng.random(300) < 0.75
    return Y


def test_baseline_is_the_most_frequent_label_set():
    Y = np.zeros((5, 18), dtype=np.uint8)
    Y[:3, 0] = 1  # {1} three times
    Y[3:, [0, 2]] = 1  # {1, 3} twice
    pred = baseline_prediction(Y, 4)
    assert pred.shape == (4, 18) and (pred == Y[0]).all()
    with pytest.raises(ValueError, match="non-empty"):
        baseline_prediction(np.zeros((0, 18)), 3)


def test_bootstrap_observed_difference_matches_sklearn(labels):
    a, b = noisy(labels, 0.05, 1), noisy(labels, 0.10, 2)
    for metric in METRIC_NAMES:
        result = paired_bootstrap(labels, a, b, metric, n_boot=200)
        expected = multilabel_scores(labels, a)[metric] - multilabel_scores(labels, b)[metric]
        assert result["diff"] == pytest.approx(expected, abs=1e-12), metric
        assert result["low"] <= result["diff"] <= result["high"], metric


def test_bootstrap_replicates_match_a_plain_resampling_loop(labels):
    """Same draws as the vectorised version: rng.integers(0, n, (n_boot, n)), scored with sklearn."""
    a, b = noisy(labels, 0.05, 3), noisy(labels, 0.08, 4)
    n_boot = 60
    draws = np.random.default_rng(7).integers(0, len(labels), size=(n_boot, len(labels)))
    diffs = [f1_score(labels[d], a[d], average="samples", zero_division=0)
             - f1_score(labels[d], b[d], average="samples", zero_division=0) for d in draws]
    result = paired_bootstrap(labels, a, b, "samples_f1", n_boot=n_boot, seed=7)
    low, high = np.quantile(diffs, [0.025, 0.975])
    assert result["low"] == pytest.approx(low, abs=1e-9) and result["high"] == pytest.approx(high, abs=1e-9)


def test_bootstrap_calls_identical_predictions_indistinguishable(labels):
    a = noisy(labels, 0.05, 5)
    result = paired_bootstrap(labels, a, a.copy())
    assert result == {"diff": 0.0, "low": 0.0, "high": 0.0, "significant": False}
    clearly_better = paired_bootstrap(labels, labels, noisy(labels, 0.2, 6))
    assert clearly_better["significant"] and clearly_better["low"] > 0


def test_atomic_write_gets_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_io.write_text(tmp_path / "a.txt", "x")
        assert (path.stat().st_mode & 0o777) == 0o644
        os.umask(0o077)
        private = atomic_io.write_text(tmp_path / "b.txt", "x")
        assert (private.stat().st_mode & 0o777) == 0o600
    finally:
        os.umask(old)


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / "sub" / f".cnn_head_x.pt.pid{dead_pid}.abc123.tmp"
    live = tmp_path / f".other.pt.pid{os.getpid()}.def456.tmp"
    unrelated = tmp_path / ".notes.tmp"
    stale.parent.mkdir()
    for path in (stale, live, unrelated):
        path.write_text("partial")
    assert atomic_io.remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and unrelated.exists()


def test_a_damaged_cache_is_set_aside_with_a_warning(tmp_path):
    path = tmp_path / "features.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.warns(DamagedCacheWarning, match="features.npz"):
        assert read_cached(path, lambda p: np.load(p, allow_pickle=False)["x"], "feature cache") is None
    assert not path.exists() and (tmp_path / "features.npz.damaged").exists()
    assert read_cached(tmp_path / "absent.npz", np.load) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.savez(tmp_path / "good.npz", x=np.arange(3))
        assert read_cached(tmp_path / "good.npz", lambda p: np.load(p)["x"].sum()) == 3


def test_weights_file_round_trip_and_errors(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = save_weights(tmp_path / "m.pt", kind="toy", config={"in": 3, "sizes": (3, 2)}, state_dict=model.state_dict(),
                        extra={"history": [{"epoch": 1, "loss": 0.5}]})
    loaded = load_weights(path, kind="toy")
    assert loaded.config == {"in": 3, "sizes": (3, 2)} and loaded.extra["history"][0]["epoch"] == 1
    assert torch.equal(loaded.state_dict["weight"], model.weight.detach())
    with pytest.raises(WeightsFileError, match="expected 'lstm'"):
        load_weights(path, kind="lstm")
    with pytest.raises(WeightsFileError, match="not found"):
        load_weights(tmp_path / "none.pt")
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "format_version": 99}, tmp_path / "future.pt")
    with pytest.raises(WeightsFileError, match="version 99"):
        load_weights(tmp_path / "future.pt")
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(WeightsFileError, match="cut.pt: cannot be read"):
        load_weights(tmp_path / "cut.pt")
    torch.save({"weight": model.weight}, tmp_path / "bare.pt")
    with pytest.raises(WeightsFileError, match="no 'bimodal-weights' header"):
        load_weights(tmp_path / "bare.pt")


def test_reductions_are_derived_from_the_settings():
    cpu = describe_reductions(get_profile("cpu"), "cnn")
    cpu_size, full_size = get_profile("cpu").cnn.image_size, get_profile("full").cnn.image_size
    assert f"`image_size`: **{cpu_size}** (full profile: {full_size})" in cpu
    assert "everywhere" in describe_reductions(get_profile("full"), "lstm")


def test_missing_handoff_names_the_notebook(tmp_path):
    paths = run_paths(tmp_path, tmp_path / "out")
    with pytest.raises(HandoffMissing, match="04_lstm_training"):
        load_history(paths, "lstm_seed3")
    with pytest.raises(HandoffMissing, match="03_cnn_training"):
        load_probabilities(paths, "cnn", "val")
    paths.results.mkdir(parents=True)
    (paths.results / "lstm_summary.json").write_text("{not json")
    with pytest.raises(HandoffMissing, match="rerun notebook 04_lstm_training"):
        load_summary(paths, "lstm")


def test_readable_rounds_for_reading_only():
    df = pd.DataFrame({"micro_f1": [0.123456, 0.5], "rows": [1200.0, 300.0], "train_time_s": [12.345, 1.0],
                       "name": ["a", "b"], "gap": [1.0, np.nan]})
    shown = readable(df)
    assert shown["micro_f1"].tolist() == [0.1235, 0.5]
    assert str(shown["rows"].dtype) == "Int64" and shown["rows"].tolist() == [1200, 300]
    assert shown["train_time_s"].tolist() == [12.3, 1.0]
    assert shown["gap"].isna().tolist() == [False, True]
    assert df["micro_f1"][0] == 0.123456  # the original keeps full precision
