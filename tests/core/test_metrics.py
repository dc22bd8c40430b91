"""helpers.core.metrics: named metrics against scikit-learn, the trivial baseline, the bootstrap, binarize."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from helpers.core import metrics
from helpers.core.labels import LABEL_IDS
from helpers.core.metrics import METRIC_NAMES, baseline_prediction, binarize, multilabel_scores, paired_bootstrap


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


def test_binarize_counts_a_probability_exactly_at_its_cut_off_as_positive():
    probs = np.array([[0.5, 0.4999999, 0.0, 1.0, np.nan]])
    assert binarize(probs, 0.5).tolist() == [[1, 0, 0, 1, 0]]  # at the cut-off: positive; NaN: never
    assert binarize(probs[:, :4], 0.0).tolist() == [[1, 1, 1, 1]]  # cut-off 0 predicts every label
    assert binarize(probs[:, :4], 1.0 + 1e-9).tolist() == [[0, 0, 0, 0]]
    per_label = np.array([0.5, 0.4999999, 0.1, 1.0])
    assert binarize(np.array([[0.5, 0.4999999, 0.0, 1.0]]), per_label).tolist() == [[1, 1, 0, 1]]


def test_binarize_compares_float32_probabilities_in_the_cut_offs_precision():
    # float32(0.7) = 0.69999999 < 0.7 and float32(0.3) = 0.30000001 > 0.3: the docstring's boundary note
    assert binarize(np.float32([0.7]), 0.7).tolist() == [0]
    assert binarize(np.float32([0.3]), 0.3).tolist() == [1]
    assert binarize(np.float64([0.7]), 0.7).tolist() == [1]


def test_differences_to_reference_pairs_seeds_and_repeats_the_baseline(labels):
    good = np.stack([noisy(labels, 0.02, s) for s in (0, 1)])
    bad = np.stack([noisy(labels, 0.10, s) for s in (2, 3)])
    baseline = np.zeros_like(labels)
    table = metrics.differences_to_reference(labels, {"ref": good, "worse": bad, "same": good.copy()}, "ref",
                                             extra={"baseline": baseline}, n_boot=200).set_index("setting")
    assert list(table.index) == ["ref", "worse", "same", "baseline"]
    assert table.loc["ref", "diff"] == 0 and not table.loc["ref", "significant"]
    assert table.loc["same", "diff"] == 0 and not table.loc["same", "significant"]
    assert table.loc["worse", "high"] < 0 and table.loc["worse", "significant"]
    stacked = paired_bootstrap(np.concatenate([labels] * 2), bad.reshape(-1, labels.shape[1]),
                               good.reshape(-1, labels.shape[1]), metric="micro_f1", n_boot=200)
    assert table.loc["worse", "diff"] == pytest.approx(stacked["diff"])  # scored on every seed's rows pooled
    pooled = metrics.micro_f1(np.concatenate([labels] * 2), good.reshape(-1, labels.shape[1]))
    assert table.loc["baseline", "diff"] == pytest.approx(-pooled)  # the baseline repeated for every seed


def test_crossfit_cutoff_is_tuned_without_the_rows_it_labels(labels):
    rng = np.random.default_rng(3)
    probs = np.clip(0.3 * labels + rng.random(labels.shape) * 0.32, 0, 1)  # positives sit in [0.3, 0.62]
    pred, used = metrics.crossfit_cutoff_predictions(labels, probs, folds=4, seed=0)
    assert pred.shape == labels.shape and set(np.unique(used)) <= set(metrics.CUTOFF_GRID)
    assert metrics.micro_f1(labels, pred) > metrics.micro_f1(labels, binarize(probs, 0.5)) + 0.05
    folds = np.random.default_rng(0).permutation(len(labels)) % 4
    changed = probs.copy()
    changed[folds == 0] = 0.99  # the rows of fold 0 change; the cut-off applied to them must not
    _, used_after = metrics.crossfit_cutoff_predictions(labels, changed, folds=4, seed=0)
    assert np.array_equal(used_after[folds == 0], used[folds == 0])
