"""Multi-label metrics, each named explicitly.

- micro_f1:   F1 over all (row, label) decisions pooled; the reference study's "F1".
- samples_f1: mean F1 per row; the competition's metric (an empty prediction scores 0 for that row).
- macro_f1:   mean of the 18 per-label F1s; shows how rare labels fare.
- exact_match: share of rows whose predicted label set is exactly right.
- hamming_accuracy: share of (row, label) decisions that are right.
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
    """Probabilities -> 0/1 predictions with one global cut-off or one per label (probability >= cut-off)."""
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


def micro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fast micro-F1 (no sklearn overhead): used every epoch for early stopping."""
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    tp = np.count_nonzero(y_true & y_pred)
    denom = np.count_nonzero(y_true) + np.count_nonzero(y_pred)
    return float(2 * tp / denom) if denom else 0.0


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
