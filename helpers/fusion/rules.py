"""Fusion rules: the arithmetic that combines two probability sources and turns probabilities into label sets.

- the reference study's weighted average of the two models' probabilities, and its λ sweep;
- L2-regularised logistic regression for many labels at once (Newton's method), and the logit transform;
- cut-offs: cut-off searches (fixed, global, per label) and the empty-row fallback;
- a per-row decision rule for samples-F1: predict, for each row, the label set with the highest expected F1.

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

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.core.metrics import CUTOFF_GRID, DEFAULT_CUTOFF, fast_f1, multilabel_scores, pick_best

_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), probabilities clipped to [1e-6, 1 - 1e-6] so that 0 and 1 stay finite."""
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def _logistic_loss(X1: np.ndarray, y: np.ndarray, w: np.ndarray, C: float) -> np.ndarray:
    z = np.einsum("nlf,lf->nl", X1, w)
    return C * (np.logaddexp(0.0, z) - y * z).sum(axis=0) + 0.5 * (w[:, :-1] ** 2).sum(axis=1)


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0, max_iter: int = 50, tol: float = 1e-8) -> np.ndarray:
    """L2-regularised logistic regression for every label at once (Newton's method with step halving).

    X: (n, labels, features) inputs per label; y: (n, labels) 0/1. Minimises, per label,
    C·Σ log-loss + ½·|w|² with an unpenalised intercept (scikit-learn's LogisticRegression
    objective, same solution). Returns (labels, features + 1) weights, the intercept last.
    Vectorised numpy: deterministic and far faster than one scikit-learn fit per label. BLAS runs
    single-threaded here: these matrices are small, and on a busy 2-core machine its threads only
    contend (measured 40x slower).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _newton_logistic(X, y, C, max_iter, tol)


def _newton_logistic(X: np.ndarray, y: np.ndarray, C: float, max_iter: int, tol: float) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, n_labels, n_features = X.shape
    X1 = np.ascontiguousarray(np.concatenate([X, np.ones((n, n_labels, 1))], axis=2))
    penalty = np.eye(n_features + 1)
    penalty[-1, -1] = 1e-10  # intercept not penalised (tiny value keeps the Hessian invertible)
    w = np.zeros((n_labels, n_features + 1))
    loss = _logistic_loss(X1, y, w, C)
    for _ in range(max_iter):
        p = sigmoid(np.einsum("nlf,lf->nl", X1, w))
        grad = C * np.einsum("nlf,nl->lf", X1, p - y) + penalty.diagonal() * w
        by_label = X1.transpose(1, 0, 2)  # (labels, n, features + 1): batched matrix products below
        hess = C * (by_label.transpose(0, 2, 1) @ (by_label * (p * (1 - p)).T[:, :, None])) + penalty[None]
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        scale = np.ones(n_labels)
        for _ in range(30):  # halve the step where it does not lower the loss
            trial = w - scale[:, None] * step
            new_loss = _logistic_loss(X1, y, trial, C)
            worse = new_loss > loss + 1e-12
            if not worse.any():
                break
            scale[worse] *= 0.5
        w, decrease = trial, loss - new_loss
        loss = new_loss
        if (np.abs(decrease) <= tol * np.maximum(1.0, np.abs(loss))).all():
            break
    return w


OBJECTIVES = ("micro_f1", "samples_f1")


def ensure_nonempty(pred: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Rows with no predicted label get their most probable label (an empty row scores 0 samples-F1)."""
    pred = np.array(pred, dtype=np.uint8, copy=True)
    empty = ~pred.any(axis=1)
    if empty.any():
        pred[np.flatnonzero(empty), np.argmax(np.asarray(probs)[empty], axis=1)] = 1
    return pred


def apply_cutoffs(probs: np.ndarray, cutoffs: float | np.ndarray, fallback: bool) -> np.ndarray:
    """0/1 predictions (probability >= cut-off), with the empty-row fallback if asked."""
    pred = (np.asarray(probs) >= np.asarray(cutoffs)).astype(np.uint8)
    return ensure_nonempty(pred, probs) if fallback else pred


def label_f1_grid(y_true: np.ndarray, probs: np.ndarray, grid: Sequence[float] = CUTOFF_GRID) -> np.ndarray:
    """Per-label F1 at every cut-off of the grid: array (18, len(grid))."""
    y = np.asarray(y_true, dtype=bool)[:, :, None]
    pred = np.asarray(probs)[:, :, None] >= np.asarray(grid)[None, None, :]
    tp = (pred & y).sum(axis=0)
    denom = pred.sum(axis=0) + y.sum(axis=0)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def best_label_cutoffs(y_true: np.ndarray, probs: np.ndarray, grid: Sequence[float] = CUTOFF_GRID) -> np.ndarray:
    """One cut-off per label maximising that label's F1 on these rows.

    A label without a positive on these rows (its F1 is 0 everywhere) keeps the default 0.5.
    """
    grid = np.asarray(grid, dtype=np.float64)
    f1 = label_f1_grid(y_true, probs, grid)
    cutoffs = np.full(f1.shape[0], DEFAULT_CUTOFF)
    for j in range(f1.shape[0]):
        if f1[j].max() > 0:
            cutoffs[j] = grid[pick_best(f1[j], grid, DEFAULT_CUTOFF)[0]]
    return cutoffs


def best_global_cutoff(y_true: np.ndarray, probs: np.ndarray, objective: str = "micro_f1",
                       fallback: bool = False, grid: Sequence[float] = CUTOFF_GRID) -> tuple[float, float]:
    """(cut-off, score): the one cut-off for every label that maximises the objective on these rows."""
    grid = np.asarray(grid, dtype=np.float64)
    scores = np.array([fast_f1(y_true, apply_cutoffs(probs, c, fallback), objective) for c in grid])
    index, best = pick_best(scores, grid, DEFAULT_CUTOFF)
    return float(grid[index]), best


LAMBDA_GRID: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())


def weighted_average(p_image: np.ndarray, p_text: np.ndarray, lam: float | np.ndarray) -> np.ndarray:
    """λ·P_img + (1 − λ)·P_text; λ is one number or one per label."""
    lam = np.asarray(lam, dtype=np.float64)
    return (lam * np.asarray(p_image, dtype=np.float64) + (1.0 - lam) * np.asarray(p_text, dtype=np.float64))


def lambda_sweep(y_true: np.ndarray, p_image: np.ndarray, p_text: np.ndarray,
                 lambdas: Sequence[float] = LAMBDA_GRID, cutoff: float = DEFAULT_CUTOFF) -> pd.DataFrame:
    """The reference's fusion over a λ grid: one global cut-off, no fallback, all five metrics per λ."""
    rows = []
    for lam in lambdas:
        pred = apply_cutoffs(weighted_average(p_image, p_text, lam), cutoff, fallback=False)
        rows.append({"lambda": float(lam), "cutoff": float(cutoff), **multilabel_scores(y_true, pred)})
    return pd.DataFrame(rows)


def sweep_predictions(p_image: np.ndarray, p_text: np.ndarray, lambdas: Sequence[float] = LAMBDA_GRID,
                      cutoff: float = DEFAULT_CUTOFF) -> dict[float, np.ndarray]:
    """The 0/1 predictions behind each row of lambda_sweep (for bootstrap intervals)."""
    return {float(lam): apply_cutoffs(weighted_average(p_image, p_text, lam), cutoff, fallback=False)
            for lam in lambdas}


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
