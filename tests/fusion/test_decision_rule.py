"""helpers.fusion.rules: the per-row expected-F1 decision rule and Platt calibration."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from helpers.fusion import rules as decision


def _subsets(n: int) -> np.ndarray:
    """Every non-empty 0/1 subset of n labels, (2^n - 1, n)."""
    return np.array([s for s in itertools.product((0, 1), repeat=n) if any(s)], dtype=np.uint8)


def _exact_expected_f1(p: np.ndarray, subset: np.ndarray) -> float:
    """E[F1] of predicting `subset` when each label is true independently with probability p (all 2^n outcomes)."""
    total = 0.0
    for truth in itertools.product((0, 1), repeat=len(p)):
        truth = np.array(truth)
        weight = np.prod(np.where(truth == 1, p, 1 - p))
        tp = int((truth & subset).sum())
        total += weight * (2 * tp / (truth.sum() + subset.sum()))
    return total


def test_a_worked_example():
    # Σp = 1.8: k=1 -> 1.8/2.8 = 0.64, k=2 -> 3.4/3.8 = 0.89, k=3 -> 3.6/4.8 = 0.75: keep the two likely labels
    pred = decision.expected_f1_sets(np.array([[0.1, 0.9, 0.8]]))
    assert pred.tolist() == [[0, 1, 1]]
    assert decision.expected_f1_sets(np.array([[0.01, 0.02, 0.03]])).tolist() == [[0, 0, 1]]  # never empty


@pytest.mark.parametrize("seed", range(5))
def test_the_rule_finds_the_best_set_for_the_plugin_objective_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    probs = rng.beta(0.5, 0.8, size=(40, 6))
    pred = decision.expected_f1_sets(probs)
    subsets = _subsets(6)
    for row in range(len(probs)):
        values = decision.plugin_expected_f1(np.repeat(probs[row : row + 1], len(subsets), axis=0), subsets)
        chosen = decision.plugin_expected_f1(probs[row : row + 1], pred[row : row + 1])[0]
        assert chosen == pytest.approx(values.max(), abs=1e-12)


def test_the_plugin_choice_is_close_to_the_exact_expected_f1_optimum():
    rng = np.random.default_rng(7)
    probs = rng.beta(0.5, 0.8, size=(25, 5))
    pred = decision.expected_f1_sets(probs)
    subsets = _subsets(5)
    gaps = []
    for row in range(len(probs)):
        exact = np.array([_exact_expected_f1(probs[row], s) for s in subsets])
        best = subsets[int(np.argmax(exact))]
        order = np.argsort(-probs[row])
        assert set(np.flatnonzero(best)) == set(order[: best.sum()])  # the exact optimum is a top-k set too
        gaps.append(exact.max() - _exact_expected_f1(probs[row], pred[row]))
    assert max(gaps) < 0.05 and np.mean(gaps) < 0.01


def test_platt_scaling_repairs_miscalibrated_probabilities_and_keeps_calibrated_ones():
    rng = np.random.default_rng(0)
    p_true = rng.uniform(0.02, 0.98, size=(4000, 18))
    y = (rng.random(p_true.shape) < p_true).astype(np.uint8)
    slope, intercept = decision.fit_platt(y, p_true)
    assert np.allclose(slope, 1, atol=0.15) and np.allclose(intercept, 0, atol=0.15)
    squashed = p_true ** 3  # far too low
    fixed = decision.apply_platt(squashed, *decision.fit_platt(y, squashed))
    assert np.abs(fixed.mean(0) - y.mean(0)).max() < 0.02 < np.abs(squashed.mean(0) - y.mean(0)).min()
    y[:, 4] = 0  # a single-class label keeps the identity
    slope, intercept = decision.fit_platt(y, p_true)
    assert slope[4] == 1 and intercept[4] == 0
