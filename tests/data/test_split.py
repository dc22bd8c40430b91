"""Multi-label iterative stratification: reproducible, proportional, rare labels on every side."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data.split import iterative_stratification, kfold_indices, train_val_split


def synthetic_y(n: int = 3000, seed: int = 0) -> np.ndarray:
    """Label frequencies shaped like the real data: one dominant label, a long tail, a 3-positive label."""
    rng = np.random.default_rng(seed)
    freq = np.array([0.76, 0.04, 0.15, 0.04, 0.04, 0.05, 0.04, 0.07, 0.035, 0.05, 0.02, 0.02,
                     0.008, 0.06, 0.037, 0.048, 0.05, 0.034])
    Y = (rng.random((n, 18)) < freq).astype(np.uint8)
    Y[Y.sum(axis=1) == 0, 0] = 1
    Y[:, 12] = 0
    Y[rng.choice(n, 3, replace=False), 12] = 1  # a label with only 3 positives
    return Y


def test_reproducible_and_seed_dependent():
    Y = synthetic_y()
    a = train_val_split(Y, 0.2, seed=1)
    b = train_val_split(Y, 0.2, seed=1)
    c = train_val_split(Y, 0.2, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_disjoint_complete_sorted_and_proportional(fraction):
    Y = synthetic_y()
    train, val = train_val_split(Y, fraction, seed=0)
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(Y)))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    assert abs(len(val) / len(Y) - fraction) < 0.01
    pos = Y.sum(axis=0)
    common = pos >= 50
    share = Y[val].sum(axis=0)[common] / pos[common]
    assert np.all(np.abs(share - fraction) < 0.03)  # far tighter than a random split on rare labels


def test_every_label_on_both_sides_including_rare_ones():
    Y = synthetic_y()
    for seed in range(5):
        train, val = train_val_split(Y, 0.2, seed=seed)
        assert Y[train].sum(axis=0).min() >= 1
        assert Y[val].sum(axis=0).min() >= 1


def test_label_with_two_positives_is_split():
    Y = np.zeros((40, 3), dtype=np.uint8)
    Y[:, 0] = 1
    Y[[5, 17], 1] = 1
    Y[[2, 9, 30], 2] = 1
    for seed in range(10):
        train, val = train_val_split(Y, 0.2, seed=seed)
        assert Y[val, 1].sum() == 1 and Y[train, 1].sum() == 1
        assert Y[val, 2].sum() >= 1 and Y[train, 2].sum() >= 1


def test_rare_label_hidden_behind_rarer_co_labels_is_repaired():
    # Label 1's two positives also carry labels 2 and 3 (one positive each); the greedy pass
    # assigns both rows while handling labels 2 and 3, the repair step splits label 1.
    Y = np.zeros((30, 4), dtype=np.uint8)
    Y[:, 0] = 1
    Y[[0, 1], 1] = 1
    Y[0, 2] = 1
    Y[1, 3] = 1
    for seed in range(10):
        train, val = train_val_split(Y, 0.2, seed=seed)
        assert Y[train, 1].sum() == 1 and Y[val, 1].sum() == 1


def test_single_positive_and_unlabelled_rows():
    Y = np.zeros((10, 2), dtype=np.uint8)
    Y[0, 0] = 1  # one positive: it can only be on one side
    Y[1:5, 1] = 1  # rows 5..9 carry no label at all
    train, val = train_val_split(Y, 0.3, seed=0)
    assert len(train) + len(val) == 10 and len(val) == 3
    assert Y[train, 0].sum() == 1  # the larger side gets it


def test_kfold():
    Y = synthetic_y(2000)
    folds = kfold_indices(Y, n_folds=5, seed=3)
    assert len(folds) == 5
    held = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(held), np.arange(len(Y)))
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(Y)
        assert abs(len(val) - 400) <= 10
        assert Y[val].sum(axis=0)[Y.sum(axis=0) >= 5].min() >= 1
    again = kfold_indices(Y, n_folds=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_full_size_split_keeps_every_label_on_both_sides():
    """30,000 rows (about 0.3 s on one core: a benchmark note, not asserted)."""
    Y = synthetic_y(30_000)
    train, val = train_val_split(Y, 0.2, seed=0)
    assert abs(len(val) - 6_000) <= 30 and len(train) + len(val) == 30_000
    assert Y[train].sum(axis=0)[Y.sum(axis=0) >= 2].min() >= 1 and Y[val].sum(axis=0)[Y.sum(axis=0) >= 2].min() >= 1


def test_boundaries_of_the_split():
    """The boundary cases train_val_split's docstring states."""
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(synthetic_y(10), 0.0)
    with pytest.raises(ValueError, match="cannot split 1 rows"):
        train_val_split(np.zeros((1, 18), dtype=np.uint8), 0.5)
    one_label = np.zeros((3, 18), dtype=np.uint8)
    one_label[:, 0] = 1
    train, val = train_val_split(one_label, 0.01)  # its share rounds to 0 rows, yet the label gets a side each
    assert len(val) == 1 and len(train) == 2
    train, val = train_val_split(np.zeros((4, 18), dtype=np.uint8), 0.99)  # no labels: row counts alone
    assert len(train) == 0 and val.tolist() == [0, 1, 2, 3]


def test_bad_arguments():
    Y = synthetic_y(100)
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(Y, 1.0)
    with pytest.raises(ValueError, match="n_folds"):
        kfold_indices(Y, 1)
    with pytest.raises(ValueError, match="2-D"):
        train_val_split(Y[:, 0])
    with pytest.raises(ValueError, match="cannot split"):
        iterative_stratification(Y[:2], [1, 1, 1])
