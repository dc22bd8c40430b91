"""helpers.fusion.rules: averages, cut-offs, the empty-row fallback, the logistic fit, the λ sweep."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from helpers.core.metrics import fast_f1
from helpers.fusion import methods, rules
from helpers.fusion import rules as cut
from tests.fusion_fakes import fake_pair, fake_truth


@pytest.fixture(scope="module")
def data():
    Y = fake_truth(600, seed=3)
    p_img, p_txt = fake_pair(Y, seed=3)
    return Y, p_img, p_txt


def test_weighted_average_global_and_per_label():
    a, b = np.full((2, 18), 0.8), np.full((2, 18), 0.2)
    assert np.allclose(rules.weighted_average(a, b, 1.0), 0.8)
    assert np.allclose(rules.weighted_average(a, b, 0.0), 0.2)
    assert np.allclose(rules.weighted_average(a, b, 0.25), 0.25 * 0.8 + 0.75 * 0.2)
    lam = np.linspace(0, 1, 18)
    assert np.allclose(rules.weighted_average(a, b, lam)[0], lam * 0.8 + (1 - lam) * 0.2)


def test_empty_row_fallback_emits_most_probable_label_only_on_empty_rows():
    probs = np.array([[0.1, 0.4, 0.3], [0.9, 0.2, 0.7]])
    pred = np.array([[0, 0, 0], [1, 0, 1]], dtype=np.uint8)
    out = cut.ensure_nonempty(pred, probs)
    assert out.tolist() == [[0, 1, 0], [1, 0, 1]]
    assert pred.tolist() == [[0, 0, 0], [1, 0, 1]]  # input untouched
    assert cut.apply_cutoffs(probs, 0.5, fallback=False)[0].sum() == 0
    assert cut.apply_cutoffs(probs, 0.5, fallback=True)[0].tolist() == [0, 1, 0]


def test_fast_f1_matches_sklearn(data):
    Y, p_img, _ = data
    pred = cut.apply_cutoffs(p_img, 0.3, fallback=False)
    assert fast_f1(Y, pred, "micro_f1") == pytest.approx(f1_score(Y, pred, average="micro"))
    assert fast_f1(Y, pred, "samples_f1") == pytest.approx(
        f1_score(Y, pred, average="samples", zero_division=0))
    with pytest.raises(ValueError, match="objective"):
        fast_f1(Y, pred, "accuracy")


def test_label_cutoffs_are_the_best_on_the_grid(data):
    Y, p_img, _ = data
    cutoffs = cut.best_label_cutoffs(Y, p_img)
    for j in (0, 2, 7, 12):  # a frequent, two mid and a rare label (sklearn is slow on the whole grid)
        chosen = f1_score(Y[:, j], p_img[:, j] >= cutoffs[j], zero_division=0)
        best = max(f1_score(Y[:, j], p_img[:, j] >= c, zero_division=0) for c in cut.CUTOFF_GRID)
        assert chosen == pytest.approx(best)


def test_label_without_positives_keeps_default_cutoff():
    Y = np.zeros((50, 18), dtype=np.uint8)
    Y[:, 0] = 1
    probs = np.random.default_rng(0).random((50, 18))
    cutoffs = cut.best_label_cutoffs(Y, probs)
    assert (cutoffs[1:] == cut.DEFAULT_CUTOFF).all()


def test_global_cutoff_search_finds_a_separating_cutoff():
    Y = np.zeros((40, 18), dtype=np.uint8)
    Y[:20, 0] = 1
    Y[20:, 1] = 1
    probs = np.where(Y == 1, 0.3, 0.1)  # perfect ranking, but 0.5 would predict nothing
    cutoff, score = cut.best_global_cutoff(Y, probs, "micro_f1")
    assert 0.1 < cutoff <= 0.3 and score == pytest.approx(1.0)
    assert fast_f1(Y, cut.apply_cutoffs(probs, 0.5, False), "micro_f1") == 0.0


def test_lambda_sweep_endpoints_are_the_single_models(data):
    Y, p_img, p_txt = data
    sweep = rules.lambda_sweep(Y, p_img, p_txt)
    assert sweep["lambda"].tolist() == pytest.approx([i / 10 for i in range(11)])
    image_only = f1_score(Y, p_img >= 0.5, average="micro")
    text_only = f1_score(Y, p_txt >= 0.5, average="micro")
    assert sweep.iloc[-1]["micro_f1"] == pytest.approx(image_only)
    assert sweep.iloc[0]["micro_f1"] == pytest.approx(text_only)


def test_newton_logistic_matches_sklearn(data):
    Y, p_img, p_txt = data
    X = methods._features("logistic", p_img, p_txt)
    weights = rules.fit_logistic(X, Y, C=0.5)
    for j in (0, 2, 7):
        ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=5000).fit(X[:, j], Y[:, j])
        assert np.allclose(weights[j, :-1], ref.coef_[0], atol=1e-4)
        assert weights[j, -1] == pytest.approx(ref.intercept_[0], abs=1e-4)
