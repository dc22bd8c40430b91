"""Reproducible multi-label stratified splits (iterative stratification, Sechidis et al. 2011).

A random split of 30,000 rows leaves the rare labels (e.g. 14 parking meter, 252 rows) with
noisy counts on the validation side; iterative stratification keeps every label's proportion
close to the requested one on every side. On top of the paper's greedy pass, a small repair
step makes sure that every label with at least one positive per fold appears in every fold.
"""
from __future__ import annotations

import numpy as np


def _check_y(Y: np.ndarray) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D (rows, labels) 0/1 matrix, got shape {Y.shape}")
    return Y != 0


def _desired_label_counts(n_pos: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """(folds, labels) wanted positives per fold; at least 1 where the label has enough positives."""
    wanted = ratios[:, None] * n_pos[None, :].astype(np.float64)
    k = len(ratios)
    for j in np.flatnonzero(n_pos >= k):
        col = wanted[:, j]
        low = col < 1.0
        if low.any():
            deficit = float((1.0 - col[low]).sum())
            spare = np.where(low, 0.0, col - 1.0)
            col[~low] -= deficit * spare[~low] / spare.sum()
            col[low] = 1.0
    return wanted


def iterative_stratification(Y: np.ndarray, ratios: list[float] | np.ndarray, seed: int = 0) -> np.ndarray:
    """Assign each row of the 0/1 matrix Y to a fold, fold j getting about ratios[j] of the rows
    and of each label's positives. Returns the fold index of every row (int64)."""
    Yb = _check_y(Y)
    ratios = np.asarray(ratios, dtype=np.float64)
    if ratios.ndim != 1 or len(ratios) < 2 or (ratios <= 0).any():
        raise ValueError(f"ratios must list at least 2 positive fractions, got {ratios}")
    ratios = ratios / ratios.sum()
    n, n_labels = Yb.shape
    k = len(ratios)
    if n < k:
        raise ValueError(f"cannot split {n} rows into {k} folds")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # random processing order within each label
    label_sets = [np.flatnonzero(row).tolist() for row in Yb]

    fold_of = np.full(n, -1, dtype=np.int64)
    # Plain Python lists in the per-row loop: much faster than numpy for k x 18 numbers.
    need_rows = (ratios * n).tolist()
    need = _desired_label_counts(Yb.sum(axis=0), ratios).tolist()  # [fold][label]
    folds = range(k)
    remaining = Yb.copy()
    rem_count = remaining.sum(axis=0).astype(np.int64)

    def pick(scores: list[float]) -> int:
        top = max(scores)
        best = [f for f in folds if scores[f] == top]
        if len(best) > 1:
            top_rows = max(need_rows[f] for f in best)
            best = [f for f in best if need_rows[f] == top_rows]
        return best[0] if len(best) == 1 else int(rng.choice(best))

    while rem_count.sum() > 0:
        alive = np.flatnonzero(rem_count > 0)
        fewest = alive[rem_count[alive] == rem_count[alive].min()]
        label = int(rng.choice(fewest)) if len(fewest) > 1 else int(fewest[0])
        rows = order[remaining[order, label]].tolist()
        for r in rows:
            fold = pick([need[f][label] for f in folds])
            fold_of[r] = fold
            need_fold = need[fold]
            for j in label_sets[r]:
                need_fold[j] -= 1.0
            need_rows[fold] -= 1.0
        assigned = np.asarray(rows, dtype=np.int64)
        remaining[assigned] = False
        rem_count = remaining.sum(axis=0)
    for r in order[fold_of[order] < 0].tolist():  # rows without any label
        fold = pick(need_rows)
        fold_of[r] = fold
        need_rows[fold] -= 1.0
    _repair_missing_labels(Yb, fold_of, k)
    return fold_of


def _repair_missing_labels(Yb: np.ndarray, fold_of: np.ndarray, k: int) -> None:
    """Move single rows so that every label with >= k positives has a positive in every fold.

    A row is only moved out of a fold where each of its labels has another positive (labels too
    rare to be in every fold aside), so a move never empties a label from the fold it leaves.
    Rarely needed; changes fold sizes by a row or two.
    """
    n_pos = Yb.sum(axis=0)
    protected = n_pos >= k  # labels that can and should be in every fold
    for _ in range(4 * Yb.shape[1] * k):  # bound on the number of moves
        counts = np.stack([Yb[fold_of == f].sum(axis=0) for f in range(k)])  # (k, labels)
        gaps = [(f, j) for j in np.flatnonzero(protected) for f in range(k) if counts[f, j] == 0]
        if not gaps:
            return
        target, label = gaps[0]
        moved = False
        for source in np.argsort(-counts[:, label], kind="stable"):
            if counts[source, label] < 2:
                break
            for r in np.flatnonzero((fold_of == source) & Yb[:, label]):
                if ((counts[source] >= 2) | ~protected)[Yb[r]].all():
                    fold_of[r] = target
                    moved = True
                    break
            if moved:
                break
        if not moved:
            return  # no safe move exists; leave the greedy result


def train_val_split(Y: np.ndarray, val_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation split of the rows of Y; returns sorted (train_idx, val_idx).

    Boundaries: val_fraction must lie strictly between 0 and 1, and Y needs at least 2 rows. Every label
    with at least 2 positives gets a positive on both sides, even when val_fraction would round its share
    to 0 (3 rows of one label at val_fraction 0.01 -> 1 validation row). Rows without labels follow the
    row counts alone, so a side can be empty (4 unlabelled rows at val_fraction 0.99 -> no training row).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    fold_of = iterative_stratification(Y, [1.0 - val_fraction, val_fraction], seed=seed)
    return np.flatnonzero(fold_of == 0), np.flatnonzero(fold_of == 1)


def kfold_indices(Y: np.ndarray, n_folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold: a list of n_folds sorted (train_idx, held_out_idx) pairs; held-out parts
    are disjoint and cover every row once."""
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    fold_of = iterative_stratification(Y, np.full(n_folds, 1.0 / n_folds), seed=seed)
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(n_folds)]
