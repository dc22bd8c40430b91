"""Turning probabilities into label sets with cut-offs: cut-off searches and the empty-row fallback."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers.core.metrics import fast_f1

CUTOFF_GRID: tuple[float, ...] = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2).tolist())
DEFAULT_CUTOFF = 0.5
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


def pick_best(scores: np.ndarray, grid: np.ndarray, prefer: float) -> tuple[int, float]:
    """Index of the best score; ties go to the grid value closest to `prefer` (stable, deterministic)."""
    best = scores.max()
    candidates = np.flatnonzero(scores >= best - 1e-12)
    index = int(candidates[np.argmin(np.abs(grid[candidates] - prefer))])
    return index, float(best)


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
