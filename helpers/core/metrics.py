"""Multi-label metrics, each named explicitly.

- micro_f1:   F1 over all (row, label) decisions pooled; the reference study's "F1".
- samples_f1: mean F1 per row; the competition's metric (an empty prediction scores 0 for that row).
- macro_f1:   mean of the 18 per-label F1s; shows how rare labels fare.
- exact_match: share of rows whose predicted label set is exactly right.
- hamming_accuracy: share of (row, label) decisions that are right.

Probabilities become labels in one place, `binarize`: a probability at or above its cut-off is a positive.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support

from helpers.core.labels import LABEL_IDS, LABEL_NAMES

METRIC_NAMES = ("micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy")
METRIC_TITLES = {
    "micro_f1": "micro-F1",
    "samples_f1": "samples-F1 (mean F1 per row)",
    "macro_f1": "macro-F1",
    "exact_match": "exact-match accuracy",
    "hamming_accuracy": "per-label (Hamming) accuracy",
}


def binarize(probs: np.ndarray, cutoff: float | np.ndarray = 0.5) -> np.ndarray:
    """Probabilities -> 0/1 predictions with one global cut-off or one per label (a row of cut-offs).

    Boundary: a probability exactly at its cut-off is a positive (probability >= cut-off), so cut-off 0
    predicts every label and a cut-off above 1 none; NaN is never a positive. The comparison runs in
    float64 (the cut-off's precision): a float32 probability is the float32 nearest to the number it
    prints, so float32(0.7) lies just below the cut-off 0.7 (-> 0) and float32(0.3) just above 0.3 (-> 1).
    """
    return (np.asarray(probs) >= np.asarray(cutoff)).astype(np.uint8)


def multilabel_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """All five metrics for 0/1 matrices of shape (n, 18)."""
    y_true = np.asarray(y_true).astype(np.uint8)
    y_pred = np.asarray(y_pred).astype(np.uint8)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shape mismatch: truth {y_true.shape} vs prediction {y_pred.shape}")
    return {
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "samples_f1": float(f1_score(y_true, y_pred, average="samples", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "exact_match": float(np.mean(np.all(y_true == y_pred, axis=1))),
        "hamming_accuracy": float(np.mean(y_true == y_pred)),
    }


def row_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of each row, the competition's per-row score (0 for a row with neither true nor predicted labels,
    as sklearn's zero_division=0)."""
    y, p = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    size = y.sum(axis=1) + p.sum(axis=1)
    return np.where(size > 0, 2 * (y & p).sum(axis=1) / np.maximum(size, 1), 0.0)


def fast_f1(y_true: np.ndarray, y_pred: np.ndarray, objective: str = "micro_f1") -> float:
    """micro-F1 or samples-F1 without sklearn's overhead (same numbers): every epoch and inside cut-off searches."""
    if objective == "samples_f1":
        return float(row_f1(y_true, y_pred).mean()) if len(y_true) else 0.0
    if objective != "micro_f1":
        raise ValueError(f"unknown objective {objective!r}; use 'micro_f1' or 'samples_f1'")
    y, p = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    denom = np.count_nonzero(y) + np.count_nonzero(p)
    return float(2 * np.count_nonzero(y & p) / denom) if denom else 0.0


def scores_at_cutoff(y_true: np.ndarray, probs: np.ndarray, cutoff: float | np.ndarray = 0.5) -> dict[str, float]:
    """All five metrics of probabilities turned into labels at one cut-off (or one per label)."""
    return multilabel_scores(np.asarray(y_true), binarize(probs, cutoff))


def micro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fast micro-F1 (fast_f1's micro objective): used every epoch for early stopping."""
    return fast_f1(y_true, y_pred, "micro_f1")


def per_label_table(y_true: np.ndarray, y_pred: np.ndarray, model: str = "") -> pd.DataFrame:
    """Precision, recall, F1 and support per label (one row per label, in LABEL_IDS order)."""
    precision, recall, f1, support = precision_recall_fscore_support(
        np.asarray(y_true), np.asarray(y_pred), average=None, labels=list(range(len(LABEL_IDS))), zero_division=0
    )
    table = pd.DataFrame({
        "label": list(LABEL_IDS),
        "name": [LABEL_NAMES[label] for label in LABEL_IDS],
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support.astype(int),
    })
    if model:
        table.insert(0, "model", model)
    return table


BASELINE_NAME = "trivial baseline (the training rows' most frequent label set, every row)"


def baseline_prediction(Y_train: np.ndarray, n_rows: int) -> np.ndarray:
    """The trivial baseline: the most frequent label set among the training rows, predicted for every row.

    Like scikit-learn's DummyClassifier(strategy="most_frequent") applied to whole label sets; a model
    that scores like this has learned nothing (on the COMP5329 data it predicts "person" everywhere).
    Ties go to the label set that sorts first, so the result is deterministic.
    """
    Y_train = np.asarray(Y_train, dtype=np.uint8)
    if Y_train.ndim != 2 or len(Y_train) == 0:
        raise ValueError(f"Y_train must be a non-empty (rows, labels) matrix, got shape {Y_train.shape}")
    sets, counts = np.unique(Y_train, axis=0, return_counts=True)
    best = sets[np.flatnonzero(counts == counts.max())[0]]
    return np.tile(best, (n_rows, 1)).astype(np.uint8)


def _row_stats(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    t, p = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    return {"tp": (t & p).astype(np.float64), "fp": (~t & p).astype(np.float64), "fn": (t & ~p).astype(np.float64)}


def _metric_from_sums(metric: str, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, rows: np.ndarray,
                      row_values: dict[str, np.ndarray]) -> np.ndarray:
    """Metric per bootstrap replicate from per-label sums (replicates, labels) and per-row value sums."""
    if metric == "micro_f1":
        TP, FP, FN = tp.sum(1), fp.sum(1), fn.sum(1)
        denom = 2 * TP + FP + FN
        return np.divide(2 * TP, denom, out=np.zeros_like(TP), where=denom > 0)
    if metric == "macro_f1":
        denom = 2 * tp + fp + fn
        return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0).mean(1)
    return row_values[metric] / rows


def paired_bootstrap(y_true: np.ndarray, pred: np.ndarray, ref_pred: np.ndarray, metric: str = "samples_f1",
                     n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, float | bool]:
    """Paired bootstrap over rows of metric(pred) - metric(ref_pred).

    Both predictions are scored on the same resampled rows in every replicate, so the interval is
    for the difference itself (much narrower than two separate intervals). Returns the observed
    difference, the percentile interval at `level` and whether it excludes 0.
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRIC_NAMES)}")
    y_true = np.asarray(y_true, dtype=np.uint8)
    pred, ref_pred = np.asarray(pred, dtype=np.uint8), np.asarray(ref_pred, dtype=np.uint8)
    if not (y_true.shape == pred.shape == ref_pred.shape):
        raise ValueError(f"shape mismatch: truth {y_true.shape}, prediction {pred.shape}, reference {ref_pred.shape}")
    n = len(y_true)
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_boot, n), dtype=np.float64)  # how often each row is drawn in each replicate
    draws = rng.integers(0, n, size=(n_boot, n))
    np.add.at(weights, (np.repeat(np.arange(n_boot), n), draws.ravel()), 1.0)

    def replicate_scores(p: np.ndarray) -> tuple[np.ndarray, float]:
        stats = _row_stats(y_true, p)
        tp, fp, fn = (weights @ stats[k] for k in ("tp", "fp", "fn"))
        per_row = {
            "samples_f1": row_f1(y_true, p),
            "exact_match": np.all(y_true == p, axis=1).astype(np.float64),
            "hamming_accuracy": np.mean(y_true == p, axis=1),
        }
        sums = {k: weights @ v for k, v in per_row.items()}
        observed = _metric_from_sums(metric, *(stats[k].sum(0, keepdims=True) for k in ("tp", "fp", "fn")),
                                     np.array([n]), {k: np.array([v.sum()]) for k, v in per_row.items()})[0]
        return _metric_from_sums(metric, tp, fp, fn, np.full(n_boot, n), sums), float(observed)

    boot_a, obs_a = replicate_scores(pred)
    boot_b, obs_b = replicate_scores(ref_pred)
    diffs = boot_a - boot_b
    alpha = (1 - level) / 2
    low, high = (float(v) for v in np.quantile(diffs, [alpha, 1 - alpha]))
    return {"diff": obs_a - obs_b, "low": low, "high": high, "significant": bool(low > 0 or high < 0)}


def differences_to_reference(y_true: np.ndarray, predictions: dict[str, np.ndarray], reference: str, *,
                             extra: dict[str, np.ndarray] | None = None, metric: str = "micro_f1",
                             n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each setting's metric difference to the reference setting, with its paired bootstrap interval over rows.

    predictions: setting -> (n_seeds, n_rows, n_labels) 0/1 predictions, seeds in the same order for every
    setting; extra: name -> (n_rows, n_labels) predictions without seeds (the trivial baseline), repeated for every
    seed. Seed s of a setting is paired with seed s of the reference: the metric is scored on the rows of every
    seed pooled, and the bootstrap resamples those pooled rows. Columns setting, diff, low, high, significant (the
    interval excludes 0); the reference's own row is 0 and not significant.
    """
    n_seeds = predictions[reference].shape[0]
    truth = np.concatenate([np.asarray(y_true, dtype=np.uint8)] * n_seeds)
    flat = {name: p.reshape(-1, truth.shape[1]) for name, p in predictions.items()}
    flat.update({name: np.concatenate([p] * n_seeds) for name, p in (extra or {}).items()})
    rows = []
    for name, pred in flat.items():
        if name == reference:
            rows.append({"setting": name, "diff": 0.0, "low": 0.0, "high": 0.0, "significant": False})
        else:
            rows.append({"setting": name, **paired_bootstrap(truth, pred, flat[reference], metric=metric,
                                                             n_boot=n_boot, seed=seed)})
    return pd.DataFrame(rows)


CUTOFF_GRID: tuple[float, ...] = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2).tolist())  # every cut-off search
DEFAULT_CUTOFF = 0.5


def pick_best(scores: np.ndarray, grid: np.ndarray, prefer: float) -> tuple[int, float]:
    """Index of the best score; ties go to the grid value closest to `prefer` (stable, deterministic)."""
    best = scores.max()
    candidates = np.flatnonzero(scores >= best - 1e-12)
    index = int(candidates[np.argmin(np.abs(grid[candidates] - prefer))])
    return index, float(best)


def crossfit_cutoff_predictions(y_true: np.ndarray, probs: np.ndarray, folds: int = 5, seed: int = 0,
                                objective: str = "micro_f1") -> tuple[np.ndarray, np.ndarray]:
    """(0/1 predictions, the cut-off used on each row): every row labelled at one global cut-off tuned on the other
    folds (the grid value maximising `objective` there), so no row's cut-off saw that row.

    Compares models at their own best cut-off without the optimism of tuning on the rows that are scored.
    """
    y_true, probs = np.asarray(y_true, dtype=np.uint8), np.asarray(probs, dtype=np.float64)
    fold_of = np.random.default_rng(seed).permutation(len(y_true)) % max(min(folds, len(y_true)), 2)
    grid = np.asarray(CUTOFF_GRID)
    pred, used = np.zeros_like(y_true), np.zeros(len(y_true))
    for fold in np.unique(fold_of):
        fit, held = fold_of != fold, fold_of == fold
        scores = [fast_f1(y_true[fit], binarize(probs[fit], c), objective) for c in grid]
        best = grid[pick_best(np.asarray(scores), grid, DEFAULT_CUTOFF)[0]]
        pred[held], used[held] = binarize(probs[held], best), best
    return pred, used
