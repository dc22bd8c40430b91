"""Fusion rules, cut-off search, empty-row fallback, cross-fitting, alignment and the size budget."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from fusion_fakes import fake_pair, fake_truth
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from helpers.data.split import kfold_indices
from helpers.fusion import methods as fusion
from helpers.report import size_budget as model_size


@pytest.fixture(scope="module")
def data():
    Y = fake_truth(600, seed=3)
    p_img, p_txt = fake_pair(Y, seed=3)
    return Y, p_img, p_txt


def test_weighted_average_global_and_per_label():
    a, b = np.full((2, 18), 0.8), np.full((2, 18), 0.2)
    assert np.allclose(fusion.weighted_average(a, b, 1.0), 0.8)
    assert np.allclose(fusion.weighted_average(a, b, 0.0), 0.2)
    assert np.allclose(fusion.weighted_average(a, b, 0.25), 0.25 * 0.8 + 0.75 * 0.2)
    lam = np.linspace(0, 1, 18)
    assert np.allclose(fusion.weighted_average(a, b, lam)[0], lam * 0.8 + (1 - lam) * 0.2)


def test_empty_row_fallback_emits_most_probable_label_only_on_empty_rows():
    probs = np.array([[0.1, 0.4, 0.3], [0.9, 0.2, 0.7]])
    pred = np.array([[0, 0, 0], [1, 0, 1]], dtype=np.uint8)
    out = fusion.ensure_nonempty(pred, probs)
    assert out.tolist() == [[0, 1, 0], [1, 0, 1]]
    assert pred.tolist() == [[0, 0, 0], [1, 0, 1]]  # input untouched
    assert fusion.apply_cutoffs(probs, 0.5, fallback=False)[0].sum() == 0
    assert fusion.apply_cutoffs(probs, 0.5, fallback=True)[0].tolist() == [0, 1, 0]


def test_fast_score_matches_sklearn(data):
    Y, p_img, _ = data
    pred = fusion.apply_cutoffs(p_img, 0.3, fallback=False)
    assert fusion.fast_score(Y, pred, "micro_f1") == pytest.approx(f1_score(Y, pred, average="micro"))
    assert fusion.fast_score(Y, pred, "samples_f1") == pytest.approx(
        f1_score(Y, pred, average="samples", zero_division=0))
    with pytest.raises(ValueError, match="objective"):
        fusion.fast_score(Y, pred, "accuracy")


def test_label_cutoffs_are_the_best_on_the_grid(data):
    Y, p_img, _ = data
    cutoffs = fusion.best_label_cutoffs(Y, p_img)
    for j in (0, 2, 7, 12):  # a frequent, two mid and a rare label (sklearn is slow on the whole grid)
        chosen = f1_score(Y[:, j], p_img[:, j] >= cutoffs[j], zero_division=0)
        best = max(f1_score(Y[:, j], p_img[:, j] >= c, zero_division=0) for c in fusion.CUTOFF_GRID)
        assert chosen == pytest.approx(best)


def test_label_without_positives_keeps_default_cutoff():
    Y = np.zeros((50, 18), dtype=np.uint8)
    Y[:, 0] = 1
    probs = np.random.default_rng(0).random((50, 18))
    cutoffs = fusion.best_label_cutoffs(Y, probs)
    assert (cutoffs[1:] == fusion.DEFAULT_CUTOFF).all()


def test_global_cutoff_search_finds_a_separating_cutoff():
    Y = np.zeros((40, 18), dtype=np.uint8)
    Y[:20, 0] = 1
    Y[20:, 1] = 1
    probs = np.where(Y == 1, 0.3, 0.1)  # perfect ranking, but 0.5 would predict nothing
    cutoff, score = fusion.best_global_cutoff(Y, probs, "micro_f1")
    assert 0.1 < cutoff <= 0.3 and score == pytest.approx(1.0)
    assert fusion.fast_score(Y, fusion.apply_cutoffs(probs, 0.5, False), "micro_f1") == 0.0


def test_lambda_sweep_endpoints_are_the_single_models(data):
    Y, p_img, p_txt = data
    sweep = fusion.lambda_sweep(Y, p_img, p_txt)
    assert sweep["lambda"].tolist() == pytest.approx([i / 10 for i in range(11)])
    image_only = f1_score(Y, p_img >= 0.5, average="micro")
    text_only = f1_score(Y, p_txt >= 0.5, average="micro")
    assert sweep.iloc[-1]["micro_f1"] == pytest.approx(image_only)
    assert sweep.iloc[0]["micro_f1"] == pytest.approx(text_only)


def test_newton_logistic_matches_sklearn(data):
    Y, p_img, p_txt = data
    X = fusion._features("logistic", p_img, p_txt)
    weights = fusion.fit_logistic(X, Y, C=0.5)
    for j in (0, 2, 7):
        ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=5000).fit(X[:, j], Y[:, j])
        assert np.allclose(weights[j, :-1], ref.coef_[0], atol=1e-4)
        assert weights[j, -1] == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_logistic_falls_back_to_average_for_single_class_label(data):
    Y, p_img, p_txt = data
    Y = Y.copy()
    Y[:, 5] = 0
    fitted = fusion.fit_fusion(fusion.FusionMethod("lr", "logistic", "label"), Y, p_img, p_txt)
    assert not fitted.learned[5] and fitted.learned[0]
    probs = fitted.proba(p_img, p_txt)
    assert np.allclose(probs[:, 5], fusion.weighted_average(p_img, p_txt, fitted.lam)[:, 5])


def test_cross_fit_scores_rows_only_by_fits_that_did_not_see_them(data):
    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    method = fusion.FusionMethod("avg", "average", "label")
    result = fusion.cross_fit(method, Y, p_img, p_txt, folds)
    for (fit_rows, held), fitted in zip(folds, result.fits, strict=True):
        refit = fusion.fit_fusion(method, Y[fit_rows], p_img[fit_rows], p_txt[fit_rows])
        assert np.array_equal(refit.cutoffs, fitted.cutoffs)
        assert np.array_equal(result.pred[held], refit.predict(p_img[held], p_txt[held]))
    with pytest.raises(ValueError, match="exactly once"):
        fusion.cross_fit(method, Y, p_img, p_txt, folds[:2])


def test_best_fusion_beats_both_single_models_out_of_fold_and_is_deterministic(data):
    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    methods = fusion.standard_methods()
    table, _ = fusion.compare_methods(methods, Y, p_img, p_txt, folds)
    chosen = fusion.best_method(table, methods, "samples_f1")
    scores = table.set_index("method")
    for single in methods[:4]:
        assert scores.loc[chosen.name, "samples_f1"] > scores.loc[single.name, "samples_f1"]
    again, _ = fusion.compare_methods(methods, Y, p_img, p_txt, folds)
    pd.testing.assert_frame_equal(table, again)
    with_fallback = table[table["fallback"]]
    assert (with_fallback["empty_rows"] == 0).all()


def test_fitted_fusion_round_trips_through_npz_and_half_precision(tmp_path, data):
    Y, p_img, p_txt = data
    fitted = fusion.fit_fusion(fusion.FusionMethod("lr36", "logistic_all", "label", C=0.3), Y, p_img, p_txt)
    loaded = fusion.FittedFusion.load(fitted.save(tmp_path / "fusion.npz"))
    assert loaded.method == fitted.method
    assert np.array_equal(loaded.predict(p_img, p_txt), fitted.predict(p_img, p_txt))
    check = fitted.half_precision_check(p_img, p_txt)
    assert check["changed_decisions"] < 0.01 and check["max_probability_change"] < 0.01


def test_align_probabilities_reorders_and_rejects_other_rows():
    probs = np.arange(3 * 18, dtype=np.float32).reshape(3, 18)
    out = fusion.align_probabilities(["b", "c", "a"], ["a", "b", "c"], probs, "cnn val")
    assert np.array_equal(out, probs[[1, 2, 0]])
    with pytest.raises(ValueError, match=r"cnn val: 1 expected ImageID\(s\) missing.*'d'.*unexpected.*'c'"):
        fusion.align_probabilities(["a", "b", "d"], ["a", "b", "c"], probs, "cnn val")


def test_invalid_method_is_rejected():
    with pytest.raises(ValueError, match="combine"):
        fusion.FusionMethod("x", combine="max")
    with pytest.raises(ValueError, match="per label goes with"):
        fusion.FusionMethod("x", combine="label_average", cutoffs="global")


# ----------------------------------------------------------------------------- size budget
def test_half_precision_state_dict_keeps_predictions_and_halves_size():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.BatchNorm1d(64),
                                torch.nn.Linear(64, 18)).eval()
    state = model.state_dict()
    half = model_size.to_half(state)
    assert half["0.weight"].dtype == torch.float16
    assert half["2.num_batches_tracked"].dtype == torch.int64
    assert model_size.tensor_bytes(half, half=True) < 0.51 * model_size.tensor_bytes(state) + 64
    x = torch.randn(256, 32)
    with torch.no_grad():
        before = torch.sigmoid(model(x))
        model.load_state_dict(model_size.to_float(half))
        after = torch.sigmoid(model(x))
    assert (before - after).abs().max() < 5e-3
    assert ((before >= 0.5) != (after >= 0.5)).float().mean() < 0.01


def test_size_budget_counts_files_extra_and_total(tmp_path):
    weights = tmp_path / "head.pt"
    torch.save({"w": torch.zeros(1000, 250), "steps": torch.zeros(3, dtype=torch.int64)}, weights)
    model_file = tmp_path / "lstm.pt"
    torch.save({"config": {"a": 1}, "state_dict": {"embedding.weight": torch.zeros(100, 10),
                                                   "fc.weight": torch.zeros(18, 10)}}, model_file)
    torch.save(model_size.to_half(torch.load(model_file, weights_only=True)["state_dict"]), tmp_path / "lstm_fp16.pt")
    vocab = tmp_path / "vocab.json"
    vocab.write_text("x" * 5000)
    summaries = {
        "cnn": {"weights": [str(weights)], "size_bytes": 1_000_000 + 24 + 84_000_000},  # + a backbone in the cache
        "lstm": {"weights": ["vocab.json", "lstm.pt", "lstm_fp16.pt"], "size_bytes": 5000 + 4 * 1180},
    }
    table = model_size.with_total(model_size.size_budget(summaries, tmp_path, extra={"fusion parameters": 100}))
    rows = table.set_index("component")
    assert rows.loc["head.pt", "parameters"] == 250_000
    assert rows.loc["head.pt", "float32_MB"] == pytest.approx(1.000024)
    assert rows.loc["head.pt", "float16_MB"] == pytest.approx(0.500024)
    assert rows.loc["vocab.json", "float16_MB"] == pytest.approx(0.005)
    assert rows.loc["lstm.pt: embedding", "parameters"] == 1000 and rows.loc["lstm.pt: fc", "parameters"] == 180
    assert not rows.index.str.contains("fp16").any()  # the half-precision copy is not counted twice
    assert rows.filter(like="size_bytes", axis=0)["float32_MB"].iloc[0] == pytest.approx(84.0)
    total = table[table["model"] == "total"].iloc[0]
    assert total["float32_MB"] == pytest.approx(1.000024 + 0.005 + 0.00472 + 84.0 + 0.0004)
    assert bool(total["fits_budget_float32"]) and bool(total["fits_budget_float16"])
    over = model_size.with_total(model_size.size_budget({"cnn": {"weights": [], "size_bytes": 150_000_000}},
                                                        tmp_path))
    assert not over["fits_budget_float32"].iloc[-1] and over["fits_budget_float16"].iloc[-1]


def test_size_budget_names_a_missing_weight_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.pt.*rerun the notebook"):
        model_size.size_budget({"cnn": {"weights": ["gone.pt"], "size_bytes": 0}}, tmp_path)
