"""Fusion rules, cut-off search, empty-row fallback, cross-fitting, alignment and the size budget."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from helpers.core.metrics import fast_f1
from helpers.data.split import kfold_indices
from helpers.fusion import crossfit, inputs, methods, rules
from helpers.fusion import methods as catalogue
from helpers.fusion import rules as cut
from helpers.models import weights as model_size
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


def test_logistic_falls_back_to_average_for_single_class_label(data):
    Y, p_img, p_txt = data
    Y = Y.copy()
    Y[:, 5] = 0
    fitted = methods.fit_fusion(methods.FusionMethod("lr", "logistic", "label"), Y, p_img, p_txt)
    assert not fitted.learned[5] and fitted.learned[0]
    probs = fitted.proba(p_img, p_txt)
    assert np.allclose(probs[:, 5], rules.weighted_average(p_img, p_txt, fitted.lam)[:, 5])


def test_cross_fit_scores_rows_only_by_fits_that_did_not_see_them(data):
    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    method = methods.FusionMethod("avg", "average", "label")
    result = crossfit.cross_fit(method, Y, p_img, p_txt, folds)
    for (fit_rows, held), fitted in zip(folds, result.fits, strict=True):
        refit = methods.fit_fusion(method, Y[fit_rows], p_img[fit_rows], p_txt[fit_rows])
        assert np.array_equal(refit.cutoffs, fitted.cutoffs)
        assert np.array_equal(result.pred[held], refit.predict(p_img[held], p_txt[held]))
    with pytest.raises(ValueError, match="exactly once"):
        crossfit.cross_fit(method, Y, p_img, p_txt, folds[:2])


def test_best_fusion_beats_both_single_models_out_of_fold_and_is_deterministic(data):
    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    methods = catalogue.standard_methods()
    table, _ = crossfit.compare_methods(methods, Y, {"image": p_img, "text": p_txt}, folds)
    chosen = crossfit.best_method(table, methods, "samples_f1")
    scores = table.set_index("method")
    for single in methods[:4]:
        assert scores.loc[chosen.name, "samples_f1"] > scores.loc[single.name, "samples_f1"]
    again, _ = crossfit.compare_methods(methods, Y, {"image": p_img, "text": p_txt}, folds)
    pd.testing.assert_frame_equal(table, again)
    with_fallback = table[table["fallback"].fillna(True).astype(bool)]  # or the row rule
    assert (with_fallback["empty_rows"] == 0).all()


def test_fitted_fusion_round_trips_through_npz_and_half_precision(tmp_path, data):
    Y, p_img, p_txt = data
    fitted = methods.fit_fusion(methods.FusionMethod("lr36", "logistic_all", "label", C=0.3), Y, p_img, p_txt)
    loaded = methods.FittedFusion.load(fitted.save(tmp_path / "fusion.npz"))
    assert loaded.method == fitted.method
    assert np.array_equal(loaded.predict(p_img, p_txt), fitted.predict(p_img, p_txt))
    check = fitted.half_precision_check(p_img, p_txt)
    assert check["changed_decisions"] < 0.01 and check["max_probability_change"] < 0.01


def test_align_probabilities_reorders_and_rejects_other_rows():
    probs = np.arange(3 * 18, dtype=np.float32).reshape(3, 18)
    out = inputs.align_probabilities(["b", "c", "a"], ["a", "b", "c"], probs, "cnn val")
    assert np.array_equal(out, probs[[1, 2, 0]])
    with pytest.raises(ValueError, match=r"cnn val: 1 expected ImageID\(s\) missing.*'d'.*unexpected.*'c'"):
        inputs.align_probabilities(["a", "b", "d"], ["a", "b", "c"], probs, "cnn val")


def test_invalid_method_is_rejected():
    with pytest.raises(ValueError, match="combine"):
        methods.FusionMethod("x", combine="max")
    with pytest.raises(ValueError, match="per label goes with"):
        methods.FusionMethod("x", combine="label_average", cutoffs="global")


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
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})
        after = torch.sigmoid(model(x))
    assert (before - after).abs().max() < 5e-3
    assert ((before >= 0.5) != (after >= 0.5)).float().mean() < 0.01




def test_row_rule_and_calibration_round_trip_with_their_sources(tmp_path, data):
    Y, p_img, p_txt = data
    method = methods.FusionMethod("lr + calibrated rows", "logistic", "row_f1", calibrate=True,
                                  sources=("joint concat", "text"))
    fitted = methods.fit_fusion(method, Y, p_img, p_txt)
    assert not np.allclose(fitted.platt_slope, 1.0)
    pred = fitted.predict(p_img, p_txt)
    assert pred.any(axis=1).all()  # the per-row rule never leaves a row empty
    loaded = methods.FittedFusion.load(fitted.save(tmp_path / "rows.npz"))
    assert loaded.method == method and loaded.method.sources == ("joint concat", "text")
    assert np.array_equal(loaded.predict(p_img, p_txt), pred)
    with pytest.raises(KeyError, match="joint concat"):
        method.pick({"image": p_img, "text": p_txt})


def test_a_damaged_fusion_file_names_itself(tmp_path):
    bad = tmp_path / "fusion_params.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="fusion_params.npz.*05_ensembling"):
        methods.FittedFusion.load(bad)


def test_intervals_and_baseline_row_in_the_methods_table(data):
    from helpers.core.metrics import BASELINE_NAME, baseline_prediction
    from helpers.report import fusion as tables

    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    chosen = catalogue.standard_methods()[:6]
    table, fits = crossfit.compare_methods(chosen, Y, {"image": p_img, "text": p_txt}, folds)
    base = baseline_prediction(Y, len(Y))
    table = pd.concat([table, pd.DataFrame([tables.baseline_row(Y, base)])], ignore_index=True)
    preds = {name: fit.pred for name, fit in fits.items()} | {BASELINE_NAME: base}
    out = tables.with_intervals(table, Y, preds, reference=catalogue.REFERENCE_NAME, n_boot=200)
    t = out.set_index("method")
    assert t.loc[catalogue.REFERENCE_NAME, "diff"] == 0 and not t.loc[catalogue.REFERENCE_NAME, "significant"]
    assert (out["diff_low"] <= out["diff"] + 1e-12).all() and (out["diff"] <= out["diff_high"] + 1e-12).all()
    ref = t.loc[catalogue.REFERENCE_NAME, "samples_f1"]
    assert t.loc[BASELINE_NAME, "diff"] == pytest.approx(t.loc[BASELINE_NAME, "samples_f1"] - ref)
    assert t.loc[BASELINE_NAME, "significant"] and t.loc[BASELINE_NAME, "diff_high"] < 0


def test_history_names_come_from_the_producers_summary():
    assert inputs.producer_histories({"histories": ["lstm_seed3", "lstm_seed4"]}, "lstm") == ["lstm_seed3",
                                                                                              "lstm_seed4"]
    with pytest.raises(KeyError, match="rerun notebook 04_lstm_training"):
        inputs.producer_histories({"weights": []}, "lstm")


def test_an_added_source_is_aligned_by_image_id():
    ids = np.array(["a", "b", "c"])
    fused = inputs.FusionInputs(val_ids=ids, Y_val=np.zeros((3, 18)), test_ids=ids[:2])
    probs = np.arange(3 * 18, dtype=np.float32).reshape(3, 18)
    fused.add_source("joint concat", ids[::-1], probs, ids[:2], probs[:2])
    assert np.array_equal(fused.val["joint concat"], probs[::-1])
    with pytest.raises(ValueError, match="joint gated test probabilities"):
        fused.add_source("joint gated", ids, probs, ["a", "x"], probs[:2])
