"""A per-row decision rule for samples-F1: predict, for each row, the label set with the highest expected F1.

Given a row's probabilities p (treated as independent), the expected F1 of predicting the set S is
approximated by the *plug-in* (ratio of expectations) estimate

    F̂1(S) = 2·Σ_{i∈S} p_i / (|S| + Σ_j p_j),

i.e. E[2·TP] / (|S| + E[|true set|]). For a fixed size k the numerator is largest for the k most
probable labels, so the best set is always a top-k set: sort the labels by probability and pick the
k (1..18; never empty, since an empty row scores 0) maximising 2·cumsum_k / (k + Σp). Under
independence the exact expected F1 is also maximised by a top-k set (Jansche 2007); the plug-in
estimate only chooses k approximately. Probabilities can first be calibrated per label (Platt
scaling: a logistic regression on the logit, fitted on the fit rows).
"""
from __future__ import annotations

import numpy as np

from helpers.fusion.logistic import fit_logistic, logit, sigmoid


def plugin_expected_f1(probs: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The plug-in expected F1 of each row's predicted set: 2·Σ_{S} p / (|S| + Σ p)."""
    probs = np.asarray(probs, dtype=np.float64)
    pred = np.asarray(pred, dtype=bool)
    return 2 * (probs * pred).sum(axis=1) / (pred.sum(axis=1) + probs.sum(axis=1))


def expected_f1_sets(probs: np.ndarray) -> np.ndarray:
    """0/1 predictions (n, labels): per row, the top-k labels with the k maximising the plug-in expected F1.

    Ties in k go to the smaller set (deterministic). Every row gets at least one label.
    """
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs, axis=1, kind="stable")
    top = np.take_along_axis(probs, order, axis=1)
    k = np.arange(1, probs.shape[1] + 1)
    value = 2 * np.cumsum(top, axis=1) / (k[None, :] + probs.sum(axis=1, keepdims=True))
    best_k = np.argmax(value >= value.max(axis=1, keepdims=True) - 1e-12, axis=1) + 1
    pred = np.zeros(probs.shape, dtype=np.uint8)
    chosen = k[None, :] <= best_k[:, None]
    np.put_along_axis(pred, order, chosen.astype(np.uint8), axis=1)
    return pred


def fit_platt(y_true: np.ndarray, probs: np.ndarray, C: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-label Platt scaling: (slope, intercept) of a logistic regression of the truth on logit(p).

    A label with a single class on these rows keeps the identity (slope 1, intercept 0).
    """
    y = np.asarray(y_true, dtype=np.uint8)
    weights = fit_logistic(logit(probs)[:, :, None], y, C)
    both = (y.sum(axis=0) > 0) & (y.sum(axis=0) < len(y))
    slope = np.where(both, weights[:, 0], 1.0)
    intercept = np.where(both, weights[:, 1], 0.0)
    return slope, intercept


def apply_platt(probs: np.ndarray, slope: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Calibrated probabilities sigmoid(slope·logit(p) + intercept), per label."""
    return sigmoid(logit(probs) * np.asarray(slope)[None] + np.asarray(intercept)[None])
