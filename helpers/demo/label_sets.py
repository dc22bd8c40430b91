"""Label sets of the demo data set, fitted to the real label counts, labels per row and co-occurrence.

The number of labels per row is fixed first, by exact rounding of the real labels-per-row histogram.
Each row then gets labels drawn one after the other, weighted by the real frequencies times the real
co-occurrence lift with the labels already chosen. A few sweeps of greedy swaps (replace one label
of a row by another when it lowers the squared relative error of the 18 x 18 co-occurrence matrix,
whose diagonal holds the label counts) then bring label counts and co-occurrences to the real
figures scaled by n / 30,000.
"""
from __future__ import annotations

import random

import numpy as np

from helpers.core.facts import load_facts
from helpers.core.labels import LABEL_IDS, N_LABELS
from helpers.demo.sampling import REAL_ROWS, histogram_draw

SWAP_SWEEPS = 20  # greedy swap proposals per row when fitting the label sets
ERROR_FLOOR = 100  # co-occurrence entries below this (at 30,000 rows) are fitted in absolute terms
DIAGONAL_WEIGHT = 20.0  # label counts matter most; small sets cannot match every tiny co-occurrence


def _target_cooccurrence(n: int) -> np.ndarray:
    return np.asarray(load_facts()["cooccurrence_counts"], float) * n / REAL_ROWS


def _labels_per_row(n: int, rng: np.random.Generator) -> np.ndarray:
    return histogram_draw({int(k): v for k, v in load_facts()["labels_per_example"].items()}, n, rng)


def _initial_label_sets(ks: np.ndarray, rng: np.random.Generator) -> list[list[int]]:
    """Draw each row's labels one by one: frequency times co-occurrence lift with those chosen."""
    real = np.asarray(load_facts()["cooccurrence_counts"], float)
    freq = real.diagonal() / real.diagonal().sum()
    lift = (real + 0.5) / (np.outer(real.diagonal(), real.diagonal()) / REAL_ROWS)
    np.fill_diagonal(lift, 0.0)  # never the same label twice
    rows: list[list[int]] = [[] for _ in ks]
    for k in np.unique(ks):
        members = np.flatnonzero(ks == k)
        weights = np.tile(freq, (len(members), 1))
        for _ in range(k):
            cumulative = np.cumsum(weights, axis=1)
            u = rng.random(len(members)) * cumulative[:, -1]
            picks = (cumulative <= u[:, None]).sum(axis=1)  # a zero weight is never picked
            for row, col in zip(members, picks, strict=True):
                rows[row].append(int(col))
            weights = weights * lift[picks]
    return rows


def _refine_label_sets(rows: list[list[int]], target: np.ndarray, rng: random.Random, sweeps: int) -> None:
    """Greedy swaps (one label of a row for another) that lower the weighted squared error, in place.

    The error of an entry is (count - target) / max(target, floor): relative for large entries,
    absolute (in units of the floor) for small ones; label counts (the diagonal) weigh more.
    Rows keep their number of labels.
    """
    floor = max(ERROR_FLOOR * len(rows) / REAL_ROWS, 3.0)
    current = np.zeros((N_LABELS, N_LABELS))
    for row in rows:
        current[np.ix_(row, row)] += 1
    err = (current - target).tolist()
    weight_matrix = 1.0 / np.maximum(target, floor) ** 2
    weight_matrix[np.diag_indices(N_LABELS)] *= DIAGONAL_WEIGHT
    weight = weight_matrix.tolist()
    n = len(rows)
    for _ in range(sweeps * n):
        row = rows[rng.randrange(n)]
        a = row[rng.randrange(len(row))]
        b = rng.randrange(N_LABELS)
        if b in row:
            continue
        ea, eb, wa, wb = err[a], err[b], weight[a], weight[b]
        # Change of sum(w * e^2) when entry e moves by -1 (row a) or +1 (row b).
        delta = wa[a] * (1 - 2 * ea[a]) + wb[b] * (1 + 2 * eb[b])
        for j in row:
            if j != a:
                delta += wa[j] * (1 - 2 * ea[j]) + wb[j] * (1 + 2 * eb[j])
        if delta >= 0:
            continue
        ea[a] -= 1
        eb[b] += 1
        for j in row:
            if j != a:
                ea[j] -= 1
                err[j][a] -= 1
                eb[j] += 1
                err[j][b] += 1
        row[row.index(a)] = b


def sample_label_sets(n: int, seed: int = 0, sweeps: int = SWAP_SWEEPS) -> list[list[int]]:
    """n label sets (label ids, ascending) matching the real label counts, labels per row and co-occurrence."""
    if n <= 0:
        return []
    rng = np.random.default_rng(seed)
    rows = _initial_label_sets(_labels_per_row(n, rng), rng)
    _refine_label_sets(rows, _target_cooccurrence(n), random.Random(seed), sweeps)
    return [sorted(LABEL_IDS[col] for col in row) for row in rows]
